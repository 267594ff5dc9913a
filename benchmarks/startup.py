"""`mirctl --help` start-up time against the floor of `python -c "import typer, rich"`.

    python benchmarks/startup.py [--runs 10]

Prints one JSON line: median seconds of each and their ratio.
"""

from __future__ import annotations

import argparse
import sys

from _common import compile_sources, emit, machine, median_of, mirctl_cmd


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    compile_sources()
    floor = median_of(args.runs, [sys.executable, "-c", "import typer, rich"])
    results = {"benchmark": "startup", "floor_import_typer_rich_s": round(floor, 3)}
    for argv in (["--help"], ["separate", "--help"], ["transcribe", "--help"]):
        t = median_of(args.runs, mirctl_cmd(*argv))
        results["mirctl " + " ".join(argv) + " s"] = round(t, 3)
        results["ratio " + " ".join(argv)] = round(t / floor, 2)
    emit({**results, "machine": machine()})


if __name__ == "__main__":
    main()
