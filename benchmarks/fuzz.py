"""Fuzz every command that takes files with mutated real files.

    python benchmarks/fuzz.py --n 300            # 300 mutants per command
    python benchmarks/fuzz.py --n 20 --seed 3 --commands info,transcribe

Seeds are real recordings and MIDI from ../shared/data when it is there (a vocadito
take, the demucs test clip, POP909 and Slakh MIDI), plus WAV/FLAC/MP3/MIDI made here so
the script also runs on a bare clone. Each mutant is a seed with random bit flips, a
truncation, a zeroed block or a duplicated block. Every command runs once over all its
mutants as one batch (as a user would run a folder), then anything that hung is re-run
one file at a time to name it.

Prints one JSON line per command: files, ok, failed, tracebacks, hangs, stray files
(temporary files or outputs of failed inputs left behind) and inputs without a record.
Exit status 1 when any traceback, hang, stray file or missing record was seen.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MIRCTL_SHARED", ROOT.parent / "shared")) / "data"
RUN = "import sys; sys.argv = ['mirctl'] + sys.argv[1:]; from mirctl.cli import main; main()"

# command -> (argv, which seeds it takes, whether it writes files per input)
COMMANDS = {
    "info": (["info", "--plot"], ("audio", "midi"), True),
    "separate": (["separate", "--model", "hpss"], ("audio",), True),
    "transcribe": (["transcribe", "--outputs", "midi,csv"], ("audio",), True),
    "render": (["render", "-f", "timgm6mb", "--tail", "0.2"], ("midi",), True),
    "eval transcribe": (["eval", "transcribe", "--ref", "{ref}"], ("midi",), False),
    "eval midi": (["eval", "midi"], ("midi",), False),
    "tag": (["tag", "--plot"], ("audio",), True),
    "classify": (["classify"], ("audio",), False),
}


def synth_seeds(folder: Path) -> list[Path]:
    from mirctl.io.midi import import_pretty_midi

    pretty_midi = import_pretty_midi()  # quiet: pyfluidsynth prints when $CI is set
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    sr = 22050
    t = np.arange(int(1.5 * sr)) / sr
    wav = (0.3 * np.sin(2 * np.pi * 330 * t) * np.exp(-2 * t)).astype(np.float32)
    stereo = np.stack([wav, wav[::-1]], axis=1)
    sf.write(folder / "synth.wav", stereo, sr, subtype="PCM_16")
    sf.write(folder / "synth.flac", stereo, sr)
    sf.write(folder / "synth_float.wav", stereo, sr, subtype="FLOAT")
    try:
        sf.write(folder / "synth.mp3", stereo, sr, format="MP3")
    except Exception:  # a libsndfile without MP3 writing
        pass
    pm = pretty_midi.PrettyMIDI(initial_tempo=100)
    inst = pretty_midi.Instrument(0)
    for i in range(24):
        inst.notes.append(pretty_midi.Note(velocity=90, pitch=60 + i % 12, start=0.25 * i, end=0.25 * i + 0.3))
    inst.pitch_bends.append(pretty_midi.PitchBend(1000, 1.0))
    pm.instruments.append(inst)
    pm.write(str(folder / "synth.mid"))
    return sorted(folder.iterdir())


def real_seeds() -> list[Path]:
    candidates = [SHARED / "basic_pitch_vocadito" / "vocadito_10.wav", SHARED / "demucs_test_clip" / "test.mp3"]
    candidates += sorted((SHARED / "pop909" / "POP909").glob("00[1-3]/00[1-3].mid"))
    candidates += sorted((SHARED / "slakh_stems_midi").rglob("*.mid"))[:2]
    return [c for c in candidates if c.is_file()]


def mutate(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    buf = bytearray(data)
    kind = rng.choice(["flip", "flip_header", "truncate", "zero_block", "dup_block"])
    n = len(buf)
    if kind == "flip":
        for i in rng.integers(0, n, max(1, n // 2000)):
            buf[i] ^= 1 << int(rng.integers(0, 8))
    elif kind == "flip_header":
        for i in rng.integers(0, min(n, 64), 3):
            buf[i] ^= 1 << int(rng.integers(0, 8))
    elif kind == "truncate":
        buf = buf[: int(rng.integers(0, n))]
    elif kind == "zero_block":
        a, k = int(rng.integers(0, n)), int(rng.integers(1, 4096))
        buf[a:a + k] = bytes(len(buf[a:a + k]))
    else:
        a = int(rng.integers(0, n))
        buf = buf[:a] + buf[a:a + 2048] + buf[a:]
    return bytes(buf), str(kind)


def make_mutants(seeds: list[Path], n: int, folder: Path, rng: np.random.Generator) -> dict[str, list[Path]]:
    folder.mkdir(parents=True, exist_ok=True)
    by_kind: dict[str, list[Path]] = {"audio": [], "midi": []}
    for i in range(n):
        seed = seeds[i % len(seeds)]
        data, how = mutate(seed.read_bytes(), rng)
        path = folder / f"m{i:04d}_{how}_{seed.stem}{seed.suffix}"
        path.write_bytes(data)
        by_kind["midi" if seed.suffix.lower() in (".mid", ".midi") else "audio"].append(path)
    return by_kind


def run_batch(argv: list[str], files: list[Path], out: Path | None, timeout: float, cwd: Path) -> dict:
    where = ["-o", str(out)] if out is not None else []
    try:
        res = subprocess.run([sys.executable, "-c", RUN, *argv, *map(str, files), *where, "--json"],
                             capture_output=True, text=True, timeout=timeout, cwd=cwd,
                             env={**os.environ, "MIRCTL_OFFLINE": "1"})
    except subprocess.TimeoutExpired:
        return {"hang": True}
    records = [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]
    return {"hang": False, "code": res.returncode, "records": records,
            "traceback": "Traceback" in res.stderr + res.stdout, "stderr": res.stderr[-2000:]}


def fuzz_command(name: str, files: list[Path], ref: Path, work: Path, timeout: float) -> dict:
    argv, _, writes = COMMANDS[name]
    argv = [a.replace("{ref}", str(ref)) for a in argv]
    out = work / "out" / name.replace(" ", "_") if writes else None
    result = run_batch(argv, files, out, timeout, work)
    hangs: list[str] = []
    if result["hang"]:  # find which ones: one at a time
        records, tracebacks = [], False
        for f in files:
            one = run_batch(argv, [f], out, timeout / 4, work)
            if one["hang"]:
                hangs.append(f.name)
                continue
            records += one["records"]
            tracebacks = tracebacks or one["traceback"]
        result = {"records": records, "traceback": tracebacks, "code": None}
    records = result["records"]
    seen = {Path(r["input"]).name for r in records}
    stray = []
    if out is not None and out.exists():
        promised = {Path(o) for r in records if r["status"] in ("ok", "skipped") for o in r["outputs"]}
        stray = [str(p) for p in out.rglob("*") if p.is_file() and (p not in promised or ".mirctl-tmp-" in p.name)]
    stray += [str(p) for p in files[0].parent.iterdir() if ".mirctl-tmp-" in p.name]
    return {"command": name, "files": len(files), "ok": sum(r["status"] == "ok" for r in records),
            "failed": sum(r["status"] == "failed" for r in records), "tracebacks": int(bool(result["traceback"])),
            "hangs": len(hangs), "hung": hangs, "stray_files": len(stray), "stray": stray[:5],
            "missing_records": len({f.name for f in files} - seen - set(hangs)), "exit_code": result.get("code")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="mutants per command")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--commands", default=",".join(COMMANDS))
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per batch before it counts as a hang")
    ap.add_argument("--no-real", action="store_true", help="only the synthesized seeds")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    work = Path(tempfile.mkdtemp(prefix="mirctl-fuzz-"))
    try:
        seeds = synth_seeds(work / "seeds") + ([] if args.no_real else real_seeds())
        ref = work / "seeds" / "synth.mid"
        bad = False
        for name in args.commands.split(","):
            _, takes, _ = COMMANDS[name]
            pool = [s for s in seeds if ("midi" if s.suffix.lower() in (".mid", ".midi") else "audio") in takes]
            mutants = make_mutants(pool, args.n, work / "mutants" / name.replace(" ", "_"), rng)
            files = [f for kind in takes for f in mutants[kind]]
            line = fuzz_command(name, files, ref, work, args.timeout)
            print(json.dumps(line), flush=True)
            bad = bad or bool(line["tracebacks"] or line["hangs"] or line["stray_files"] or line["missing_records"])
        return 1 if bad else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
