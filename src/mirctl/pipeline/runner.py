"""Run a task over many inputs: plan, load the model once, isolate each input, report.

Exit codes: 0 every input ok or skipped; 1 some input failed; 2 usage or model error
(raised as a MirctlError before or instead of per-file work); 130 interrupted (cli).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from mirctl import evaluation, heap
from mirctl.errors import BackendUnavailable, MirctlError, MirctlWarning, ModelError, UsageError
from mirctl.io.artifacts import AudioWriteOptions, write_artifact
from mirctl.io.atomic import staged
from mirctl.io.audio import level_flags
from mirctl.io.files import check_output_folder, write_error
from mirctl.pipeline.inputs import expand_inputs, expand_stem_sets, generated_items, take_shard
from mirctl.pipeline.plan import COMMON_FIELDS, check_template, plan
from mirctl.pipeline.references import find_references
from mirctl.pipeline.sources import read_reference
from mirctl.pipeline.spec import EvalRequest, InputItem, PlannedItem, RunOptions
from mirctl.pipeline.task import Session, Task
from mirctl.types import AudioSource

#: errors that concern the whole run (the model or the environment), not one file
FATAL = (ModelError, BackendUnavailable, UsageError)


class Reporter(Protocol):
    def start(self, command: str, total: int, todo: int) -> None: ...
    def file_start(self, label: str) -> None: ...
    def file_progress(self, label: str, fraction: float) -> None: ...
    def file_done(self, record: dict[str, Any]) -> None: ...
    def finish(self, summary: RunSummary) -> None: ...


class NullReporter:
    def start(self, command: str, total: int, todo: int) -> None:
        pass

    def file_start(self, label: str) -> None:
        pass

    def file_progress(self, label: str, fraction: float) -> None:
        pass

    def file_done(self, record: dict[str, Any]) -> None:
        pass

    def finish(self, summary: RunSummary) -> None:
        pass


@dataclass
class RunSummary:
    command: str
    records: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    not_run: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False  # Ctrl-C: what finished is reported and kept, the rest is not run

    def count(self, status: str) -> int:
        return sum(1 for r in self.records if r["status"] == status)

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 1 if self.count("failed") or self.not_run else 0

    def as_dict(self) -> dict[str, Any]:
        return {"command": self.command, "ok": self.count("ok"), "skipped": self.count("skipped"),
                "failed": self.count("failed"), "not_run": self.not_run, "interrupted": self.interrupted,
                "seconds": round(self.seconds, 3), **self.extra}


class Interrupted(KeyboardInterrupt):
    """Ctrl-C ended a run; what finished was reported (``summary``), nothing partial is left."""

    def __init__(self, summary: RunSummary) -> None:
        super().__init__("interrupted")
        self.summary = summary


def jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and value != value:  # NaN is not valid JSON
        return None
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return jsonable(value.item())
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return None
    return value


class _Loader:
    """Opens the task's :class:`Session` (loads the model) on first use and keeps it
    for the rest of the process."""

    def __init__(self, task: Task, params: Any, ctx: Any) -> None:
        self.task, self.params, self.ctx = task, params, ctx
        self.session: Session | None = None

    @property
    def loaded(self) -> bool:
        return self.session is not None

    def get(self) -> Session:
        if self.session is None:
            self.session = Session(self.task, self.params, self.ctx)
            heap.end_startup()
        return self.session

    def info(self, fallback: str) -> dict[str, Any]:
        """The loaded model's report entry (the session's), or just its name before loading."""
        return self.session.model_info if self.session is not None else {"name": fallback}


def _base_record(task: Task, item: InputItem, params: Any, model_name: str) -> dict[str, Any]:
    return {"input": item.label, "status": None, "outputs": [], "error": None, "hint": None, "seconds": 0.0,
            "command": task.name, "model": {"name": model_name}, "params": jsonable(params), "result": {},
            "warnings": []}


def _read_references(request: EvalRequest | None, item: InputItem) -> dict[str, Any]:
    if request is None:
        return {}
    return {k: (read_reference(p) if p is not None else None) for k, p in find_references(request, item).items()}


def process_one(task: Task, loader: _Loader, params: Any, planned: PlannedItem, model_name: str,
                progress: Callable[[float], None], debug: bool, request: EvalRequest | None) -> dict[str, Any]:
    """Run one planned input in isolation; returns its report record.

    A FATAL error (model missing, backend absent) is re-raised: it would fail every file.
    """
    record = _base_record(task, planned.item, params, model_name)
    start = time.perf_counter()
    try:
        source = task.read(planned.item)
        if isinstance(source, AudioSource):
            record["input_audio"] = flags = level_flags(source.wav)
            if flags["out_of_range"]:
                record["warnings"].append(f"{planned.item.label}: samples reach {flags['peak_dbfs']:+.1f} dBFS, far "
                                          "outside ±1 (a corrupt or unnormalised float file); outputs may be "
                                          "meaningless")
        source.refs = _read_references(request, planned.item)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MirctlWarning)
            if record.get("input_audio", {}).get("out_of_range"):  # said once above, not by every overflow
                warnings.simplefilter("ignore", RuntimeWarning)
            session = loader.get()
            result = session.run(source, progress)
        record["warnings"] += [str(w.message) for w in caught if issubclass(w.category, MirctlWarning)]
        for w in caught:  # anything else goes where it would have gone
            if not issubclass(w.category, MirctlWarning):
                warnings.showwarning(w.message, w.category, w.filename, w.lineno)
        data = result.data
        if request is not None and request.evaluation:
            data = {**data, "eval": evaluation.module(request.evaluation).score(result.estimate, source.refs)}
        with staged() as stage:
            for key, final in planned.outputs.items():
                audio = planned.audio.get(key) or AudioWriteOptions()  # the plan took it from the key's slot
                try:
                    write_artifact(result.outputs[key], stage.path_for(final), planned.formats[key], audio)
                except OSError as err:
                    raise write_error(final, err) from None
        record.update(status="ok", outputs=[str(p) for p in planned.outputs.values()], result=jsonable(data))
    except FATAL:
        raise
    except MirctlError as err:
        record.update(status="failed", error=err.message, hint=err.hint)
    except Exception as err:  # any bug or library error stays inside this one file
        if debug:
            raise
        record.update(status="failed", error=f"{type(err).__name__}: {err}".splitlines()[0])
    record["seconds"] = round(time.perf_counter() - start, 3)
    record["model"] = loader.info(model_name)
    return record


def _fatal_from(record: dict[str, Any]) -> MirctlError:
    cls = {c.__name__: c for c in FATAL}[record["_fatal"]]
    return cls(record["error"], record.get("hint"))


def expand(task: Task, options: RunOptions, extensions: tuple[str, ...] | None = None) -> list[InputItem]:
    """The run's items for the task's shape (sorted; sharding comes after)."""
    exts = extensions if extensions is not None else task.extensions
    if task.shape == "stem_sets":
        return expand_stem_sets(options.inputs, exts, options.recursive, options.stdin_lines, options.stems)
    if task.shape == "generated":
        if options.inputs:
            if options.count is not None or options.names:
                raise UsageError("give input files or -n/--names, not both",
                                 hint="files are continued one item each; -n N generates N items from nothing")
            return expand_inputs(options.inputs, exts, options.recursive, options.stdin_lines)
        return generated_items(options.count, options.names)
    if options.stems or options.count is not None or options.names:
        raise UsageError(f"{task.name} takes input files, not --stems, -n or --names")
    return expand_inputs(options.inputs, exts, options.recursive, options.stdin_lines)


def _no_inputs_hint(task: Task) -> str:
    if task.shape == "stem_sets":  # (generated tasks never get here: generated_items raises instead)
        return f"e.g. mirctl {task.name} stems_folder/, -r root/, or --stems a.wav b.wav"
    return f"e.g. mirctl {task.name} song.wav, a folder, or '-' for stdin"


# --- the run ---------------------------------------------------------------------------


def run(task: Task, params: Any, options: RunOptions, reporter: Reporter | None = None,
        extensions: tuple[str, ...] | None = None, template: str | None = None) -> RunSummary:
    """Plan and run ``task`` over ``options.inputs``; returns the summary (never exits)."""
    from mirctl.models import RunContext

    reporter = reporter or NullReporter()
    started = time.perf_counter()
    task.validate(params)
    template = options.filename or template or task.default_template
    check_template(template, COMMON_FIELDS + task.template_fields)
    if options.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    out_dir = options.out_dir or Path("mirctl_out") / task.name

    items = expand(task, options, extensions)
    if not items:
        raise UsageError("no inputs given", hint=_no_inputs_hint(task))
    items = take_shard(items, options.shard)
    model_name = task.model_name(params)
    slot_list = task.slots(params)
    if slot_list:
        check_output_folder(out_dir)
    request = task.eval_request(params)
    planned = plan(items, slot_list, template, out_dir, task.name, model_name, options.overwrite,
                   slots_for=(lambda item: task.item_slots(params, item)) if task.per_item_slots else None)

    threads = options.threads
    if threads is None and options.jobs > 1:
        threads = max(1, (os.cpu_count() or 1) // options.jobs)
    ctx = RunContext(device=options.device, threads=threads, model_path=options.model_path)
    summary = RunSummary(task.name)
    todo = [p for p in planned if p.action == "run"]
    report_fh = None
    if options.report:
        options.report.parent.mkdir(parents=True, exist_ok=True)
        report_fh = open(options.report, "w", encoding="utf-8")

    def emit(record: dict[str, Any]) -> None:
        summary.records.append(record)
        if report_fh:
            report_fh.write(json.dumps(record) + "\n")
            report_fh.flush()
        reporter.file_done(record)

    restore_sigint = _sigint_handler()
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(restore_sigint)  # after the report: a second Ctrl-C cannot break that either
        try:
            reporter.start(task.name, len(planned), len(todo))
            stop = False
            for p in planned:  # skipped and refused inputs are reported up front
                if p.action == "run":
                    continue
                record = _base_record(task, p.item, params, model_name)
                if p.action == "skip":
                    record.update(status="skipped", outputs=[str(o) for o in p.outputs.values()])
                else:
                    record.update(status="failed", error=p.error, hint=p.hint)
                    stop = stop or options.fail_fast
                emit(record)
            if stop:
                summary.not_run = len(todo)
            elif options.jobs > 1 and len(todo) > 1:
                task.plan_ahead(params, [])
                _run_parallel(task, params, ctx, todo, model_name, options, emit, summary)
            else:
                task.plan_ahead(params, [p.item for p in todo])
                loader = _Loader(task, params, ctx)
                for n, p in enumerate(todo):
                    reporter.file_start(p.item.label)
                    try:
                        record = process_one(task, loader, params, p, model_name,
                                             lambda f, label=p.item.label: reporter.file_progress(label, f),
                                             options.debug, request)
                    except KeyboardInterrupt:  # its staged outputs are already removed
                        _ignore_further_interrupts()
                        summary.interrupted, summary.not_run = True, len(todo) - n
                        break
                    emit(record)
                    if record["status"] == "failed" and options.fail_fast:
                        summary.not_run = len(todo) - n - 1
                        break
            summary.extra = dict(task.summarize(summary.records))
            if request is not None and request.evaluation:
                summary.extra.update(evaluation.module(request.evaluation).summarize(summary.records))
            if options.table is not None:
                write_table(options.table, summary.records)
            if options.batch_file is not None and not summary.interrupted:  # a submission of part of a batch misleads
                write_text(options.batch_file, task.batch_file(options.batch_file, summary.records, params))
        finally:
            summary.seconds = time.perf_counter() - started
            if report_fh:
                report_fh.close()
        reporter.finish(summary)
    if summary.interrupted:
        raise Interrupted(summary)
    return summary


def _sigint_handler() -> Callable[[], None]:
    """A function that puts back the SIGINT handler in force now (a run may ignore
    further Ctrl-C while it reports an interrupted batch; library callers get theirs back)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGINT)
    return lambda: signal.signal(signal.SIGINT, previous)


