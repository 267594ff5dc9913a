"""Source separation: a mixture in, one waveform per stem out.

Audio is float32 (channels, samples). The model sees its own sample rate and channel
count: inputs are resampled (soxr) and split into channel groups the model's width
(a mono input is duplicated, an 8-channel input becomes four stereo pairs), and the
stems are put back at the input's rate and channel layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from mirctl.errors import ModelError, UsageError, ValidationError
from mirctl.options import option
from mirctl.pipeline.task import EvalRequest, OutputSlot, Task
from mirctl.types import AudioOut, AudioSource, TaskResult

if TYPE_CHECKING:
    import numpy as np

    from mirctl.models.cards import ModelCard

CLIP_MODES = ("rescale", "clamp", "none")
MIN_SAMPLES = 4096  # shorter inputs are zero-padded for the model and trimmed back
CHUNK_OVERLAP_S = 5.0  # cross-fade between chunks of a long input


@dataclass(frozen=True)
class Params:
    model: str = option("htdemucs", "Model card (`mirctl models list --task separate`) or, with --model-path, a "
                                    "demucs signature.", config="model")
    model_path: Path | None = None
    stems: tuple[str, ...] = option((), "Comma-separated subset of stems to write, e.g. vocals,drums.")
    two_stems: str | None = option(None, "Write STEM and no_STEM (the sum of the others).")
    shifts: int = option(1, "Random time shifts averaged (demucs' equivariant trick); 0 is deterministic.",
                         config="shifts")
    overlap: float = option(0.25, "Overlap between chunks.", config="overlap")
    segment: float | None = option(None, "Chunk length in seconds (smaller uses less memory).")
    clip: str = option("rescale", "Avoid clipping by rescaling a stem, clamping, or not at all.", config="clip")
    format: str = option("wav", "Output audio format.", config="format")
    bits: str = option("16", "Sample format for wav/flac.", config="bits")
    mp3_bitrate: int = option(320, "MP3 bitrate in kbit/s.", config="mp3_bitrate")
    seed: int | None = option(None, "Seed for the shifts, so shifted runs are reproducible.")
    eval_dir: Path | None = option(None, "Folder of true stems (REF/<track>/<stem>.wav or REF/<stem>.wav): adds "
                                         "SDR per stem.")
    #: inputs longer than this go to the model in cross-faded chunks (0: never)
    chunk_s: float = option(60.0, "Songs longer than this many seconds are separated in cross-faded chunks, which "
                                  "bounds memory; 0 never chunks.", config="chunk")


@lru_cache(maxsize=8)
def resolve_card(model: str, model_path: Path | None) -> ModelCard:
    from mirctl.models import get_card
    from mirctl.models.local import local_demucs_card

    if model_path is not None and not model_path.exists():
        raise ModelError(f"--model-path {model_path} does not exist")
    if model_path is not None and model_path.is_file():
        return local_demucs_card(model, model_path)
    try:
        return get_card(model, task="separate")
    except ModelError:
        if model_path is None:
            raise
        return local_demucs_card(model, model_path)


def output_stems(params: Params, sources: tuple[str, ...]) -> list[str]:
    """Stem names written for ``params`` (subset, or ``two_stems`` and ``no_<stem>``)."""
    if params.two_stems:
        if params.two_stems not in sources:
            raise UsageError(f"--two-stems {params.two_stems}: this model has no such stem",
                             hint="its stems: " + ", ".join(sources))
        return [params.two_stems, f"no_{params.two_stems}"]
    if params.stems:
        unknown = [s for s in params.stems if s not in sources]
        if unknown:
            raise UsageError(f"--stems: unknown stem(s) {', '.join(unknown)}", hint="this model has: " + ", ".join(sources))
        return list(params.stems)
    return list(sources)


def validate(params: Params) -> None:
    from mirctl.io.audio import check_write_options

    check_write_options(params.format, params.bits)
    if params.clip not in CLIP_MODES:
        raise UsageError(f"--clip {params.clip!r} is not one of {', '.join(CLIP_MODES)}")
    if params.shifts < 0:
        raise UsageError("--shifts must be 0 or more")
    if not 0 <= params.overlap < 1:
        raise UsageError("--overlap must be in [0, 1)")
    if params.segment is not None and params.segment <= 0:
        raise UsageError("--segment must be positive (seconds)")
    if params.two_stems and params.stems:
        raise UsageError("--stems and --two-stems cannot be combined")
    if params.chunk_s and params.chunk_s < 2 * CHUNK_OVERLAP_S:
        raise UsageError(f"--chunk must be 0 (off) or at least {2 * CHUNK_OVERLAP_S:g} seconds")


def apply_clip(wav: np.ndarray, mode: str) -> np.ndarray:
    """demucs' policies: rescale the stem if it would clip, clamp to ±0.99, or leave it.

    Works in place (the stems are arrays this task owns): long songs get no second copy.
    """
    import numpy as np

    if mode == "rescale":
        peak = float(max(np.max(wav, initial=0.0), -np.min(wav, initial=0.0)))
        if 1.01 * peak > 1.0:
            wav /= np.float32(1.01 * peak)
        return wav
    if mode == "clamp":
        return np.clip(wav, -0.99, 0.99, out=wav)
    return wav


class _Regions:
    """Finished regions of a chunked result, kept in memory (a model with a
    ``long_input()`` scope, such as demucs, parks them on disk instead)."""

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []

    def __enter__(self) -> _Regions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.parts.clear()

    def append(self, region: np.ndarray) -> None:
        import numpy as np

        self.parts.append(np.ascontiguousarray(region, dtype=np.float32))

    def read_all(self) -> np.ndarray:
        import numpy as np

        return np.concatenate(self.parts, axis=-1)


def run_in_chunks(model: Any, x: np.ndarray, sr: int, params: Params,
                  progress: Callable[[float], None] | None = None) -> np.ndarray:
    """Apply ``model`` to (channels, samples) ``x``; inputs longer than ``params.chunk_s``
    go in chunks that overlap by CHUNK_OVERLAP_S and are cross-faded linearly.

    Finished regions are handed to the model's ``long_input()`` scope where it has one
    (the demucs backend spools them to disk and gives freed memory back, so the peak
    is the model's working set plus one chunk), else kept in memory. Returns
    (sources, channels, samples).
    """
    import numpy as np

    kwargs = dict(sr=sr, shifts=params.shifts, overlap=params.overlap, segment=params.segment, seed=params.seed)
    n = x.shape[1]
    chunk = int(params.chunk_s * sr)
    if chunk <= 0 or n <= chunk:
        return model(x, progress=progress, **kwargs)
    fade = int(CHUNK_OVERLAP_S * sr)
    hop = chunk - fade
    starts = list(range(0, n - fade, hop))
    # fade-in and fade-out ramps of neighbouring chunks add up to exactly 1: no normalisation pass
    ramp = (np.arange(1, fade + 1, dtype=np.float64) / (fade + 1)).astype(np.float32)
    carry = None  # the faded-out tail of the previous chunk, waiting for the next one's fade-in
    scope = getattr(model, "long_input", None)
    with (scope() if scope is not None else _Regions()) as regions:
        for k, start in enumerate(starts):
            stop = min(n, start + chunk)

            def sub(f: float, k: int = k) -> None:
                if progress:
                    progress((k + f) / len(starts))

            res = model(np.ascontiguousarray(x[:, start:stop]), progress=sub, **kwargs)
            if start > 0:
                res[..., :fade] *= ramp
                res[..., :fade] += carry
            if stop < n:
                res[..., -fade:] *= ramp[::-1]
                carry = res[..., -fade:].copy()
                regions.append(res[..., :-fade])
            else:
                regions.append(res)
            del res
        return regions.read_all()


def _channel_groups(n_channels: int, width: int) -> list[list[int]]:
    return [list(range(i, min(i + width, n_channels))) for i in range(0, n_channels, width)]


def separate(wav: np.ndarray, sr: int, model: Any, params: Params,
             progress: Callable[[float], None] | None = None) -> dict[str, np.ndarray]:
    """Split a (channels, samples) mixture into stems at ``sr`` with the same channels.

    ``model`` follows the stem-model protocol (``sources``, ``sample_rate`` and
    ``channels`` — None meaning any — and ``__call__``). Returns {stem: (channels, samples)}.

    >>> import numpy as np
    >>> from mirctl.testing import FakeStemModel
    >>> stems = separate(np.ones((1, 8000), np.float32), 8000, FakeStemModel(), Params(clip="none"))
    >>> sorted(stems), stems["vocals"].shape
    (['accompaniment', 'vocals'], (1, 8000))
    """
    import numpy as np

    from mirctl.dsp import resample

    if wav.ndim != 2 or wav.shape[1] == 0:
        raise ValidationError("audio must be shaped (channels, samples) with at least one sample")
    n_ch, n = wav.shape
    model_sr = model.sample_rate or sr
    x = resample(wav, sr, model_sr)
    n_model = x.shape[1]
    if n_model < MIN_SAMPLES:
        x = np.pad(x, ((0, 0), (0, MIN_SAMPLES - n_model)))
    width = model.channels or n_ch
    groups = _channel_groups(n_ch, width)
    out = None  # (sources, channels, samples); allocated only when there are several groups
    for g, chans in enumerate(groups):
        block = x[chans[0] : chans[-1] + 1]  # a view: groups are runs of adjacent channels
        if block.shape[0] < width:  # a lone channel: duplicate it to the model's width
            block = np.repeat(block.mean(axis=0, keepdims=True), width, axis=0)

        def sub_progress(f: float, g: int = g) -> None:
            if progress:
                progress((g + f) / len(groups))

        res = run_in_chunks(model, np.ascontiguousarray(block, dtype=np.float32), model_sr, params, sub_progress)
        del block
        if len(chans) < width:
            res = res.mean(axis=1, keepdims=True)
        if len(groups) == 1:
            out = res[:, : len(chans)]
        else:
            if out is None:
                out = np.zeros((len(model.sources), n_ch, x.shape[1]), dtype=np.float32)
            out[:, chans] = res[:, : len(chans)]
        del res
    del x
    out = out[:, :, :n_model]
    stems = {name: resample(out[i], model_sr, sr)[:, :n] for i, name in enumerate(model.sources)}
    for name, s in stems.items():  # resampling can come back a sample short
        if s.shape[1] < n:
            stems[name] = np.pad(s, ((0, 0), (0, n - s.shape[1])))
    wanted = output_stems(params, tuple(model.sources))
    if params.two_stems:
        keep = params.two_stems
        rest = sum(v for k, v in stems.items() if k != keep)
        stems = {keep: stems[keep], f"no_{keep}": rest}
    return {k: apply_clip(stems[k], params.clip).astype(np.float32, copy=False) for k in wanted}


def stem_levels(stems: dict[str, np.ndarray], sr: int) -> dict[str, dict[str, float | None]]:
    from mirctl.dsp import rms_db
    from mirctl.io.audio import integrated_loudness

    return {k: {"rms_dbfs": rms_db(v), "loudness_lufs": integrated_loudness(v, sr)} for k, v in stems.items()}


def process(model: Any, source: AudioSource, params: Params, progress: Callable[[float], None]) -> TaskResult:
    stems = separate(source.wav, source.sr, model, params, progress)
    data: dict[str, Any] = {"sample_rate": source.sr, "channels": int(source.wav.shape[0]),
                            "duration_s": source.wav.shape[1] / source.sr, "stems": stem_levels(stems, source.sr)}
    return TaskResult(outputs={k: AudioOut(v, source.sr) for k, v in stems.items()}, data=data,
                      estimate=(stems, source.sr))


class Separation(Task[Params]):
    """``mirctl separate``: one audio file in, one audio file per stem out."""

    def validate(self, params: Params) -> None:
        validate(params)

    def slots(self, params: Params) -> list[OutputSlot]:
        from mirctl.io.artifacts import AudioWriteOptions

        card = resolve_card(params.model, params.model_path)
        audio = AudioWriteOptions(bits=params.bits, mp3_bitrate=params.mp3_bitrate)
        return [OutputSlot(stem, {"stem": stem, "ext": params.format}, audio) for stem in output_stems(params, card.stems)]

    def model_name(self, params: Params) -> str:
        return resolve_card(params.model, params.model_path).name

    def load(self, params: Params, ctx: Any) -> Any:
        from dataclasses import replace

        from mirctl import models

        card = resolve_card(params.model, params.model_path)
        return models.load(card, replace(ctx, model_path=params.model_path or ctx.model_path))

    def process(self, model: Any, source: AudioSource, params: Params, progress: Callable[[float], None]) -> TaskResult:
        return process(model, source, params, progress)

    def eval_request(self, params: Params) -> EvalRequest | None:
        """``--eval DIR``: DIR/<track>/<stem>.*, DIR/<parent>/<stem>.*, DIR/<stem>.*"""
        if params.eval_dir is None:
            return None
        from mirctl.io.audio import AUDIO_EXTENSIONS

        card = resolve_card(params.model, params.model_path)
        return EvalRequest(Path(params.eval_dir), AUDIO_EXTENSIONS, tuple(output_stems(params, card.stems)),
                           evaluation="separation")


def _extensions() -> tuple[str, ...]:
    from mirctl.io.audio import AUDIO_EXTENSIONS

    return AUDIO_EXTENSIONS


TASK = Separation(name="separate", ref=f"{__name__}:TASK", input_kind="audio", extensions=_extensions(),
                  default_template="{model}/{track}/{stem}.{ext}", template_fields=("stem", "ext"))
