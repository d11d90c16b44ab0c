"""Summarise a mutmut 3 run: counts per package, and each surviving mutant's file, line and change.

Run from the project root after `mutmut run` (mutation/run.sh does both):

    .venv/bin/python mutation/summary.py              # counts per package
    .venv/bin/python mutation/summary.py --survivors  # and a markdown list of the survivors

Survived/timed-out mutants that mutation/recheck.py killed with the whole selection count as killed.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from collections import Counter
from pathlib import Path

from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code
from mutmut.utils.format_utils import orig_function_and_class_names_from_key

PACKAGES = ("apg/payments", "apg/idempotency", "apg/webhooks", "apg/tenants", "apg/api")
COLUMNS = ("killed", "survived", "timeout", "suspicious", "skipped", "no tests", "not checked")
HUNK = re.compile(r"^@@ -(\d+)")


def package_of(path: str) -> str:
    return next((p for p in PACKAGES if path.startswith(p + "/")), str(Path(path).parent))


def results() -> dict[str, tuple[str, str]]:
    """mutant name -> (source path, status), from the .meta files mutmut writes under mutants/."""
    found = {}
    for meta in sorted(Path("mutants").rglob("*.py.meta")):
        source = str(meta.relative_to("mutants"))[: -len(".meta")]
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            found[name] = (source, status_by_exit_code[code])
    return found


def def_line(source: str, name: str) -> int:
    """Line of `def` of the function (or Class.method) the mutant belongs to."""
    function, cls = orig_function_and_class_names_from_key(name)
    tree = ast.parse(Path(source).read_text())
    body = tree.body
    if cls:
        body = next(n.body for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
    return next(
        n.lineno
        for n in body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == function
    )


def change(source: str, name: str) -> tuple[int, str, str]:
    """(line in the source file, original line(s), mutated line(s)) of one mutant."""
    diff = get_diff_for_mutant(name, path=source).splitlines()
    offset, old, new = 0, [], []
    for line in diff[2:]:
        if m := HUNK.match(line):
            offset = int(m.group(1))
        elif line.startswith("-"):
            old.append(line[1:].strip())
        elif line.startswith("+"):
            new.append(line[1:].strip())
        elif not old and not new:
            offset += 1
    start = def_line(source, name)
    lines = Path(source).read_text().splitlines()
    guess = start + offset - 1
    # The diff is of the function as libcst prints it; confirm against the file, else search it.
    if old and not (0 < guess <= len(lines) and lines[guess - 1].strip() == old[0]):
        guess = next(
            (i for i in range(start, len(lines) + 1) if lines[i - 1].strip() == old[0]), guess
        )
    return guess, " / ".join(old), " / ".join(new)


def final(found: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str, bool]]:
    """Apply mutants/recheck.json (mutation/recheck.py): name -> (path, status, rechecked)."""
    recheck = Path("mutants/recheck.json")
    verdicts = json.loads(recheck.read_text()) if recheck.exists() else {}
    out = {}
    for name, (source, status) in found.items():
        if status in ("survived", "timeout") and name in verdicts:
            out[name] = (source, verdicts[name]["verdict"], True)
        else:
            out[name] = (source, status, False)
    return out


def main() -> None:
    found = final(results())
    counts: dict[str, Counter[str]] = {}
    for source, status, rechecked in found.values():
        c = counts.setdefault(package_of(source), Counter())
        c[status] += 1
        c["recheck-killed"] += rechecked and status == "killed"
    print("| package | " + " | ".join(COLUMNS) + " | total | killed only on recheck |")
    print("|---" * (len(COLUMNS) + 3) + "|")
    for package, c in sorted(
        counts.items(), key=lambda kv: PACKAGES.index(kv[0]) if kv[0] in PACKAGES else 99
    ):
        cells = [str(c[s]) for s in COLUMNS] + [str(c.total() - c["recheck-killed"])]
        print(f"| {package} | " + " | ".join(cells) + f" | {c['recheck-killed']} |")
    if "--survivors" not in sys.argv:
        return
    for wanted in ("survived", "timeout", "suspicious"):
        names = [n for n, (_, s, _) in found.items() if s == wanted]
        if not names:
            continue
        print(f"\n## {wanted} ({len(names)})\n")
        rows = sorted((found[n][0], *change(found[n][0], n), n) for n in names)
        for source, line, old, new, name in rows:
            print(f"- `{name}` {source}:{line}\n  - `{old}`\n  + `{new}`")


if __name__ == "__main__":
    main()
