#!/usr/bin/env bash
# Mutation testing with mutmut 3 (configured in pyproject.toml [tool.mutmut]); not part of `make test` or CI.
#
#   mutation/run.sh                    # every mutant not yet tested (mutmut resumes where it stopped)
#   mutation/run.sh 'apg.payments.*'   # one package (re-runs those mutants even if already tested)
#
# Then re-runs survivors of functions mutmut tied to <= RECHECK_MAX_TESTS (default 5) tests against
# the whole test selection (mutation/recheck.py: setup-time code is misattributed) and writes the
# counts per package and the survivors to mutants/summary.md. MUTATION_JOBS (default 2) sets
# the parallelism. mutants/ is the tool's cache and output: delete it to start over.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
JOBS=${MUTATION_JOBS:-2}

rm -f mutants/recheck.json
"$VENV/bin/mutmut" run --max-children "$JOBS" "$@"
"$VENV/bin/python" mutation/recheck.py --jobs "$JOBS" --max-tests "${RECHECK_MAX_TESTS:-5}"
"$VENV/bin/python" mutation/summary.py --survivors | tee mutants/summary.md
