"""mirctl from Python: one object per task that loads its model once.

>>> from mirctl import api                       # cheap: no numpy, torch or model here
>>> separator = api.Separator(model="hpss")      # the model loads in the constructor
>>> stems = separator.separate(wav, sr)          # doctest: +SKIP

Each object is a :class:`mirctl.pipeline.Session` — the very object the runner holds
per process while ``mirctl separate`` or ``mirctl transcribe`` works through a batch —
so a notebook and the command line run the same code with the same options. Options
are the command's (``shifts``, ``onset_threshold``, …) as keyword arguments; ``device``
and ``threads`` say where the model runs.

Audio in: a float array shaped ``(channels, samples)`` or ``(samples,)`` with its rate,
or a path to an audio file. Audio out: float32 ``(channels, samples)`` at the input's
rate.
"""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mirctl.errors import UsageError
from mirctl.pipeline.task import Session

if TYPE_CHECKING:
    import numpy as np

    from mirctl.types import AudioSource, Note

__all__ = ["Classifier", "MidiGenerator", "Mixer", "Separator", "Tagger", "Transcriber"]


def _context(device: str, threads: int | None, model_path: Path | None = None) -> Any:
    from mirctl.models import RunContext

    return RunContext(device=device, threads=threads, model_path=Path(model_path) if model_path else None)


def _params(cls: type, what: str, **options: Any) -> Any:
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise UsageError(f"{what}: unknown option(s) {', '.join(unknown)}", hint="known: " + ", ".join(sorted(known)))
    return cls(**options)


def _audio(audio: Any, sr: int | None) -> AudioSource:
    """A path or an array (+ rate) as the source the tasks take."""
    import numpy as np

    from mirctl.io.audio import read_audio
    from mirctl.types import AudioSource

    if isinstance(audio, (str, Path)):
        wav, rate = read_audio(Path(audio))
        return AudioSource(Path(audio), wav, rate)
    if sr is None:
        raise UsageError("an audio array needs its sample rate: pass sr=…")
    wav = np.asarray(audio, dtype=np.float32)
    if wav.ndim == 1:
        wav = wav[None, :]
    if wav.ndim != 2:
        raise UsageError(f"audio must be shaped (channels, samples) or (samples,), got {wav.shape}")
    return AudioSource(None, np.ascontiguousarray(wav), int(sr))


class Separator(Session):
    """``mirctl separate`` as an object.

    >>> sep = Separator(model="hpss")            # doctest: +SKIP
    >>> sep.stems                                 # doctest: +SKIP
    ('harmonic', 'percussive')
    """

    def __init__(self, model: str = "htdemucs", *, model_path: str | Path | None = None, device: str = "auto",
                 threads: int | None = None, **options: Any) -> None:
        from mirctl.tasks import separation

        params = _params(separation.Params, "Separator", model=model,
                         model_path=Path(model_path) if model_path else None, **options)
        super().__init__(separation.TASK, params, _context(device, threads, params.model_path))

    @property
    def stems(self) -> tuple[str, ...]:
        """The stems :meth:`separate` returns, in order."""
        from mirctl.tasks.separation import output_stems

        return tuple(output_stems(self.params, tuple(self.model.sources)))

    def separate(self, audio: Any, sr: int | None = None) -> dict[str, np.ndarray]:
        """{stem: float32 (channels, samples)} at the input's rate and channel count."""
        result = self.run(_audio(audio, sr))
        return {name: out.wav for name, out in result.outputs.items()}


