"""``mirctl eval``: score prediction files against reference files, with the same
:mod:`mirctl.evaluation` code ``--eval`` uses.

- ``eval separate``: each input is a folder of estimated stems (what ``mirctl separate``
  writes: ``OUT/htdemucs/<track>/``); references ``REF/<track>/<stem>.wav``,
  ``REF/<parent>/<stem>.wav`` or ``REF/<stem>.wav``.
- ``eval transcribe``: each input is a ``.mid``/``.csv`` of estimated notes; the
  reference is ``REF`` itself (a file) or ``REF/<track>.mid|.midi|.csv``.

Neither writes a file per input: the scores go to the report (``--json``), the screen
table and ``--csv FILE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from mirctl.errors import UsageError
from mirctl.io.audio import AUDIO_EXTENSIONS
from mirctl.io.midi import MIDI_EXTENSIONS
from mirctl.io.notes import NOTE_EXTENSIONS
from mirctl.pipeline.task import EvalRequest, OutputSlot, Task
from mirctl.types import NotesSource, StemSetSource, TaskResult


@dataclass(frozen=True)
class Params:
    ref: Path | None = None


def _check_ref(params: Params) -> None:
    if params.ref is None:
        raise UsageError("--ref is required: the reference file or folder to score against")
    if not Path(params.ref).exists():
        raise UsageError(f"--ref {params.ref} does not exist")


class SeparationScoring(Task[Params]):
    def validate(self, params: Params) -> None:
        _check_ref(params)

    def slots(self, params: Params) -> list[OutputSlot]:
        return []

    def process(self, model: Any, source: StemSetSource, params: Params, progress: Callable[[float], None]) -> TaskResult:
        from mirctl.dsp import resample

        sr = next(iter(source.stems.values()))[1]
        stems = {name: resample(wav, rate, sr) for name, (wav, rate) in source.stems.items()}
        return TaskResult(data={"stems": sorted(stems), "sample_rate": sr}, estimate=(stems, sr))

    def eval_request(self, params: Params) -> EvalRequest:
        return EvalRequest(Path(params.ref), AUDIO_EXTENSIONS, evaluation="separation", keys_from_members=True)


class TranscriptionScoring(Task[Params]):
    def validate(self, params: Params) -> None:
        _check_ref(params)

    def slots(self, params: Params) -> list[OutputSlot]:
        return []

    def process(self, model: Any, source: NotesSource, params: Params, progress: Callable[[float], None]) -> TaskResult:
        return TaskResult(data={"notes": len(source.notes)}, estimate=source.notes)

    def eval_request(self, params: Params) -> EvalRequest:
        return EvalRequest(Path(params.ref), NOTE_EXTENSIONS, evaluation="transcription")


SEPARATION = SeparationScoring(name="eval separate", ref=f"{__name__}:SEPARATION", shape="stem_sets",
                               extensions=AUDIO_EXTENSIONS, default_template="{track}", template_fields=())
TRANSCRIPTION = TranscriptionScoring(name="eval transcribe", ref=f"{__name__}:TRANSCRIPTION", input_kind="notes",
                                     extensions=NOTE_EXTENSIONS, default_template="{track}", template_fields=())


class SymbolicScoring(Task[Params]):
    """``mirctl eval midi``: MusDr's H1, H4 and GS of each MIDI file (no reference: the
    metrics describe the piece itself). Each file is prepared and tokenized as
    ``generate-midi``'s training data is (:mod:`mirctl.backends.remi`: one piano stream,
    4/4, 16 positions per bar) and scored on those tokens."""

    def slots(self, params: Params) -> list[OutputSlot]:
        return []

    def load(self, params: Params, ctx: Any) -> Any:
        from mirctl.backends import remi

        return remi.make_tokenizer()

    def read(self, item: Any) -> Any:
        from mirctl.types import MidiSource

        return MidiSource(item.path, None)  # read by symusic in process()

    def process(self, model: Any, source: Any, params: Params, progress: Callable[[float], None]) -> TaskResult:
        from mirctl.backends import remi
        from mirctl.evaluation.symbolic import bars_from_tokens, piece_metrics

        ids = remi.encode(model, remi.prepared_from_file(Path(source.path)))
        bars = bars_from_tokens(model[i] for i in ids)
        return TaskResult(data=piece_metrics(bars, remi.POSITIONS_PER_BAR))

    def summarize(self, records: list[dict]) -> dict:
        from mirctl.evaluation.symbolic import summarize

        return summarize(records)

    def batch_file(self, path: Path, records: list[dict], params: Params) -> str:
        from mirctl.evaluation.symbolic import homework_csv

        return homework_csv([(Path(r["input"]).stem, r["result"]) for r in records if r["status"] == "ok"])


SYMBOLIC = SymbolicScoring(name="eval midi", ref=f"{__name__}:SYMBOLIC", input_kind="midi",
                           extensions=MIDI_EXTENSIONS, default_template="{track}", template_fields=())
