"""The contract between a task module and the generic runner.

Every command that runs over inputs defines one :class:`Task` object (``TASK`` in its
``tasks/<noun>.py``) and registers its dotted name in :data:`mirctl.tasks.REGISTRY`.
The runner only ever talks to that object:

``validate(params)``
    refuse bad options once, before anything is planned (a :class:`~mirctl.errors.UsageError`);
``slots(params)``
    the files each input produces, known before any model loads;
``model_name(params)``
    fills ``{model}`` and the report;
``load(params, ctx)``
    builds the model once per process (None when weight-free);
``process(model, source, params, progress)``
    one input in, a :class:`~mirctl.types.TaskResult` out (``progress(fraction)``
    reports work within the input);
``summarize(records)``
    run-level figures for the summary line.

Optional: ``read(item)`` reads one input (default: by ``input_kind``); a task whose
outputs depend on each input's content (``render --stems``: one file per instrument)
sets ``per_item_slots`` and names them in ``item_slots(params, item)`` at planning time.

Three input *shapes* are planned, skipped, written atomically and reported the same way:

``files``
    one input is one file (``info``, ``separate``, ``transcribe``);
``stem_sets``
    one input is a folder of audio stems, or ``--stems a.wav b.wav`` as one set
    (``mix``, ``eval separate``); ``{track}`` is the folder's name;
``generated``
    no input file: ``-n 20`` plans items ``000 … 019`` (or ``--names``); files given
    instead make each file one item (continuation of a prompt).

Evaluation (``--eval``) is declared, not coded, by a task: :meth:`Task.eval_request`
names the reference path and what to look for; the runner finds and reads the
references (:mod:`mirctl.pipeline.references`) and scores the task's ``estimate``
with the ``mirctl.evaluation`` module the task names.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generic, Literal, TypeVar

if TYPE_CHECKING:
    from mirctl.io.artifacts import AudioWriteOptions
    from mirctl.models import RunContext
    from mirctl.types import TaskResult

Shape = Literal["files", "stem_sets", "generated"]
InputKind = Literal["audio", "midi", "media", "notes"]
P = TypeVar("P")


@dataclass(frozen=True)
class OutputSlot:
    """One file a task writes per input; ``fields`` fill the filename template.

    ``audio`` says how an audio artifact in this slot is encoded (``--bits``,
    ``--mp3-bitrate``); the file format itself is the slot's ``ext``.
    """

    key: str
    fields: dict[str, str]
    audio: AudioWriteOptions | None = None

    @property
    def ext(self) -> str:
        return self.fields["ext"]


@dataclass(frozen=True)
class EvalRequest:
    """What ``--eval REF`` asks the runner to look up for each input.

    ``keys`` None: one reference per input, ``REF`` itself when it is a file, else
    ``REF/<reldir>/<track>.<ext>`` or ``REF/<track>.<ext>``. ``keys`` given (stems):
    ``REF/<track>/<key>.<ext>``, ``REF/<parent>/<key>.<ext>`` or ``REF/<key>.<ext>``.
    """

    ref: Path
    extensions: tuple[str, ...]
    keys: tuple[str, ...] | None = None
    evaluation: str = ""  # module name under mirctl.evaluation
    #: stem sets: the keys are the names of each set's own stems
    keys_from_members: bool = False


@dataclass
class Task(Generic[P]):
    """Base class of every runnable task: override what differs from the defaults.

    ``name`` is the command (``separate``); ``ref`` is ``"module:attribute"`` where this
    object lives, which is how ``--jobs`` workers import it (never guessed).
    """

    name: str
    ref: str
    shape: Shape = "files"
    input_kind: InputKind = "audio"
    extensions: tuple[str, ...] = ()
    default_template: str = "{track}.{ext}"
    template_fields: tuple[str, ...] = ("output", "ext")
    #: outputs depend on the input's content: the runner asks ``item_slots`` per input
    per_item_slots: bool = False

    # --- the contract -------------------------------------------------------------
    def validate(self, params: P) -> None:
        """Raise UsageError for options that cannot work; called once per run."""

    def slots(self, params: P) -> list[OutputSlot]:
        raise NotImplementedError

    def model_name(self, params: P) -> str:
        return "none"

    def load(self, params: P, ctx: RunContext) -> Any:
        return None

    def process(self, model: Any, source: Any, params: P, progress: Callable[[float], None]) -> TaskResult:
        raise NotImplementedError

    def summarize(self, records: list[dict]) -> dict:
        return {}

    def eval_request(self, params: P) -> EvalRequest | None:
        return None

    def batch_file(self, path: Path, records: list[dict], params: P) -> str:
        """The text of the one file a batch writes from all its records
        (``RunOptions.batch_file``; e.g. a homework submission)."""
        raise NotImplementedError(f"{self.name} writes no batch file")

    def plan_ahead(self, params: P, items: list[Any]) -> None:
        """Told, before a run processes them here one by one, the items (``InputItem``)
        this process will run, in order (none under ``--jobs``): a task that computes
        several inputs at once (``generate-midi``'s batches) plans with it. Outputs must
        not depend on it."""

    def read(self, item: Any) -> Any:
        """The source object ``process`` receives for one planned input."""
        from mirctl.pipeline.sources import read_source

        return read_source(self.input_kind, item)

    def item_slots(self, params: P, item: Any) -> list[OutputSlot] | None:
        """With ``per_item_slots``: the outputs of this input (None: ``slots(params)``)."""
        return None

    # --- helpers ------------------------------------------------------------------
    def open(self, params: P, ctx: RunContext | None = None) -> Session:
        """Validate ``params``, load the model and return a :class:`Session` over it."""
        return Session(self, params, ctx)


class Session:
    """A task with its parameters and its loaded model: what the runner holds per
    process, and what :mod:`mirctl.api` objects are (``Separator``, ``Transcriber`` …).
    """

    def __init__(self, task: Task, params: Any, ctx: RunContext | None = None) -> None:
        from mirctl.models import RunContext

        task.validate(params)
        self.task, self.params = task, params
        self.ctx = ctx or RunContext()
        self.model = task.load(params, self.ctx)

    @property
    def model_info(self) -> dict[str, Any]:
        info = getattr(self.model, "info", None)
        return dict(info) if info else {"name": self.task.model_name(self.params)}

    def run(self, source: Any, progress: Callable[[float], None] | None = None) -> TaskResult:
        return self.task.process(self.model, source, self.params, progress or _no_progress)


def audio_seconds(records: list[dict]) -> dict:
    """The summary of a task that writes audio: seconds of audio its finished inputs gave
    (each record's ``duration_s``)."""
    seconds = sum(r["result"].get("duration_s", 0.0) for r in records if r["status"] == "ok")
    return {"audio_s": round(seconds, 2)}


def _no_progress(_fraction: float) -> None:
    pass


def import_ref(ref: str, kind: type, default_attr: str) -> Any:
    """Import ``"module:attribute"`` and check that it is a ``kind``."""
    module, _, attr = ref.partition(":")
    obj = getattr(importlib.import_module(module), attr or default_attr)
    if not isinstance(obj, kind):
        raise TypeError(f"{ref} is not a mirctl {kind.__name__}")
    return obj


def find_task(ref: str) -> Task:
    """Import ``"module:attribute"`` and return the Task it names."""
    return import_ref(ref, Task, "TASK")