class Transcriber(Session):
    """``mirctl transcribe`` as an object: notes (basic-pitch) or, with
    ``mode="melody"``, notes segmented from an f0 contour (pYIN or CREPE).

    Options are the command's: ``onset_threshold``, ``frame_threshold``, ``min_note_ms``,
    ``min_freq``, ``max_freq``, ``melodia_trick`` and ``multiple_pitch_bends``,
    ``midi_tempo``, ``melody_model``.
    """

    def __init__(self, model: str = "basic-pitch", *, mode: str = "notes", device: str = "auto",
                 threads: int | None = None, **options: Any) -> None:
        from mirctl.tasks import transcription
        from mirctl.tasks.note_decoding import DecodeParams

        decode_names = {f.name for f in fields(DecodeParams)}
        decode = _params(DecodeParams, "Transcriber", **{k: v for k, v in options.items() if k in decode_names})
        rest = {k: v for k, v in options.items() if k not in decode_names}
        params = _params(transcription.Params, "Transcriber", model=model, mode=mode, decode=decode, **rest)
        super().__init__(transcription.TASK, replace(params, outputs=("midi",)), _context(device, threads))

    def transcribe(self, audio: Any, sr: int | None = None) -> list[Note]:
        """The notes of ``audio`` (a path, or an array with its rate), sorted by onset."""
        notes = self.run(_audio(audio, sr)).estimate
        return sorted(notes, key=lambda n: (n.start_s, n.pitch))

    def to_midi(self, notes: list[Note], path: str | Path) -> Path:
        """Write ``notes`` as the MIDI file ``mirctl transcribe`` would write."""
        from mirctl.io.atomic import atomic_path
        from mirctl.io.midi import write_midi
        from mirctl.tasks.transcription import notes_to_midi

        path = Path(path)
        with atomic_path(path) as tmp:
            write_midi(tmp, notes_to_midi(notes, self.params.midi_tempo, self.params.multiple_pitch_bends))
        return path


class Mixer(Session):
    """``mirctl mix`` as an object: a stem set in, one mastered stereo mix out.

    Options are the command's: ``target_lufs``, ``true_peak``, ``gains`` (``("vocals=-inf",)``),
    ``mute``, ``solo``, ``reference`` (a path), ``sample_rate``.

    >>> mixer = Mixer(preset="karaoke", target_lufs=-16)        # doctest: +SKIP
    >>> wav, sr, report = mixer.mix("separated/htdemucs/song")   # doctest: +SKIP
    """

    def __init__(self, preset: str = "default", **options: Any) -> None:
        from mirctl.tasks import mix

        params = _params(mix.Params, "Mixer", preset=preset, **options)
        super().__init__(mix.TASK, params, _context("cpu", None))

    def mix(self, stems: Any, sr: int | None = None) -> tuple[np.ndarray, int, dict]:
        """``stems``: a folder of stem files, or ``{name: array}`` (each ``(channels,
        samples)`` or ``(samples,)``) with their rate ``sr``. Returns the mix (float32
        ``(2, samples)``), its rate and the report (levels before/after, master, roles)."""
        from mirctl.pipeline.inputs import expand_stem_sets
        from mirctl.pipeline.sources import read_stem_set
        from mirctl.types import StemSetSource

        if isinstance(stems, (str, Path)):
            from mirctl.errors import InputError
            from mirctl.io.audio import AUDIO_EXTENSIONS

            item = expand_stem_sets([str(stems)], AUDIO_EXTENSIONS)[0]
            if item.error:
                raise InputError(item.error, item.hint)
            source = read_stem_set(item)
        else:
            if sr is None:
                raise UsageError("stem arrays need their sample rate: pass sr=…")
            source = StemSetSource("stems", {name: (_audio(wav, sr).wav, int(sr)) for name, wav in stems.items()})
        result = self.run(source)
        out = result.outputs["mix"]
        return out.wav, out.sr, result.data


