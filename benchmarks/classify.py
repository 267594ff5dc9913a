"""mirctl train classify / classify: training throughput, prediction speed, peak memory,
and the musicnn head on the real Medley-solos clips.

    python benchmarks/classify.py [--runs 5] [--files 20]

Prints JSON lines:

- ``train``: segments (3 s training windows) per second of ``mirctl train classify`` on
  the synthetic 4-class set (short-chunk CNN, default width 32, batch 16; and the musicnn
  head): the difference between a 60-step and a 10-step run, so start-up, feature
  extraction and validation cancel out (median of ``--runs`` pairs), with the peak RSS;
- ``predict``: ``mirctl classify DIR`` over ``--files`` 30 s clips (real music from
  ../shared, looped) with ``--jobs 1`` and ``--jobs 2``, for the pretrained ``genre``
  model and the trained checkpoint: files per second (median of ``--runs``) and peak RSS;
- ``medley``: the musicnn head on ../shared's Medley-solos-DB clips (one clip per
  instrument, flute two: too few for leave-one-out, where the left-out class would have
  no training clip), cut in halves: trained on the first 1.49 s of every clip, validated
  on the second — how far one clip's timbre carries to the rest of it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import REPO, compile_sources, emit, mirctl_cmd, run_measured
from render import conditions
from tag import make_clips

SHARED = REPO.parent / "shared" / "data"


def train_rate(data: Path, out: Path, runs: int, extra: list[str]) -> dict:
    rates, rss = [], 0
    for _ in range(runs):
        walls = []
        for steps in (10, 60):
            cmd = mirctl_cmd("train", "classify", "--data", str(data), "--out", str(out), "--overwrite",
                             "--max-steps", str(steps), "--valid-every", "1000", "--batch-size", "16", "-q", *extra)
            wall, peak = run_measured(cmd)
            walls.append(wall)
            rss = max(rss, peak)
        rates.append(50 * 16 / (walls[1] - walls[0]))
    return {"segments_per_s": round(statistics.median(rates), 1), "peak_rss_mb": rss}


def predict_rate(clips: Path, model: str, runs: int, files: int) -> dict:
    record: dict = {}
    for jobs in (1, 2):
        results = [run_measured(mirctl_cmd("classify", str(clips), "--model", model, "-j", str(jobs), "-q"))
                   for _ in range(runs)]
        wall = statistics.median(r[0] for r in results)
        record[f"jobs{jobs}_files_per_s"] = round(files / wall, 2)
        record[f"jobs{jobs}_peak_rss_mb"] = max(r[1] for r in results)
    return record


def medley(tmp: Path) -> dict:
    import soundfile as sf

    folder = SHARED / "medley_solos_db"
    if not folder.exists():
        return {"case": "medley", "skipped": "../shared/data/medley_solos_db is absent"}
    rows = ["path,label,split"]
    (tmp / "medley").mkdir()
    for line in (folder / "labels.csv").read_text().splitlines()[1:]:
        path, _, instrument = line.split(",")[:3]
        wav, sr = sf.read(str(folder / path), dtype="float32")
        half = wav.shape[0] // 2
        stem = Path(path).stem
        for part, piece in (("train", wav[:half]), ("valid", wav[half:])):
            sf.write(str(tmp / "medley" / f"{stem}_{part}.wav"), piece, sr, subtype="FLOAT")
            rows.append(f"{stem}_{part}.wav,{instrument},{part}")
    (tmp / "medley" / "labels.csv").write_text("\n".join(rows) + "\n")
    out = tmp / "medley_ck"
    subprocess.run(mirctl_cmd("train", "classify", "--data", str(tmp / "medley"), "--features", "musicnn", "--out",
                              str(out), "--max-steps", "200", "--valid-every", "50", "--batch-size", "8", "-q"),
                   check=True, capture_output=True)
    card = json.loads((out / "card.json").read_text())
    return {"case": "medley", "clips": len(rows) - 1, "classes": len(card["labels"]), **card["metrics"],
            "confusion": card["confusion"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--files", type=int, default=20)
    args = ap.parse_args()
    compile_sources()
    sys.path.insert(0, str(REPO / "src"))
    from mirctl.testing import write_class_folders

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = write_class_folders(tmp / "classes", n_per_class=16, seed=0)
        for name, extra in (("short-chunk CNN (width 32)", []), ("musicnn head (mlp)", ["--features", "musicnn"])):
            emit({"case": "train", "model": name, "runs": args.runs, **train_rate(data, tmp / "ck", args.runs, extra),
                  **conditions()})
        subprocess.run(mirctl_cmd("train", "classify", "--data", str(data), "--out", str(tmp / "trained"),
                                  "--max-steps", "60", "-q"), check=True, capture_output=True)
        clips = tmp / "clips"
        source = make_clips(clips, args.files)
        for model in ("genre", str(tmp / "trained")):
            emit({"case": "predict", "model": "genre" if model == "genre" else "trained short-chunk CNN",
                  "files": args.files, "seconds_each": 30, "source": source, "runs": args.runs,
                  **predict_rate(clips, model, args.runs, args.files), **conditions()})
        emit(medley(tmp))


if __name__ == "__main__":
    main()
