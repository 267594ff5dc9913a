"""The contract between a task module and the generic runner."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

InputKind = Literal["audio", "midi", "media"]


@dataclass(frozen=True)
class OutputSlot:
    """One file a task writes per input; ``fields`` fill the filename template."""

    key: str
    fields: dict[str, str]

    @property
    def ext(self) -> str:
        return self.fields["ext"]


@dataclass(frozen=True)
class TaskSpec:
    """What the runner needs from a task (each ``tasks/<noun>.py`` defines ``SPEC``).

    - ``slots(params)``: the outputs each input produces, known before any model loads;
    - ``model_name(params)``: fills ``{model}`` and the report;
    - ``load(params, ctx)``: builds the model once per process (None when weight-free);
    - ``process(model, source, params, progress)``: one input -> ``TaskResult``;
      ``progress(fraction)`` reports work within the file;
    - ``references(params, item)``: reference files for ``--eval`` (read by the runner
      into ``source.refs``; a missing one is None);
    - ``summarize(records)``: run-level figures for the summary line.
    """

    command: str
    input_kind: InputKind
    default_template: str
    template_fields: tuple[str, ...]
    slots: Callable[[Any], list[OutputSlot]]
    model_name: Callable[[Any], str]
    load: Callable[[Any, Any], Any]
    process: Callable[..., Any]
    summarize: Callable[[list[dict]], dict] | None = None
    references: Callable[[Any, "InputItem"], dict[str, Path | None]] | None = None


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


@dataclass
class InputItem:
    """One input after expansion: its path, the folder it was found under, or an error."""

    path: Path
    base: Path | None = None
    error: str | None = None
    hint: str | None = None

    @property
    def label(self) -> str:
        return str(self.path)


@dataclass
class PlannedItem:
    item: InputItem
    outputs: dict[str, Path]  # slot key -> final path
    action: Literal["run", "skip", "fail"] = "run"
    error: str | None = None
    hint: str | None = None
    formats: dict[str, str] = field(default_factory=dict)  # slot key -> file format (the slot's ext)
