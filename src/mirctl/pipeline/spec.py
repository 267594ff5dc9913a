"""Plain data the runner passes around: run options, input items, planned items.

The task contract itself (:class:`Task`, :class:`OutputSlot`) is in
:mod:`mirctl.pipeline.task`; both are re-exported here for old imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mirctl.pipeline.task import EvalRequest, InputKind, OutputSlot, Shape, Task

__all__ = ["EvalRequest", "InputItem", "InputKind", "OutputSlot", "PlannedItem", "RunOptions", "Shape", "Task"]


@dataclass(frozen=True)
class RunOptions:
    """Options every subcommand shares (parsed in ``cli``, consumed here)."""

    inputs: tuple[str, ...]
    out_dir: Path | None = None
    filename: str | None = None
    overwrite: bool = False
    recursive: bool = False
    fail_fast: bool = False
    jobs: int = 1
    shard: str | None = None
    device: str = "auto"
    threads: int | None = None
    model_path: Path | None = None
    report: Path | None = None
    debug: bool = False
    stdin_lines: tuple[str, ...] | None = field(default=None, repr=False)
    #: stem sets: these files form one set (``--stems a.wav b.wav``)
    stems: tuple[str, ...] = ()
    #: generated items: how many (``-n``) or their names (``--names``)
    count: int | None = None
    names: tuple[str, ...] = ()
    #: one CSV row per input with its flattened result (``--csv``; eval commands)
    table: Path | None = None
    #: one file for the whole batch that the task writes from the records
    #: (:meth:`~mirctl.pipeline.task.Task.batch_file`; ``classify --submission``)
    batch_file: Path | None = None


ItemKind = Literal["file", "stems", "generated"]


@dataclass
class InputItem:
    """One input after expansion: a file, a folder of stems or a generated item's name.

    ``base`` is the folder it was found under (for ``{reldir}``); ``members`` the stem
    files of a stem set; ``error``/``hint`` mark an input that cannot be planned.
    """

    path: Path
    base: Path | None = None
    error: str | None = None
    hint: str | None = None
    kind: ItemKind = "file"
    members: tuple[Path, ...] = ()
    index: int | None = None

    @property
    def label(self) -> str:
        return self.path.name if self.kind == "generated" else str(self.path)

    @property
    def track(self) -> str:
        if self.kind == "file":
            return self.path.stem if self.path.suffix else self.path.name
        return self.path.name


@dataclass
class PlannedItem:
    item: InputItem
    outputs: dict[str, Path]  # slot key -> final path
    action: Literal["run", "skip", "fail"] = "run"
    error: str | None = None
    hint: str | None = None
    formats: dict[str, str] = field(default_factory=dict)  # slot key -> file format (the slot's ext)
    audio: dict[str, object] = field(default_factory=dict)  # slot key -> AudioWriteOptions of its slot
