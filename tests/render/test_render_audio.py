"""mirctl render on real synths (FluidSynth, TinySoundFont) with TimGM6mb, the font that is
present everywhere: what comes out is measured (onsets, pitches, levels, lengths)."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pretty_midi
import pytest
import soundfile as sf
from typer.testing import CliRunner

from conftest import need_synth
from mirctl.cli.app import app
from mirctl.loudness import integrated_loudness

runner = CliRunner()
SYNTHS = ("fluidsynth", "tinysoundfont")
SR = 44100
BLOCK_S = 8192 / SR  # a render may run on by whole 8192-frame blocks while a release still sounds


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def records(res):
    return [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]


def write_midi(path, instruments, tempo=120.0):
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    for inst in instruments:
        pm.instruments.append(inst)
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))
    return path


def instrument(notes, program=0, drum=False, name="", ccs=(), bends=()):
    inst = pretty_midi.Instrument(program=program, is_drum=drum, name=name)
    inst.notes = [pretty_midi.Note(velocity=v, pitch=p, start=s, end=e) for s, e, p, v in notes]
    inst.control_changes = [pretty_midi.ControlChange(n, v, t) for t, n, v in ccs]
    inst.pitch_bends = [pretty_midi.PitchBend(v, t) for t, v in bends]
    return inst


KNOWN = [(0.5, 0.9, 60, 100), (1.25, 1.65, 64, 100), (2.0, 2.4, 67, 100), (2.75, 3.2, 72, 100), (3.5, 4.0, 55, 100)]


def render(path, out, *extra, synth="fluidsynth"):
    need_synth(synth)
    res = cli("render", path, "-o", out, "-f", "timgm6mb", "--synth", synth, "--json", *extra)
    return res, records(res)


def read(path):
    wav, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return wav.T, sr


@pytest.mark.parametrize("synth", SYNTHS)
def test_known_notes_come_out_at_their_onsets_and_length(tmp_path, synth):
    import librosa

    path = write_midi(tmp_path / "known.mid", [instrument(KNOWN)])
    res, (rec,) = render(path, tmp_path / "out", synth=synth)
    assert res.exit_code == 0, res.output
    wav, sr = read(tmp_path / "out" / "known.wav")
    assert sr == SR and wav.shape[0] == 2
    mono = wav.mean(axis=0)
    onsets = librosa.onset.onset_detect(y=mono, sr=sr, units="time", hop_length=256, backtrack=False)
    starts = [n[0] for n in KNOWN]
    assert len(onsets) == len(starts), onsets
    assert np.abs(np.array(onsets) - starts).max() < 0.03
    # duration: last note-off + the 1 s tail, plus at most one block of release
    expected = KNOWN[-1][1] + 1.0
    assert expected - 1 / SR <= wav.shape[1] / sr <= expected + BLOCK_S + 64 / SR
    assert rec["result"]["duration_s"] == pytest.approx(wav.shape[1] / sr, abs=1e-4)
    assert rec["result"]["notes"] == 5 and rec["result"]["empty"] is False
    assert rec["model"]["name"] == "timgm6mb" and rec["model"]["synth"] == synth


@pytest.mark.slow
def test_known_notes_have_their_pitches_by_mirctl_s_own_transcription(tmp_path):
    from mirctl.models import RunContext, get_card, load
    from mirctl.tasks import transcription as tr
    from mirctl.types import AudioSource

    path = write_midi(tmp_path / "known.mid", [instrument(KNOWN)])
    res, _ = render(path, tmp_path / "out")
    assert res.exit_code == 0, res.output
    wav, sr = read(tmp_path / "out" / "known.wav")
    model = load(get_card("basic-pitch"), RunContext())
    result = tr.transcribe(AudioSource("known.wav", wav, sr), model, tr.Params())
    # each written note is found at its onset, and is the strongest note starting there;
    # a piano's upper partials may add quieter notes an octave above (amplitude ~0.45
    # here, against ~0.8 for the written notes), so the strong notes are exactly the written ones
    found = sorted(result.estimate, key=lambda n: n.start_s)
    for start, _, pitch, _ in KNOWN:
        near = [n for n in found if abs(n.start_s - start) < 0.06]
        assert near and max(near, key=lambda n: n.amplitude).pitch == pitch, (start, found)
    strong = [n for n in found if n.amplitude >= 0.6]
    assert [n.pitch for n in strong] == [k[2] for k in KNOWN], found
    assert [n.start_s for n in strong] == pytest.approx([k[0] for k in KNOWN], abs=0.03), found


def test_levels_in_the_report_are_the_file_s(tmp_path):
    path = write_midi(tmp_path / "known.mid", [instrument(KNOWN)])
    res, (rec,) = render(path, tmp_path / "out", "--bits", "32f")
    wav, sr = read(tmp_path / "out" / "known.wav")
    r = rec["result"]
    assert r["peak_dbfs"] == pytest.approx(20 * math.log10(np.abs(wav).max()), abs=0.01)
    assert r["loudness_lufs"] == pytest.approx(integrated_loudness(wav, sr), abs=0.01)
    assert r["sample_rate"] == 44100 and r["gain_db"] == 0.0 and r["synth"]["reverb"] is True


@pytest.mark.parametrize("mode, target", [("lufs", -20.0), ("peak", -1.0), ("peak", -6.0)])
def test_normalize_reaches_its_target(tmp_path, mode, target):
    path = write_midi(tmp_path / "known.mid", [instrument(KNOWN)])
    res, (rec,) = render(path, tmp_path / "out", "--normalize", mode, "--target", target, "--bits", "32f")
    assert res.exit_code == 0, res.output
    wav, sr = read(tmp_path / "out" / "known.wav")
    measured = integrated_loudness(wav, sr) if mode == "lufs" else 20 * math.log10(np.abs(wav).max())
    assert measured == pytest.approx(target, abs=0.02)
    assert rec["result"]["loudness_lufs" if mode == "lufs" else "peak_dbfs"] == pytest.approx(target, abs=0.02)


def test_gain_scales_the_render_and_sample_rate_is_the_files(tmp_path):
    path = write_midi(tmp_path / "known.mid", [instrument(KNOWN)])
    _, (plain,) = render(path, tmp_path / "a", "--bits", "32f", "--sample-rate", 22050)
    _, (louder,) = render(path, tmp_path / "b", "--bits", "32f", "--sample-rate", 22050, "--gain", 6)
    a, sr_a = read(tmp_path / "a" / "known.wav")
    b, _ = read(tmp_path / "b" / "known.wav")
    assert sr_a == 22050 and a.shape == b.shape
    np.testing.assert_allclose(b, a * 10 ** (6 / 20), rtol=1e-5, atol=1e-7)
    assert louder["result"]["gain_db"] == 6.0
    assert louder["result"]["peak_dbfs"] - plain["result"]["peak_dbfs"] == pytest.approx(6.0, abs=0.01)


def _song(tmp_path):
    piano = instrument([(0.0, 1.0, 60, 90), (1.0, 2.0, 64, 90), (2.0, 3.0, 67, 90)], program=0, name="piano",
                       ccs=[(0.0, 64, 127), (2.5, 64, 0)])
    bass = instrument([(0.0, 1.5, 36, 100), (1.5, 3.0, 43, 100)], program=33, name="bass",
                      ccs=[(0.0, 7, 80), (1.5, 7, 110)])
    drums = instrument([(k * 0.5, k * 0.5 + 0.1, 36 if k % 2 == 0 else 38, 100) for k in range(6)], drum=True,
                       name="kit")
    return write_midi(tmp_path / "song.mid", [piano, bass, drums])


@pytest.mark.parametrize("synth", SYNTHS)
def test_stems_are_named_aligned_and_sum_to_the_full_render(tmp_path, synth):
    path = _song(tmp_path)
    res, (rec,) = render(path, tmp_path / "out", "--stems", "--bits", "32f", synth=synth)
    assert res.exit_code == 0, res.output
    folder = tmp_path / "out" / "song"
    assert sorted(p.name for p in folder.iterdir()) == ["bass.wav", "drums.wav", "piano.wav"]
    stems = {p.stem: read(p)[0] for p in folder.iterdir()}
    assert len({w.shape for w in stems.values()}) == 1
    _, (full_rec,) = render(path, tmp_path / "full", "--bits", "32f", synth=synth)
    full, _ = read(tmp_path / "full" / "song.wav")
    total = sum(stems.values())
    n = min(total.shape[1], full.shape[1])
    assert abs(total.shape[1] - full.shape[1]) <= 8192
    err = total[:, :n] - full[:, :n]
    snr = 10 * np.log10(np.sum(full ** 2) / np.sum(err ** 2))
    # TinySoundFont: 70 dB here. FluidSynth: exact (147 dB) for notes that do not meet, but a
    # voice it reuses right after a drum hit starts from other internal state than in the
    # stem's own render: 37.6 dB on this song (README: Rendering, stems and their sum)
    assert snr > (35 if synth == "fluidsynth" else 60), snr
    info = rec["result"]["stems"]
    assert {k: (v["program"], v["channel"], v["drums"], v["notes"]) for k, v in info.items()} == {
        "piano": (0, 1, False, 3), "bass": (33, 2, False, 2), "drums": (0, 10, True, 6)}
    for name, wav in stems.items():
        assert info[name]["loudness_lufs"] == pytest.approx(integrated_loudness(wav, SR), abs=0.01)
        assert info[name]["peak_dbfs"] > -40
    assert rec["result"]["loudness_lufs"] == pytest.approx(full_rec["result"]["loudness_lufs"], abs=0.1)


def test_fluidsynth_renders_two_stems_at_a_time_with_each_stem_s_samples_and_warnings(tmp_path):
    """With several stems FluidSynth renders two at once (a twin renderer of the font in
    a second thread): every stem, and each synth warning, is what one renderer playing the
    stems one after another gives."""
    from mirctl.backends.synth_common import SynthOptions
    from mirctl.io.midi_events import read_midi_events
    from mirctl.models import soundfonts
    from mirctl.tasks import render as rd

    need_synth("fluidsynth")
    import mido

    path = write_midi(tmp_path / "five.mid", [*pretty_midi.PrettyMIDI(str(_song(tmp_path))).instruments,
                                               instrument([(0.5, 2.5, 72, 90)], program=40, name="violin")])
    song = mido.MidiFile(str(path))
    song.tracks.append(mido.MidiTrack([  # an organ asking for bank 7, which the font lacks
        mido.MetaMessage("track_name", name="organ", time=0),
        mido.Message("control_change", channel=5, control=0, value=7, time=0),
        mido.Message("program_change", channel=5, program=19, time=1),
        mido.Message("note_on", channel=5, note=60, velocity=100, time=100),
        mido.Message("note_off", channel=5, note=60, velocity=0, time=400)]))
    song.save(str(path))
    midi = read_midi_events(path)
    font = soundfonts.resolve("timgm6mb")
    renderer = rd.open_renderer("fluidsynth", str(font.path), SynthOptions(), font)
    played = []
    twin = renderer.twin()
    for r in (renderer, twin):
        real = r.render
        r.render = lambda *a, real=real, r=r, **k: played.append(r) or real(*a, **k)
    params = rd.Params(synth="fluidsynth", stems=True)
    with pytest.warns(Warning) as parallel_said:
        together = rd.render(rd.MidiEventsSource(path, midi, {}), renderer, params)
    assert renderer.twin() is twin and {id(r) for r in played} == {id(renderer), id(twin)} and len(played) == 5
    renderer.parallel = False  # this renderer alone, stem after stem
    with pytest.warns(Warning) as alone_said:
        alone = rd.render(rd.MidiEventsSource(path, midi, {}), renderer, params)
    assert len(played) == 10 and all(r is renderer for r in played[5:])
    assert list(together.outputs) == list(alone.outputs) == [f"stem:{n}" for n in
                                                             ("piano", "bass", "drums", "organ", "violin")]
    for name, out in together.outputs.items():
        np.testing.assert_array_equal(out.wav, alone.outputs[name].wav)
    assert together.data == alone.data
    said = [str(w.message) for w in parallel_said]
    assert said == [str(w.message) for w in alone_said]
    assert [m for m in said if "bank=7" in m] == ["Instrument not found on channel 5 [bank=7 prog=19], "
                                                  "substituted [bank=0 prog=19]"], said
    renderer.close()
    assert renderer.twin is not None and getattr(renderer, "_twin", None) is None


def test_stem_outputs_are_planned_skipped_and_refused_like_any_output(tmp_path):
    path = _song(tmp_path)
    res, _ = render(path, tmp_path / "out", "--stems", "--bits", "24")
    assert res.exit_code == 0, res.output
    assert sf.info(str(tmp_path / "out" / "song" / "bass.wav")).subtype == "PCM_24"
    res, (rec,) = render(path, tmp_path / "out", "--stems")
    assert rec["status"] == "skipped" and len(rec["outputs"]) == 3
    (tmp_path / "out" / "song" / "drums.wav").unlink()
    res, (rec,) = render(path, tmp_path / "out", "--stems")
    assert rec["status"] == "failed" and rec["error"].startswith("2 of 3 outputs already exist")
    assert res.exit_code == 1


def test_empty_midi_gives_a_tail_long_silent_file(tmp_path):
    path = write_midi(tmp_path / "empty.mid", [instrument([])])
    res, (rec,) = render(path, tmp_path / "out", "--tail", "0.5")
    assert res.exit_code == 0, res.output
    wav, sr = read(tmp_path / "out" / "empty.wav")
    assert wav.shape == (2, int(0.5 * SR)) and not wav.any()
    assert rec["status"] == "ok" and rec["result"]["empty"] is True and rec["result"]["peak_dbfs"] is None


def test_notes_that_render_to_silence_fail_with_the_reason_and_the_batch_goes_on(tmp_path):
    muted = write_midi(tmp_path / "in" / "muted.mid", [instrument(KNOWN, ccs=[(0.0, 7, 0)])])
    good = write_midi(tmp_path / "in" / "good.mid", [instrument(KNOWN[:2])])
    (tmp_path / "in" / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\x00\x00")
    res, recs = render(tmp_path / "in", tmp_path / "out")
    by = {r["input"].rsplit("/", 1)[-1]: r for r in recs}
    assert res.exit_code == 1
    assert by["good.mid"]["status"] == "ok"
    assert by["muted.mid"]["status"] == "failed"
    assert by["muted.mid"]["error"] == (f"{muted}: its 5 notes render to digital silence (every note plays on a "
                                        "channel whose volume (CC 7) or expression (CC 11) is 0)")
    assert "try another --soundfont" in by["muted.mid"]["hint"]
    assert by["broken.mid"]["status"] == "failed" and "is not a readable MIDI file" in by["broken.mid"]["error"]
    assert not (tmp_path / "out" / "muted.wav").exists() and (tmp_path / "out" / "good.wav").exists()
    assert good.exists()


@pytest.mark.parametrize("synth", SYNTHS)
def test_a_drum_only_midi_renders_the_kit_on_channel_10(tmp_path, synth):
    path = write_midi(tmp_path / "beat.mid", [instrument([(k * 0.25, k * 0.25 + 0.1, 42, 100) for k in range(8)],
                                                         drum=True)])
    res, (rec,) = render(path, tmp_path / "out", "--stems", synth=synth)
    assert res.exit_code == 0, res.output
    assert list(rec["result"]["stems"]) == ["drums"] and rec["result"]["stems"]["drums"]["peak_dbfs"] > -35


@pytest.mark.parametrize("synth", SYNTHS)
def test_controllers_are_played(tmp_path, synth):
    def level(wav, a, b):
        seg = wav[:, int(a * SR):int(b * SR)]
        return 10 * np.log10(np.mean(seg ** 2) + 1e-20)

    one = [(0.1, 0.6, 60, 100)]
    cases = {
        "plain": instrument(one),
        "pedal": instrument(one, ccs=[(0.0, 64, 127), (2.0, 64, 0)]),
        "quiet": instrument(one, ccs=[(0.0, 7, 50)]),
        "left": instrument(one, ccs=[(0.0, 10, 0)]),
        "bent": instrument(one, bends=[(0.0, 8191)]),
    }
    out = {}
    for name, inst in cases.items():
        res, _ = render(write_midi(tmp_path / f"{name}.mid", [inst]), tmp_path / "out", "--no-reverb",
                        "--bits", "32f", *(("--no-chorus",) if synth == "fluidsynth" else ()), synth=synth)
        assert res.exit_code == 0, res.output
        out[name] = read(tmp_path / "out" / f"{name}.wav")[0]
    # sustain: the note still sounds after its note-off
    assert level(out["pedal"], 0.8, 1.2) > level(out["plain"], 0.8, 1.2) + 20
    # volume 50 of the default 100: 40·log10(50/100) = -12 dB
    assert level(out["quiet"], 0.15, 0.5) - level(out["plain"], 0.15, 0.5) == pytest.approx(-12.0, abs=2.0)
    # pan hard left
    left = out["left"]
    assert level(left[:1], 0.15, 0.5) > level(left[1:], 0.15, 0.5) + 20
    # a full bend up is +2 semitones (General MIDI's default range)
    def f0(wav):
        seg = wav.mean(axis=0)[int(0.2 * SR):int(0.5 * SR)]
        spec = np.abs(np.fft.rfft(seg * np.hanning(seg.size), 1 << 18))
        freqs = np.fft.rfftfreq(1 << 18, 1 / SR)
        band = (freqs > 200) & (freqs < 350)
        return freqs[band][np.argmax(spec[band])]
    assert 12 * math.log2(f0(out["bent"]) / f0(out["plain"])) == pytest.approx(2.0, abs=0.1)
    assert f0(out["plain"]) == pytest.approx(261.6, abs=2.0)


def test_program_forces_every_melodic_channel(tmp_path):
    path = write_midi(tmp_path / "p.mid", [instrument(KNOWN[:2], program=40, name=""),
                                           instrument([(0.0, 0.1, 36, 90)], drum=True)])
    _, (forced,) = render(path, tmp_path / "a", "--stems", "--program", "33")
    _, (own,) = render(path, tmp_path / "b", "--stems")
    assert {k: v["program"] for k, v in forced["result"]["stems"].items()} == {"bass": 33, "drums": 0}
    assert {k: v["program"] for k, v in own["result"]["stems"].items()} == {"strings": 40, "drums": 0}


def test_soundfont_errors_are_usage_errors(tmp_path):
    need_synth("fluidsynth")
    path = write_midi(tmp_path / "k.mid", [instrument(KNOWN[:1])])
    def run(*args):
        res = cli("render", path, "-o", tmp_path / "o", *args)
        return res.exit_code, " ".join(res.output.split())

    code, text = run("-f", "nosuchfont")
    assert code == 2 and "error: --soundfont nosuchfont: unknown font" in text and "timgm6mb" in text
    fake = tmp_path / "fake.sf2"
    fake.write_text("not a soundfont")
    code, text = run("-f", fake)
    assert code == 2 and f"error: {fake} is not a SoundFont (no RIFF 'sfbk' header)" in text
    code, text = run("-f", tmp_path / "missing.sf2")
    assert code == 2 and "missing.sf2: no such file" in text
    code, text = run("--synth", "tinysoundfont", "--reverb")
    assert code == 2 and "--synth tinysoundfont has no reverb or chorus" in text
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_missing_fluidsynth_library_names_what_to_install(tmp_path, monkeypatch):
    fake = tmp_path / "mods"
    fake.mkdir()
    (fake / "fluidsynth.py").write_text('raise ImportError("Couldn\'t find the FluidSynth library.")\n')
    monkeypatch.syspath_prepend(str(fake))
    monkeypatch.delitem(sys.modules, "fluidsynth", raising=False)
    path = write_midi(tmp_path / "k.mid", [instrument(KNOWN[:1])])
    res = cli("render", path, "-o", tmp_path / "o", "-f", "timgm6mb")
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert "--synth fluidsynth: the FluidSynth library (libfluidsynth) was not found" in text
    assert "apt-get install --no-install-recommends libfluidsynth3" in text and "--synth tinysoundfont" in text


def test_transcribe_sonify_plays_the_transcription_through_the_renderer(tmp_path):
    """sonify = the transcription's own MIDI rendered on the default font's piano."""
    need_synth("fluidsynth")
    from conftest import piano_notes, write_wav

    wav = write_wav(tmp_path / "in" / "p.wav", piano_notes([(0.2, 0.8, 60), (1.0, 1.6, 67)]), 22050)
    res = cli("transcribe", wav, "-o", tmp_path / "t", "--outputs", "midi,sonify")
    assert res.exit_code == 0, res.output
    son, sr = read(tmp_path / "t" / "p.wav")
    res = cli("render", tmp_path / "t" / "p.mid", "-o", tmp_path / "r", "--program", "0", "--no-chorus",
              "--tail", "1.0")
    assert res.exit_code == 0, res.output
    ren, _ = read(tmp_path / "r" / "p.wav")
    n = min(son.shape[1], ren.shape[1])
    assert sr == 44100 and n > SR
    np.testing.assert_array_equal(son[:, :n], ren[:, :n])


def test_a_render_that_would_clip_says_so(tmp_path):
    path = write_midi(tmp_path / "k.mid", [instrument(KNOWN[:2])])
    _, (rec,) = render(path, tmp_path / "o", "--gain", "40")
    assert rec["status"] == "ok" and rec["result"]["peak_dbfs"] > 0
    assert [w for w in rec["warnings"] if "clips in 16-bit output" in w], rec["warnings"]
    _, (rec,) = render(path, tmp_path / "f", "--gain", "40", "--bits", "32f")
    assert not [w for w in rec["warnings"] if "clips" in w]


def test_soundfonts_are_listed_found_and_usable_by_name(tmp_path, monkeypatch):
    """`models list` shows the fonts with licenses and the default; a font put into the
    cache's soundfonts/ folder is found and usable by its file name."""
    import os
    import shutil

    from mirctl.models import soundfonts

    tim = soundfonts.resolve("timgm6mb")
    assert tim.path.name == "TimGM6mb.sf2" and tim.license.startswith("GPL-2.0")
    own = soundfonts.user_folder()
    own.mkdir(parents=True)
    shutil.copy(tim.path, own / "MyPiano.sf2")
    res = cli("models", "list", "--task", "soundfont", "--json")
    rows = {r["name"]: r for r in map(json.loads, res.stdout.splitlines())}
    assert rows["timgm6mb"]["weights"].startswith("present") and rows["timgm6mb"]["license"].startswith("GPL-2.0")
    assert rows["MyPiano"]["path"] == str(own / "MyPiano.sf2") and rows["MyPiano"]["license"].startswith("unknown")
    defaults = [name for name, r in rows.items() if r["default"]]
    assert defaults == [soundfonts.installed()[0].name]
    # the default is a known General MIDI font: FluidR3 or MuseScore where installed, else TimGM6mb
    assert defaults[0] in {"fluidr3-gm", "musescore-general", "musescore-general-lite", "timgm6mb"}
    need_synth("tinysoundfont")
    path = write_midi(tmp_path / "k.mid", [instrument(KNOWN[:1])])
    res = cli("render", path, "-o", tmp_path / "p", "-f", "MyPiano", "--synth", "tinysoundfont", "--json")
    (rec,) = records(res)
    assert rec["status"] == "ok" and rec["model"]["name"] == "MyPiano" and os.path.exists(tmp_path / "p" / "k.wav")


