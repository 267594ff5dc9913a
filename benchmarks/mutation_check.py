"""Check one module's mutants against that module's own tests, fast.

`mutmut run` picks, for every mutant, each test that reaches the mutated function; for
the runner and I/O code that is most of the command-level suite, so one mutant takes
tens of seconds on two cores and a module takes hours. This script runs the mutants
that `mutmut run` generated (the ``mutants/`` folder, made by any `mutmut run`, even an
interrupted one) against the test files you name, two at a time, stopping each test
run at its first failure. A mutant those tests kill is killed by the suite too; one
they leave is worth a look (`mutmut show NAME`), a test, or a line in the README's list
of equivalent mutants.

    python benchmarks/mutation_check.py src/mirctl/pipeline/plan.py tests/pipeline/test_plan.py
    python benchmarks/mutation_check.py src/mirctl/io/audio.py tests/io --only names.txt

Mutants already recorded as killed by `mutmut run` are not run again; ``--only FILE``
restricts the run to the mutant names listed in FILE. It prints one line per mutant and
the survivors at the end; the exit status is 1 when any survived.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KILLED = 1  # mutmut's exit_code_by_key: 1 killed, 0 survived, 33 no tests, None not run yet


def pending(module: str, only: set[str] | None) -> list[str]:
    meta = ROOT / "mutants" / f"{module}.meta"
    if not meta.exists():
        sys.exit(f"error: {meta} is missing; run `mutmut run` once (it may be stopped once mutants/ is made)")
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return [name for name, code in sorted(codes.items()) if code != KILLED and (only is None or name in only)]


def copy_tests(tests: list[str]) -> None:
    """The mutants/ folder holds a copy of tests/ from when it was made: refresh the ones named."""
    for test in tests:
        src = ROOT / test.split("::")[0]
        files = [src] if src.is_file() else list(src.rglob("*.py")) if src.is_dir() else []
        for f in files:
            dest = ROOT / "mutants" / f.relative_to(ROOT)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(f, dest)


def check(name: str, tests: list[str], timeout: float, select: str | None = None) -> str:
    env = dict(os.environ, MUTANT_UNDER_TEST=name, PYTHONPATH=str(ROOT / "mutants" / "src"))
    env.setdefault("MIRCTL_SHARED", str(ROOT.parent / "shared"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # the mutated modules are large: compile them once, not every run
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not slow",
                               *(["-k", select] if select else []), *tests], cwd=ROOT / "mutants", env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout"  # counted as killed by mutmut too
    return "killed" if done.returncode != 0 else "survived"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("module", help="the source file, e.g. src/mirctl/pipeline/plan.py")
    ap.add_argument("tests", nargs="+", help="test files or folders to run against each mutant")
    ap.add_argument("--only", type=Path, help="a file of mutant names (one per line) to check")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("-k", dest="select", help="pytest -k expression: leave out slow tests these mutants cannot reach")
    ap.add_argument("--functions", help="only mutants of functions whose names contain one of these (comma-separated)")
    ap.add_argument("--timeout", type=float, default=300,
                    help="seconds before a test run counts as hung (a mutant that loops forever is killed)")
    args = ap.parse_args()
    only = set(args.only.read_text().split()) if args.only else None
    names = pending(args.module, only)
    if args.functions:
        names = [n for n in names if any(f in n.split("__mutmut_")[0].rsplit(".", 1)[-1] for f in args.functions.split(","))]
    copy_tests(args.tests)
    survivors = []
    with ThreadPoolExecutor(args.jobs) as pool:
        for name, status in zip(names, pool.map(lambda n: check(n, args.tests, args.timeout, args.select), names)):
            print(status, name, flush=True)
            if status == "survived":
                survivors.append(name)
    print(f"{len(names)} checked, {len(names) - len(survivors)} killed, {len(survivors)} survived")
    for name in survivors:
        print(" ", name)
    return 1 if survivors else 0


if __name__ == "__main__":
    raise SystemExit(main())