def _ignore_further_interrupts() -> None:
    """After a Ctrl-C the run only reports and returns: a second one must not break that."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def write_table(path: Path, records: list[dict[str, Any]]) -> None:
    """One CSV row per input: its name, status and flattened ``result`` (atomically)."""
    import csv
    import io

    rows = [{"input": r["input"], "status": r["status"], **evaluation.flatten(r.get("result") or {})}
            for r in records]
    columns = ["input", "status"] + sorted({k for row in rows for k in row} - {"input", "status"})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(sorted(rows, key=lambda r: r["input"]))  # missing cells and None are written empty
    write_text(path, buf.getvalue())


def write_text(path: Path, text: str) -> None:
    """Write a batch-level text file atomically (its folder made first)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with staged() as stage:
        stage.path_for(path).write_text(text, encoding="utf-8")


def _run_parallel(task: Task, params: Any, ctx: Any, todo: list[PlannedItem], model_name: str,
                  options: RunOptions, emit: Callable[[dict], None], summary: RunSummary) -> None:
    from mirctl.pipeline.workers import run_parallel

    heap.end_startup()  # this process loads no model: start-up ends here
    def died(planned: PlannedItem, error: str, hint: str | None) -> dict[str, Any]:
        record = _base_record(task, planned.item, params, model_name)
        record.update(status="failed", error=error, hint=hint)
        return record

    not_run, interrupted = run_parallel(todo, options.jobs, (task.ref, params, ctx, model_name, options.debug), emit,
                                        _fatal_from, options.fail_fast, died)
    summary.not_run, summary.interrupted = not_run, interrupted
