"""Note decoding against basic-pitch 0.4.0's own ``note_creation`` and ``inference``
helpers, on made-up posteriorgrams that reach every branch: notes at the pitch edges
and the ends of the matrix, dips shorter and longer than the energy tolerance, ties
between equal activations (the melodia step takes the first in row-major order),
frequency limits, and activations with no frame rises at all.

No model is needed, so these run in seconds; the model-level comparisons are in
``test_transcription.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mirctl.tasks import note_decoding as nd
from mirctl.tasks.transcription import DecodeParams

nc = pytest.importorskip("basic_pitch.note_creation")
inference = pytest.importorskip("basic_pitch.inference")

FPS = 22050 / 256


def posteriorgrams(seed: int, n_frames: int = 300, quantum: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(frames, onsets), float32 like the model's: faint noise plus notes with dips,
    some on pitch 0 and 87 and some touching the first or last frame."""
    rng = np.random.default_rng(seed)
    frames = rng.uniform(0, 0.22, (n_frames, 88))
    onsets = rng.uniform(0, 0.3, (n_frames, 88))
    pitches = list(rng.integers(0, 88, 14)) + [0, 87, 1, 86]
    for j, f in enumerate(pitches):
        start = int(rng.integers(0, n_frames - 5)) if j % 5 else int(rng.choice([0, 1, 2, n_frames - 8]))
        length = int(rng.integers(3, 60))
        end = min(start + length, n_frames)
        level = rng.uniform(0.35, 0.95)
        frames[start:end, f] = level * rng.uniform(0.8, 1.0, end - start)
        if rng.random() < 0.6 and end - start > 8:  # a dip of 2..15 frames inside the note
            d0 = start + int(rng.integers(2, (end - start) // 2))
            frames[d0 : d0 + int(rng.integers(2, 16)), f] = rng.uniform(0, 0.2)
        if rng.random() < 0.5:  # neighbours sound along (cleared with the note)
            frames[start:end, max(f - 1, 0)] = level * 0.7
            frames[start:end, min(f + 1, 87)] = level * 0.6
        onsets[start, f] = peak = rng.uniform(0.2, 1.0)
        if start + 1 < n_frames and rng.random() < 0.6:  # onsets span frames: a plateau or a shoulder after
            onsets[start + 1, f] = peak * rng.choice([1.0, 0.8])
        if start > 0 and rng.random() < 0.4:  # and a shoulder before
            onsets[start - 1, f] = peak * 0.7
    if quantum:  # equal values everywhere: argmax ties
        frames = np.round(frames / quantum) * quantum
        onsets = np.round(onsets / quantum) * quantum
    return frames.astype(np.float32), onsets.astype(np.float32)


def theirs(frames, onsets, p: DecodeParams):
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        return nc.output_to_notes_polyphonic(frames.copy(), onsets.copy(), p.onset_threshold, p.frame_threshold,
                                             p.min_note_frames, p.infer_onsets, p.max_freq, p.min_freq,
                                             melodia_trick=p.melodia_trick)


def same(mine, ref) -> None:
    assert len(mine) == len(ref)
    for a, b in zip(mine, ref):
        assert a[:3] == tuple(int(x) for x in b[:3])
        assert a[3] == float(b[3])  # the same pairwise mean, bit for bit


def params(frames_n: float, **kw) -> DecodeParams:
    return DecodeParams(min_note_ms=frames_n * 1000 / FPS, **kw)


GRID = [
    params(11),
    params(11, onset_threshold=0.3, frame_threshold=0.2),
    params(5, onset_threshold=0.7, frame_threshold=0.4),
    params(0, frame_threshold=0.25),
    params(11, infer_onsets=False),
    params(3, melodia_trick=False),
    params(11, min_freq=60.0, max_freq=900.0),
    params(8, min_freq=200.0),
    params(8, max_freq=2000.0, infer_onsets=False),
    params(20, onset_threshold=0.4),
]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("p", GRID, ids=range(len(GRID)))
def test_decode_notes_equals_basic_pitchs_note_creation(seed, p):
    frames, onsets = posteriorgrams(seed)
    mine = nd.decode_notes(frames, onsets, p)
    ref = theirs(frames, onsets, p)
    assert len(ref) >= 3
    same(mine, ref)


def test_float64_activations_decode_alike():
    """Activations in float64 (not the model's float32): the means still come from the
    untouched activations, not from the energy the decoding clears."""
    frames, onsets = posteriorgrams(2)
    frames, onsets = frames.astype(np.float64), onsets.astype(np.float64)
    for p in (params(11), params(3, frame_threshold=0.2)):
        same(nd.decode_notes(frames, onsets, p), theirs(frames, onsets, p))


@pytest.mark.parametrize("quantum", [0.1, 0.25])
@pytest.mark.parametrize("p", [params(11), params(2, frame_threshold=0.2), params(11, infer_onsets=False),
                               params(4, frame_threshold=0.25, onset_threshold=0.5, infer_onsets=False)],
                         ids=range(4))
def test_ties_are_broken_as_basic_pitch_breaks_them(quantum, p):
    frames, onsets = posteriorgrams(7, quantum=quantum)
    ref = theirs(frames, onsets, p)
    assert len(ref) >= 3
    same(nd.decode_notes(frames, onsets, p), ref)


@pytest.mark.parametrize("n_frames", [1, 2, 3, 13, 40])
def test_short_activations_decode_as_basic_pitch_does(n_frames):
    frames, onsets = posteriorgrams(3, n_frames=max(n_frames, 10))
    frames, onsets = frames[:n_frames], onsets[:n_frames]
    for p in (params(0), params(1, frame_threshold=0.1), params(11)):
        same(nd.decode_notes(frames, onsets, p), theirs(frames, onsets, p))


def test_frames_without_rises_leave_only_the_melodia_notes():
    """Constant activations: no frame rises, so the inferred onsets are NaN upstream and
    no onset starts a note; the melodia step still finds the notes."""
    frames = np.zeros((120, 88), np.float32)
    frames[:, 40] = 0.6
    frames[:, 10] = 0.5
    onsets = np.zeros_like(frames)
    onsets[30, 40] = 0.9
    for p in (params(11), params(11, frame_threshold=0.55)):
        ref = theirs(frames, onsets, p)
        assert [n[2] for n in ref] == [61, 31][: len(ref)] and ref
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # and without dividing 0 by 0 on the way (upstream warns)
            same(nd.decode_notes(frames, onsets, p), ref)
    silent = np.zeros((50, 88), np.float32)
    assert nd.decode_notes(silent, silent, params(11)) == []


def test_no_frames_decode_to_no_notes():
    """Audio shorter than one frame (256 samples at 22.05 kHz) stitches to no frames:
    no notes, where basic-pitch's own decoding fails on the empty maximum."""
    empty = np.zeros((0, 88), np.float32)
    for p in (params(11), params(0, infer_onsets=False), params(11, melodia_trick=False)):
        assert nd.decode_notes(empty, empty, p) == []
    assert nd.stitch(np.zeros((1, nd.WINDOW_FRAMES, 88), np.float32), 100).shape == (0, 88)


def test_decoding_leaves_the_callers_arrays_alone():
    frames, onsets = posteriorgrams(1)
    f0, o0 = frames.copy(), onsets.copy()
    nd.decode_notes(frames, onsets, params(11, min_freq=100.0, max_freq=800.0))
    assert np.array_equal(frames, f0) and np.array_equal(onsets, o0)


def test_frequency_limits_equal_librosas_note_numbers():
    import librosa

    for hz in (27.5, 31.0, 100.0, 261.63, 440.0, 1000.0, 4186.0):
        assert nd._hz_to_midi(hz) == pytest.approx(float(librosa.hz_to_midi(hz)), abs=1e-12)


def test_pitch_bends_equal_basic_pitchs():
    rng = np.random.default_rng(5)
    contour = rng.uniform(0, 1, (200, nd.N_CONTOUR_BINS)).astype(np.float32)
    events = [(0, 30, 21, 0.5), (10, 60, 22, 0.5), (40, 41, 60, 0.4), (50, 120, 69, 0.7), (100, 199, 107, 0.6),
              (150, 200, 108, 0.9), (5, 25, 30, 0.3)]
    ref = nc.get_pitch_bends(contour, events)
    mine = nd.pitch_bends(contour, events)
    assert [list(map(int, r[4])) for r in ref] == mine
    assert all(len(b) == e - s for b, (s, e, _, _) in zip(mine, events))
    assert all(type(x) is int for b in mine for x in b)  # what the JSON report and the MIDI writer get
    # a contour that peaks exactly on a bin gives that bend, prior or not
    peaked = np.zeros((4, nd.N_CONTOUR_BINS), np.float32)
    centre = int(round(36 * np.log2(440.0 / 27.5)))
    for t, shift in enumerate((-4, 0, 3, 25)):
        peaked[t, centre + shift] = 1.0
    assert nd.pitch_bends(peaked, [(0, 4, 69, 1.0)]) == [[-4, 0, 3, 25]]
    # peaks outside a narrower search range leave all-zero rows: the first bin, -tolerance
    assert nd.pitch_bends(peaked, [(0, 4, 69, 1.0)], tolerance=3) == [[-3, 0, 3, -3]]


def test_gaussian_prior_equals_scipys_window():
    from scipy.signal.windows import gaussian

    for length, std in ((51, 5.0), (7, 1.5), (1, 2.0)):
        np.testing.assert_allclose(nd._gaussian(length, std), gaussian(length, std), rtol=0, atol=1e-15)


@pytest.mark.parametrize("n_frames", [1, 171, 172, 173, 800, 2000])
def test_frame_times_equal_basic_pitchs(n_frames):
    np.testing.assert_allclose(nd.frame_times(n_frames), nc.model_frames_to_time(n_frames), rtol=0, atol=1e-12)


@pytest.mark.parametrize("n_samples", [0, 1, 1000, nd.WINDOW_SAMPLES - 3840, nd.WINDOW_SAMPLES, 100_000, 3 * 40004 + 7])
def test_windows_and_stitching_equal_basic_pitchs(n_samples):
    rng = np.random.default_rng(n_samples)
    audio = rng.standard_normal(n_samples).astype(np.float32)
    overlap = nd.OVERLAP_FRAMES * nd.HOP
    padded = np.concatenate([np.zeros(overlap // 2, np.float32), audio])
    ref = np.stack([w for w, _ in inference.window_audio_file(padded, nd.WINDOW_SAMPLES - overlap)])
    mine = nd.frame_windows(audio.astype(np.float64))
    assert mine.dtype == np.float32 and mine.shape == ref.shape
    assert np.array_equal(mine, ref)
    # the model's output for those windows, made up, stitched back as basic-pitch does
    out = rng.uniform(0, 1, (mine.shape[0], nd.WINDOW_FRAMES, 5)).astype(np.float32)
    expected = inference.unwrap_output(out, n_samples, nd.OVERLAP_FRAMES)
    stitched = nd.stitch(out, n_samples)
    assert stitched.shape == expected.shape and np.array_equal(stitched, expected)


def test_mean_is_numpys_mean_bit_for_bit():
    rng = np.random.default_rng(2)
    for n in (1, 7, 128, 129, 1001):
        for dtype in (np.float32, np.float64):
            x = rng.uniform(0, 1, n).astype(dtype)
            assert nd._mean(x) == float(np.mean(x))
