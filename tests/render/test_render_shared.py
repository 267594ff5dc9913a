"""render on real MIDI from ../shared: Slakh stems line up with the real instruments,
every POP909 track is audible, and the two synths agree on length and loudness."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import need_synth, shared_path
from mirctl.backends.synth_common import SynthOptions
from mirctl.cli.app import app
from mirctl.io.midi_events import read_midi_events
from mirctl.loudness import integrated_loudness
from mirctl.models import soundfonts
from mirctl.tasks import render as rd

pytestmark = pytest.mark.shared
SR = 44100
SLAKH = ("data", "slakh_stems_midi", "Track00001")


def _renderer(synth: str, sr: int = SR):
    need_synth(synth)
    font = soundfonts.resolve("timgm6mb")
    effects = synth == "fluidsynth"
    return rd.open_renderer(synth, str(font.path), SynthOptions(sample_rate=sr, reverb=effects, chorus=effects), font)


def _crop(midi, seconds):
    midi.events = [e for e in midi.events if e.time_s < seconds]
    return midi


def _onset_envelope(wav, sr):
    import librosa

    return librosa.onset.onset_strength(y=np.asarray(wav, dtype=np.float32).mean(axis=0) if wav.ndim == 2 else wav,
                                        sr=sr, hop_length=512)


def test_slakh_stems_match_the_real_instruments_best():
    """Render Track00001's all_src.mid with --stems; the onset envelope of each real stem
    (piano S02, bass S03) correlates best with the rendered stem of the same instrument."""
    import soundfile as sf

    folder = shared_path(*SLAKH)
    seconds = 60.0
    midi = _crop(read_midi_events(folder / "all_src.mid"), seconds)
    sr = 22050
    params = rd.Params(stems=True, sample_rate=sr, tail_s=0.0)
    result = rd.render(rd.MidiEventsSource(folder / "all_src.mid", midi, {}), _renderer("fluidsynth", sr), params)
    n = int(seconds * sr)
    rendered = {k[len("stem:"):]: out.wav[:, :n] for k, out in result.outputs.items()}
    real = {}
    for name, file in (("piano", "S02.flac"), ("bass", "S03.flac")):
        wav, file_sr = sf.read(str(folder / "stems" / file), dtype="float32", frames=int(seconds * 44100))
        import soxr

        real[name] = soxr.resample(wav, file_sr, sr)[:n]
    env = {k: _onset_envelope(v, sr) for k, v in rendered.items()}
    corr = {}
    for truth, wav in real.items():
        e = _onset_envelope(wav, sr)
        for name, r in env.items():
            m = min(e.size, r.size)
            corr[(truth, name)] = float(np.corrcoef(e[:m], r[:m])[0, 1])
    matrix = "\n".join(f"{t:6} " + " ".join(f"{n}={corr[(t, n)]:+.2f}" for n in env) for t in real)
    print("onset-envelope correlation, real stem vs rendered stems:\n" + matrix)
    assert {"piano", "bass", "drums"} <= set(rendered)
    for truth in real:
        own = corr[(truth, truth)]
        others = [v for (t, n), v in corr.items() if t == truth and n != truth]
        assert own > 0.5 and own > max(others) + 0.15, matrix


@pytest.mark.parametrize("song", ["001", "250", "500", "909"])
def test_every_pop909_track_is_audible(song):
    need_synth("fluidsynth")
    path = shared_path("data", "pop909", "POP909", song, f"{song}.mid")
    midi = _crop(read_midi_events(path), 45.0)
    result = rd.render(rd.MidiEventsSource(path, midi, {}), _renderer("fluidsynth"), rd.Params(stems=True))
    stems = result.data["stems"]
    assert {"melody", "piano"} <= set(stems), stems
    for name, info in stems.items():
        wav = result.outputs[f"stem:{name}"].wav
        rms_db = 10 * np.log10(np.mean(wav.astype(np.float64) ** 2))
        assert info["notes"] > 0 and info["peak_dbfs"] > -40 and rms_db > -65, (name, info, rms_db)


@pytest.mark.parametrize("rel", [("data", "pop909", "POP909", "001", "001.mid"),
                                 ("data", "pop909", "POP909", "500", "500.mid"),
                                 SLAKH + ("all_src.mid",)])
def test_both_synths_give_the_same_length_and_loudness_within_6_lu(rel):
    """Loudness with each synth's defaults (FluidSynth adds reverb and chorus); length of
    the whole song rendered dry, since FluidSynth's reverb tail rightly adds ~0.75 s."""
    path = shared_path(*rel)
    out = {}
    for synth in ("fluidsynth", "tinysoundfont"):
        renderer = _renderer(synth)
        midi = read_midi_events(path)
        dry = rd.render(rd.MidiEventsSource(path, midi, {}), renderer,
                        rd.Params(synth=synth, reverb=False, chorus=False))
        n = dry.outputs["audio"].wav.shape[1]
        assert n >= round((midi.last_note_off_s + 1.0) * SR)
        cropped = rd.render(rd.MidiEventsSource(path, _crop(midi, 60.0), {}), renderer, rd.Params(synth=synth))
        wav = cropped.outputs["audio"].wav
        assert cropped.data["peak_dbfs"] > -30
        out[synth] = (n, integrated_loudness(wav, SR))
    (n_fs, l_fs), (n_tsf, l_tsf) = out["fluidsynth"], out["tinysoundfont"]
    assert abs(n_fs - n_tsf) <= 8192 + 64, out  # at most one extension block apart
    assert abs(l_fs - l_tsf) < 6.0, out


def test_render_cli_on_a_pop909_song_reports_levels_per_stem(tmp_path):
    need_synth("fluidsynth")
    path = shared_path("data", "pop909", "POP909", "001", "001.mid")
    res = CliRunner().invoke(app, ["render", str(path), "--stems", "-f", "timgm6mb", "-o", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    rec = json.loads(next(x for x in res.stdout.splitlines() if x.startswith("{")))
    stems = rec["result"]["stems"]
    assert sorted(stems) == ["bridge", "melody", "piano"]
    assert sorted(p.name for p in (tmp_path / "001").iterdir()) == ["bridge.wav", "melody.wav", "piano.wav"]
    assert all(v["loudness_lufs"] is not None and v["loudness_lufs"] > -50 for v in stems.values())
    end = read_midi_events(path).last_note_off_s + 1.0  # the default tail, then FluidSynth's reverb
    assert end <= rec["result"]["duration_s"] <= end + 1.0