def test_stdout_stays_json_when_ci_is_set(tmp_path):
    """pyfluidsynth prints where it found the library when $CI is set, and pretty_midi
    imports it: nothing of that may reach stdout, which carries the --json records."""
    import os
    import subprocess

    need_synth("fluidsynth")
    path = write_midi(tmp_path / "k.mid", [instrument(KNOWN[:1])])
    run = "import sys; sys.argv = ['mirctl'] + sys.argv[1:]; from mirctl.cli import main; main()"
    for args in (["info", str(path)], ["render", str(path), "-f", "timgm6mb", "-o", str(tmp_path / "o")]):
        res = subprocess.run([sys.executable, "-c", run, *args, "--json"], capture_output=True, text=True,
                             env={**os.environ, "CI": "true"}, timeout=120)
        assert res.returncode == 0, res.stderr
        lines = res.stdout.splitlines()
        assert lines and [json.loads(x)["status"] for x in lines] == ["ok"], res.stdout


@pytest.mark.parametrize("synth", SYNTHS)
def test_renders_are_repeatable(tmp_path, synth):
    """The same file renders to the same samples every time (a synth that kept state
    between renders, or rendered voices on several threads, would not: FluidSynth with
    synth.cpu-cores 2 differed by up to 0.04 in 8 of 12 renders of the demo song)."""
    from mirctl.io.midi_events import read_midi_events
    from mirctl.tasks import render as rd

    need_synth(synth)
    path = _song(tmp_path)
    midi = read_midi_events(path)
    from mirctl.backends.synth_common import SynthOptions
    from mirctl.models import soundfonts

    font = soundfonts.resolve("timgm6mb")
    effects = synth == "fluidsynth"
    renderer = rd.open_renderer(synth, str(font.path), SynthOptions(reverb=effects, chorus=effects), font)
    first = renderer.render(midi.events, 3 * SR)
    for _ in range(6):
        again = renderer.render(midi.events, 3 * SR)
        if synth == "fluidsynth":  # sample for sample
            np.testing.assert_array_equal(again, first)
        else:  # TinySoundFont sums its voices in slot order, which may differ: float rounding only
            np.testing.assert_allclose(again, first, rtol=0, atol=1e-5)
