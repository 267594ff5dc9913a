"""Turn basic-pitch posteriorgrams into note events (numpy only, no model needed).

Conventions (basic-pitch's): frames at 22050 / 256 Hz; ``note`` and ``onset`` are
(frames, 88) activations for MIDI pitches 21..108; ``contour`` is (frames, 264) at a
third of a semitone per bin from 27.5 Hz. Notes come out as frame indices first and
as seconds after :func:`frame_times`. The decoding reproduces basic-pitch 0.4.0's
``note_creation`` step for step, so the same posteriorgrams give the same notes.
"""

from __future__ import annotations

import math

import numpy as np

from mirctl.tasks.transcription import DecodeParams  # noqa: F401  (declared with the command's options)

SR = 22050
HOP = 256
FPS = SR // HOP  # 86: basic-pitch's integer frame rate, used for lengths
WINDOW_SAMPLES = SR * 2 - HOP  # 43844
WINDOW_FRAMES = FPS * 2  # 172 frames per model window
OVERLAP_FRAMES = 30
MIDI_OFFSET = 21
N_PITCHES = 88
CONTOUR_BINS_PER_SEMITONE = 3
N_CONTOUR_BINS = N_PITCHES * CONTOUR_BINS_PER_SEMITONE
ENERGY_TOLERANCE = 11  # frames below threshold that end a note
BEND_TOLERANCE_BINS = 25


# --- windowing around the model ------------------------------------------------------


def frame_windows(mono_22k: np.ndarray) -> np.ndarray:
    """Cut audio into the model's overlapping windows: (n_windows, 43844, 1) float32.

    Half the overlap is zero-padded in front, so every kept frame has context.
    """
    lead = OVERLAP_FRAMES * HOP // 2  # the zeros in front
    hop = WINDOW_SAMPLES - 2 * lead
    n_windows = max(1, math.ceil((lead + mono_22k.size) / hop))
    out = np.zeros((n_windows, WINDOW_SAMPLES, 1), dtype=np.float32)
    for w in range(n_windows):  # copied straight from the audio: no padded copy of a whole song
        start = w * hop - lead  # where the window starts in the audio (< 0 for the first)
        chunk = mono_22k[max(start, 0) : start + WINDOW_SAMPLES]
        skip = max(-start, 0)
        out[w, skip : skip + chunk.size, 0] = chunk
    return out


def stitch(windows_out: np.ndarray, n_samples: int) -> np.ndarray:
    """Drop the overlapping edge frames of each window and join: (frames, bins)."""
    half = OVERLAP_FRAMES // 2
    core = windows_out[:, half:-half, :]
    joined = core.reshape(-1, core.shape[-1])
    return joined[: int(np.floor(n_samples * (FPS / SR)))]


def frame_times(n_frames: int) -> np.ndarray:
    """Seconds of each output frame, with basic-pitch's per-window drift correction."""
    idx = np.arange(n_frames)
    window_offset = (HOP / SR) * (WINDOW_FRAMES - WINDOW_SAMPLES / HOP) + 0.0018
    return idx * HOP / SR - window_offset * np.floor(idx / WINDOW_FRAMES)


# --- decoding -------------------------------------------------------------------------


def _hz_to_midi(hz: float) -> float:
    return 12 * (math.log2(hz) - math.log2(440.0)) + 69


def _limit_band(onsets: np.ndarray, frames: np.ndarray, p: DecodeParams) -> None:
    if p.max_freq is not None:
        top = int(np.round(_hz_to_midi(p.max_freq) - MIDI_OFFSET))
        onsets[:, top:] = 0
        frames[:, top:] = 0
    if p.min_freq is not None:
        bottom = int(np.round(_hz_to_midi(p.min_freq) - MIDI_OFFSET))
        onsets[:, :bottom] = 0
        frames[:, :bottom] = 0


