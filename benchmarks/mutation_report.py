"""Kill rate per module from the last `mutmut run` (what `make mutation` prints).

    python benchmarks/mutation_report.py            # a table
    python benchmarks/mutation_report.py --json     # one JSON line per module

A mutant counts as killed when a test failed (or timed out) with it in place; "no tests"
means no selected test ran the mutated function at all (e.g. code that only runs in a
--jobs worker process), which counts against the module like a survivor.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_of(mutant: str, modules: list[str]) -> str:
    return max((m for m in modules if mutant.startswith(m + ".")), key=len, default=mutant.rsplit(".", 1)[0])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out = subprocess.run([str(Path(sys.executable).parent / "mutmut"), "results", "--all", "true"], cwd=ROOT,
                         capture_output=True, text=True).stdout
    modules = [".".join(p.relative_to(ROOT / "src").with_suffix("").parts)
               for p in (ROOT / "src").rglob("*.py")]
    counts: dict[str, Counter] = defaultdict(Counter)
    for line in out.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name:
            counts[module_of(name, modules)][status] += 1
    rows = []
    for module in sorted(counts):
        c = counts[module]
        checked = c["killed"] + c["timeout"] + c["survived"] + c["no tests"] + c["suspicious"]
        rate = (c["killed"] + c["timeout"]) / checked if checked else None
        rows.append({"module": module, "killed": c["killed"] + c["timeout"], "survived": c["survived"],
                     "no_tests": c["no tests"], "not_checked": c["not checked"],
                     "kill_rate": None if rate is None else round(rate, 3)})
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    print(f"{'module':42} {'killed':>7} {'survived':>9} {'no tests':>9} {'unchecked':>10} {'kill rate':>10}")
    for r in rows:
        rate = "-" if r["kill_rate"] is None else f"{100 * r['kill_rate']:.0f} %"
        print(f"{r['module']:42} {r['killed']:>7} {r['survived']:>9} {r['no_tests']:>9} {r['not_checked']:>10} {rate:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
