"""mirctl render vs the fluidsynth command-line program, measured in one run.

    python benchmarks/render.py [--runs 5] [--batch 20] [--jobs 2]

Needs ../shared (POP909) and the `fluidsynth` program (Debian: `apt-get install
--no-install-recommends fluidsynth`). Prints JSON lines:

- ``song``: realtime factor of one ~3-minute POP909 song, per synth and per installed
  SoundFont (the render with its levels, font already loaded; the load is reported
  apart), the whole ``mirctl render FILE`` command, and the fluidsynth CLI on the same
  file and font (its wall time includes loading the font);
- ``batch``: wall time of a 20-file batch, ``mirctl render -j 2`` (one font load per
  worker) vs the CLI run two processes at a time (one font load per file);
- ``rss``: peak resident memory of ``mirctl render`` with each font;
- ``floor``: FluidSynth's own work on the song, per font: its voices (a render with
  reverb and chorus off) and its effects (the same length of no notes, effects on, less
  effects off), each on one core. However the notes are shared between two synths on two
  cores, each synth runs its own reverb and chorus, so no render of the song at these
  settings takes less than voices/2 + effects: ``ceiling_realtime_x``. A batch is CPU-bound
  on both sides, so no batch can beat the CLI's by more than the CLI's time per file over
  voices + effects + the report's loudness pass: ``ceiling_batch_vs_cli``.

Every figure is the median of ``--runs`` runs, with the CPU model and the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, cpu_model, emit, machine, mirctl_cmd, run_measured

POP909 = REPO.parent / "shared" / "data" / "pop909" / "POP909"
GOALS = {"realtime_x": 100.0, "batch_vs_cli": 1.2, "rss_mb_fluidr3": 400}


def conditions() -> dict:
    return {"cpu": cpu_model(), "loadavg": [round(x, 2) for x in os.getloadavg()], **machine()}


def three_minute_song() -> Path:
    sys.path.insert(0, str(REPO / "src"))
    from mirctl.io.midi_events import read_midi_events

    for folder in sorted(POP909.iterdir()):
        path = folder / f"{folder.name}.mid"
        if path.exists() and 170 <= read_midi_events(path).last_note_off_s <= 200:
            return path
    raise SystemExit("no ~3-minute song found in ../shared POP909")


def in_process(song: Path, synth: str, font, runs: int) -> dict:
    from mirctl.backends.synth_common import SynthOptions
    from mirctl.io.midi_events import read_midi_events
    from mirctl.tasks import render as rd

    t0 = time.perf_counter()
    effects = synth == "fluidsynth"
    options = SynthOptions(reverb=effects, chorus=effects)
    renderer = rd.open_renderer(synth, str(font.path), options, font)
    load = time.perf_counter() - t0
    midi = read_midi_events(song)
    params = rd.Params(synth=synth)
    times, duration = [], 0.0
    for _ in range(runs):
        t = time.perf_counter()
        result = rd.render(rd.MidiEventsSource(song, midi, {}), renderer, params)
        times.append(time.perf_counter() - t)
        duration = result.data["duration_s"]
    med = statistics.median(times)
    return {"seconds": round(med, 3), "load_s": round(load, 3), "audio_s": duration,
            "realtime_x": round(duration / med, 1)}


def floor(song: Path, font, runs: int, cli_s: float | None) -> dict:
    """FluidSynth's voices and effects on ``song``, each timed alone on one core."""
    from mirctl.backends.synth_common import SynthOptions
    from mirctl.io.midi_events import read_midi_events
    from mirctl.loudness import integrated_loudness
    from mirctl.tasks import render as rd

    midi = read_midi_events(song)
    sr = 44100
    frames = int(round((midi.last_note_off_s + 1.0) * sr))

    def timed(renderer, events) -> tuple[float, object]:
        times, wav = [], None
        for _ in range(runs):
            start = time.perf_counter()
            wav = renderer.render(events, frames, extend=False)
            times.append(time.perf_counter() - start)
        return statistics.median(times), wav

    dry = rd.open_renderer("fluidsynth", str(font.path), SynthOptions(reverb=False, chorus=False), font)
    wet = rd.open_renderer("fluidsynth", str(font.path), SynthOptions(), font)
    voices, wav = timed(dry, midi.events)
    effects = timed(wet, [])[0] - timed(dry, [])[0]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        integrated_loudness(wav, sr)
        times.append(time.perf_counter() - start)
    loud = statistics.median(times)
    dry.close()
    wet.close()
    seconds = frames / sr
    row = {"case": "floor", "font": font.name, "audio_s": round(seconds, 2), "voices_s": round(voices, 3),
           "effects_s": round(effects, 3), "loudness_s": round(loud, 3),
           "ceiling_realtime_x": round(seconds / (voices / 2 + effects), 1)}
    if cli_s:
        row["cli_s"] = cli_s
        row["ceiling_batch_vs_cli"] = round(cli_s / (voices + effects + loud), 2)
    row["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    return row


def cli_song(song: Path, font: Path, runs: int, out: Path) -> dict:
    cmd = ["fluidsynth", "-ni", "-q", "-F", str(out), "-r", "44100", str(font), str(song)]
    walls = [run_measured(cmd)[0] for _ in range(runs)]
    import soundfile as sf

    duration = sf.info(str(out)).duration
    med = statistics.median(walls)
    return {"seconds": round(med, 3), "audio_s": round(duration, 2), "realtime_x": round(duration / med, 1)}


def cli_batch(files: list[Path], font: Path, jobs: int, tmp: Path) -> float:
    """The CLI over ``files``, ``jobs`` processes at a time (each loads the font)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(path: Path) -> None:
        subprocess.run(["fluidsynth", "-ni", "-q", "-F", str(tmp / f"cli_{path.stem}.wav"), "-r", "44100",
                        str(font), str(path)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, files))
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--batch-fonts", default="", help="comma-separated fonts for the batch case [default: all]")
    ap.add_argument("--cases", default="song,batch,rss,floor", help="which measurements to run")
    args = ap.parse_args()
    if not POP909.is_dir():
        raise SystemExit(f"needs ../shared: {POP909} is missing")
    sys.path.insert(0, str(REPO / "src"))
    from mirctl.backends import fluidsynth_backend, tinysoundfont_backend
    from mirctl.models import soundfonts

    fonts = soundfonts.installed()
    song = three_minute_song()
    have_cli = shutil.which("fluidsynth") is not None
    emit({"benchmark": "render", "conditions": conditions(), "song": str(song), "fonts": [f.name for f in fonts],
          "goals": GOALS})
    tmp = Path(tempfile.mkdtemp(prefix="mirctl-render-bench-"))
    try:
        cases = set(args.cases.split(","))
        for font in fonts if "song" in cases else []:
            row = {"case": "song", "font": font.name}
            for synth, module in (("fluidsynth", fluidsynth_backend), ("tinysoundfont", tinysoundfont_backend)):
                if module.available():
                    row[synth] = in_process(song, synth, font, args.runs)
            walls = [run_measured(mirctl_cmd("render", str(song), "-f", font.name, "-o", str(tmp / "one"),
                                             "--overwrite", "-q"))[0] for _ in range(args.runs)]
            row["mirctl_command_s"] = round(statistics.median(walls), 3)
            if have_cli:
                row["fluidsynth_cli"] = cli_song(song, font.path, args.runs, tmp / "cli.wav")
                row["command_vs_cli"] = round(row["fluidsynth_cli"]["seconds"] / row["mirctl_command_s"], 2)
                row["vs_cli"] = round(row["fluidsynth"]["realtime_x"] / row["fluidsynth_cli"]["realtime_x"], 2) \
                    if "fluidsynth" in row else None
            row["loadavg"] = [round(x, 2) for x in os.getloadavg()]
            emit(row)

        files = sorted(POP909.glob("*/*.mid"))[: args.batch]
        wanted = [f for f in args.batch_fonts.split(",") if f]
        for font in [f for f in fonts if (not wanted or f.name in wanted) and "batch" in cases]:
            mine, cli = [], []
            for _ in range(args.runs):
                out = tmp / "batch"
                shutil.rmtree(out, ignore_errors=True)
                mine.append(run_measured(mirctl_cmd("render", *map(str, files), "-f", font.name, "-j", str(args.jobs),
                                                    "-o", str(out), "-q"))[0])
                if have_cli:
                    cli.append(cli_batch(files, font.path, args.jobs, tmp))
            row = {"case": "batch", "font": font.name, "files": len(files), "jobs": args.jobs,
                   "mirctl_s": round(statistics.median(mine), 2), "loadavg": [round(x, 2) for x in os.getloadavg()]}
            if cli:
                row["cli_s"] = round(statistics.median(cli), 2)
                row["throughput_vs_cli"] = round(row["cli_s"] / row["mirctl_s"], 2)
            emit(row)

        for font in fonts if "rss" in cases else []:
            rss = [run_measured(mirctl_cmd("render", str(song), "-f", font.name, "-o", str(tmp / "rss"),
                                           "--overwrite", "-q"))[1] for _ in range(args.runs)]
            emit({"case": "rss", "font": font.name, "peak_rss_mb": statistics.median(rss)})

        for font in fonts if "floor" in cases and fluidsynth_backend.available() else []:
            cli_s = cli_song(song, font.path, args.runs, tmp / "cli.wav")["seconds"] if have_cli else None
            emit(floor(song, font, args.runs, cli_s))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