def _onsets_with_frame_rises(onsets: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Add onsets where frame energy jumps: max(onsets, rescaled min rise over 1 and 2
    frames), in float64 as upstream computes it (frames before the start count as 0)."""
    f = frames.astype(np.float64)
    rise = f.copy()
    rise[1:] -= f[:-1]  # rise over one frame
    over_two = f.copy()
    over_two[2:] -= f[:-2]
    np.minimum(rise, over_two, out=rise)  # upstream zeroes negative rises here; no need: rise[:2] = 0
    rise[:2, :] = 0  # keeps the peak >= 0, and rescaled they lose to the onsets (>= 0) below
    peak = np.max(rise) if rise.size else 0.0
    if not peak > 0:  # an all-zero rise gives NaN upstream: no onset can then be a peak
        return np.full(onsets.shape, np.nan)
    rise = np.max(onsets) * rise / peak
    return np.maximum(onsets, rise)


def _local_peaks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(time, pitch) indices of strict local maxima along time (edges excluded)."""
    is_peak = np.zeros(x.shape, dtype=bool)
    mid = x[1:-1]  # empty, like the slices beside it, for fewer than 3 frames
    is_peak[1:-1] = (mid > x[:-2]) & (mid > x[2:])
    return np.nonzero(is_peak)


def _mean(x: np.ndarray) -> float:
    """``float(np.mean(x))`` for a 1-D float array, without np.mean's dispatch (the same
    pairwise sum, divided in the array's precision)."""
    total = np.add.reduce(x)
    return float(total.dtype.type(total / x.size))


def _clear(energy: np.ndarray, t0: int, t1: int, f: int) -> None:
    lo, hi = max(f - 1, 0), min(f + 2, N_PITCHES)
    energy[t0:t1, lo:hi] = 0


def decode_notes(frames: np.ndarray, onsets: np.ndarray, p: DecodeParams) -> list[tuple[int, int, int, float]]:
    """Note events ``(start_frame, end_frame, midi_pitch, amplitude)`` from activations.

    Onset peaks above ``onset_threshold`` start notes that last while the frame
    activation stays above ``frame_threshold`` (allowing 10 frames of dips); the
    "melodia trick" then turns remaining strong frame energy into notes, greedily from
    the strongest frame outwards.
    """
    frames, onsets = np.array(frames), np.array(onsets)  # copies: the band limits zero columns in place
    n_frames = frames.shape[0]
    _limit_band(onsets, frames, p)
    if p.infer_onsets:
        onsets = _onsets_with_frame_rises(onsets, frames)
    peak_t, peak_f = _local_peaks(onsets)
    strong = onsets[peak_t, peak_f] >= p.onset_threshold
    starts = list(zip(peak_t[strong][::-1].tolist(), peak_f[strong][::-1].tolist()))  # latest first

    energy = frames.astype(np.float64)  # a copy, even of float64 frames
    thr, tol, min_len = p.frame_threshold, ENERGY_TOLERANCE, p.min_note_frames
    notes: list[tuple[int, int, int, float]] = []
    for t0, f in starts:  # a peak is never the last frame: every start has a frame after it
        column = energy[:, f]
        i, k = t0 + 1, 0
        while i < n_frames - 1 and k < tol:
            k = k + 1 if column[i] < thr else 0
            i += 1
        i -= k
        if i - t0 <= min_len:
            continue
        _clear(energy, t0, i, f)
        notes.append((t0, i, f + MIDI_OFFSET, _mean(frames[t0:i, f])))

    if p.melodia_trick:
        notes.extend(_melodia(frames, energy, thr, tol, min_len))
    return notes


def _melodia(frames: np.ndarray, energy: np.ndarray, thr: float, tol: int, min_len: int) -> list[tuple[int, int, int, float]]:
    """Greedy notes from the strongest remaining frame outwards. Each step takes the first
    maximum in row-major order, as a whole-matrix argmax would, but through a cache of
    per-frame maxima that is refreshed only on the frames a step cleared."""
    n_frames = energy.shape[0]
    found: list[tuple[int, int, int, float]] = []
    if not energy.size:
        return found
    row_max = energy.max(axis=1)
    while True:
        t_mid = int(np.argmax(row_max))
        if not row_max[t_mid] > thr:
            break
        f = int(np.argmax(energy[t_mid]))
        energy[t_mid, f] = 0
        lo, hi = max(f - 1, 0), min(f + 2, N_PITCHES)

        i, k = t_mid + 1, 0  # walk forwards, clearing as we go
        while i < n_frames - 1 and k < tol:
            k = k + 1 if energy[i, f] < thr else 0
            energy[i, lo:hi] = 0
            i += 1
        t_end, cleared_to = i - 1 - k, i

        i, k = t_mid - 1, 0  # and backwards
        while i > 0 and k < tol:
            k = k + 1 if energy[i, f] < thr else 0
            energy[i, lo:hi] = 0
            i -= 1
        t_start, cleared_from = i + 1 + k, min(i + 1, t_mid)

        row_max[cleared_from:cleared_to] = energy[cleared_from:cleared_to].max(axis=1)
        if t_end - t_start <= min_len:
            continue
        found.append((t_start, t_end, f + MIDI_OFFSET, _mean(frames[t_start:t_end, f])))
    return found


def _gaussian(length: int, std: float) -> np.ndarray:
    n = np.arange(0, length) - (length - 1.0) / 2.0
    return np.exp(-(n ** 2) / (2 * std * std))


def pitch_bends(contour: np.ndarray, notes: list[tuple[int, int, int, float]],
                tolerance: int = BEND_TOLERANCE_BINS) -> list[list[int]]:
    """Per note, the contour's peak offset from the note's pitch at every frame
    (1/3-semitone units, searched within ±``tolerance`` bins under a Gaussian prior)."""
    width = 2 * tolerance + 1
    prior = _gaussian(width, 5.0)
    bends = []
    for start, end, pitch, _amp in notes:
        centre = CONTOUR_BINS_PER_SEMITONE * (pitch - MIDI_OFFSET)  # bin 0 is 27.5 Hz, MIDI 21
        lo = max(centre - tolerance, 0)
        hi = min(N_CONTOUR_BINS, centre + tolerance + 1)
        cut_lo = max(0, tolerance - centre)
        cut_hi = width - max(0, centre - (N_CONTOUR_BINS - tolerance - 1))
        window = contour[start:end, lo:hi] * prior[cut_lo:cut_hi]
        shift = tolerance - cut_lo
        bends.append((np.argmax(window, axis=1) - shift).tolist())  # Python ints
    return bends