class Tagger(Session):
    """``mirctl tag`` as an object: a pretrained tagger (``musicnn-mtt`` …) or a
    checkpoint folder of ``mirctl train tag``.

    Options are the command's: ``top_k``, ``threshold`` (``"0.3,piano=0.2"``).

    >>> tagger = Tagger("musicnn-msd", top_k=3)          # doctest: +SKIP
    >>> tagger.tag("song.wav")["top"]                     # doctest: +SKIP
    [['rock', 0.52], ['indie', 0.31], ['alternative', 0.29]]
    """

    def __init__(self, model: str = "musicnn-mtt", *, device: str = "auto", threads: int | None = None,
                 **options: Any) -> None:
        from mirctl.tasks import tagging

        params = _params(tagging.Params, "Tagger", model=str(model), **options)
        super().__init__(tagging.TASK, params, _context(device, threads))

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.model.labels)

    def tag(self, audio: Any, sr: int | None = None) -> dict[str, Any]:
        """The command's JSON ``result`` for ``audio`` (a path, or an array with its
        rate): ``top``, ``scores`` (every tag), ``tags`` (with thresholds), ``patches``…"""
        return self.run(_audio(audio, sr)).data

    def taggram(self, audio: Any, sr: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(taggram, embeddings): tag probabilities and penultimate-layer values per 3 s
        patch, float32 (patches, tags) and (patches, dims)."""
        from mirctl.dsp import to_mono

        source = _audio(audio, sr)
        taggram, embeddings = self.model(to_mono(source.wav), source.sr)
        return taggram.astype("float32"), embeddings.astype("float32")


class Classifier(Session):
    """``mirctl classify`` as an object: the pretrained ``genre`` model or a checkpoint
    folder of ``mirctl train classify``.

    Options are the command's: ``top_k``, ``aggregate`` (``mean``/``vote``),
    ``separate`` (a stem name) with ``separate_model``.

    >>> clf = Classifier("classifiers/singers", aggregate="vote")   # doctest: +SKIP
    >>> clf.classify("song.mp3")["label"]                            # doctest: +SKIP
    'beatles'
    """

    def __init__(self, model: str = "genre", *, device: str = "auto", threads: int | None = None,
                 **options: Any) -> None:
        from mirctl.tasks import classify

        params = _params(classify.Params, "Classifier", model=str(model), **options)
        classify.validate(params)
        super().__init__(classify.TASK, params, _context(device, threads))

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.model.model.labels)

    def classify(self, audio: Any, sr: int | None = None) -> dict[str, Any]:
        """The command's JSON ``result`` for ``audio`` (a path, or an array with its
        rate): ``label``, ``top``, ``ranks``, ``probabilities`` (every label), ``patches``…"""
        return self.run(_audio(audio, sr)).data


class MidiGenerator(Session):
    """``mirctl generate-midi`` as an object: the shipped ``pop909-remi`` or a checkpoint
    folder of ``mirctl train generate-midi``.

    Options are the command's: ``bars``, ``prompt_bars``, ``temperature``, ``top_k``,
    ``top_p``, ``seed``, ``tempo``, ``max_tokens``.

    >>> gen = MidiGenerator(bars=8, seed=1)                      # doctest: +SKIP
    >>> midi, facts = gen.generate("piece")                      # a mido.MidiFile  # doctest: +SKIP
    >>> midi.save("piece.mid")                                   # doctest: +SKIP
    """

    def __init__(self, model: str = "pop909-remi", *, device: str = "auto", threads: int | None = None,
                 **options: Any) -> None:
        from mirctl.tasks import midi_generation

        params = _params(midi_generation.Params, "MidiGenerator", model=str(model), **options)
        midi_generation.validate(params)
        super().__init__(midi_generation.TASK, params, _context(device, threads))

    def generate(self, name: str = "000") -> tuple[Any, dict[str, Any]]:
        """A new piece (its seed derives from ``seed`` and ``name``, as the command's item
        ``name``): the ``mido.MidiFile`` and the command's JSON ``result``."""
        from mirctl.types import GeneratedSource

        self.task.plan_ahead(self.params, [])  # one piece: no batch planned
        result = self.run(GeneratedSource(name, name, 0))
        return result.outputs["midi"].midi, result.data

    def continue_midi(self, prompt: str | Path) -> tuple[Any, dict[str, Any]]:
        """The prompt file continued by ``bars`` bars (its first ``prompt_bars`` kept)."""
        from mirctl.types import MidiSource

        result = self.run(MidiSource(Path(prompt), None))
        return result.outputs["midi"].midi, result.data
