"""Re-run each surviving (or timed-out) mutant against the whole test selection, in a fresh pytest.

mutmut 3 runs a mutant only against the tests it saw calling that function while it collected
stats, in workers forked from a process that already imported apg. Code run at import time
(module-level `Blueprint(...)`) never sees its mutant there, and code run while a session-scoped
fixture is set up (create_app wiring, e.g. Payments.__init__) is credited to the first test that
needed the fixture; both "survive". This script gives survivors the whole selection,
in a new process (MUTANT_UNDER_TEST=<name> pytest -x, run in mutants/), and writes
mutants/recheck.json: name -> {"verdict": killed|survived|timeout, "by": first failing test}.
A true survivor costs a whole run of the selection (~25 s); --max-tests N limits the recheck to
mutants of functions mutmut tied to at most N tests, which is where the misattribution happens.

    .venv/bin/python mutation/recheck.py [--jobs 2] [--timeout 240] [--max-tests 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from summary import results

# The same tests mutmut runs: [tool.mutmut] pytest_add_cli_args_test_selection.
SELECTION = tomllib.loads(Path("pyproject.toml").read_text())["tool"]["mutmut"][
    "pytest_add_cli_args_test_selection"
]
FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)
RECHECK = Path("mutants/recheck.json")
STATS = Path("mutants/mutmut-stats.json")


def recheck(name: str, timeout: float) -> dict[str, str | None]:
    env = {**os.environ, "MUTANT_UNDER_TEST": name}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly", "--tb=no"]
    try:
        done = subprocess.run(
            command + SELECTION,
            cwd="mutants",
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"verdict": "timeout", "by": None}
    if done.returncode == 0:
        return {"verdict": "survived", "by": None}
    failed = FAILED.search(done.stdout)
    return {"verdict": "killed", "by": failed.group(1) if failed else f"exit {done.returncode}"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=240)
    parser.add_argument(
        "--max-tests",
        type=int,
        default=None,
        help="only survivors of functions mutmut tied to <= this many tests (setup-time code)",
    )
    args = parser.parse_args()
    done = json.loads(RECHECK.read_text()) if RECHECK.exists() else {}
    tied = json.loads(STATS.read_text())["tests_by_mangled_function_name"]
    todo = [
        name
        for name, (_, status) in results().items()
        if status in ("survived", "timeout")
        and name not in done
        and (
            args.max_tests is None
            or len(tied.get(name.partition("__mutmut_")[0], ())) <= args.max_tests
        )
    ]
    print(f"rechecking {len(todo)} mutants against {' '.join(SELECTION)}", flush=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        for name, verdict in zip(
            todo, pool.map(lambda n: recheck(n, args.timeout), todo), strict=True
        ):
            done[name] = verdict
            RECHECK.write_text(json.dumps(done, indent=1, sort_keys=True))
            print(f"{verdict['verdict']:9} {name} {verdict['by'] or ''}", flush=True)


if __name__ == "__main__":
    main()
