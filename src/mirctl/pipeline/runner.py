"""Run a task over many inputs: plan, load the model once, isolate each file, report.

Exit codes: 0 every input ok or skipped; 1 some input failed; 2 usage or model error
(raised as a MirctlError before or instead of per-file work); 130 interrupted (cli).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from mirctl import heap
from mirctl.errors import BackendUnavailable, MirctlError, ModelError, UsageError
from mirctl.io.artifacts import AudioWriteOptions, write_artifact
from mirctl.io.atomic import staged
from mirctl.pipeline.inputs import expand_inputs, take_shard
from mirctl.pipeline.plan import COMMON_FIELDS, check_template, plan
from mirctl.pipeline.sources import read_reference, read_source
from mirctl.pipeline.spec import InputItem, PlannedItem, RunOptions, TaskSpec

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

    def count(self, status: str) -> int:
        return sum(1 for r in self.records if r["status"] == status)

    @property
    def exit_code(self) -> int:
        return 1 if self.count("failed") or self.not_run else 0

    def as_dict(self) -> dict[str, Any]:
        return {"command": self.command, "ok": self.count("ok"), "skipped": self.count("skipped"),
                "failed": self.count("failed"), "not_run": self.not_run, "seconds": round(self.seconds, 3),
                **self.extra}


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
    """Loads the model on first use and keeps it for the rest of the process."""

    def __init__(self, spec: TaskSpec, params: Any, ctx: Any) -> None:
        self.spec, self.params, self.ctx = spec, params, ctx
        self.model: Any = None
        self.loaded = False

    def get(self) -> Any:
        if not self.loaded:
            self.model = self.spec.load(self.params, self.ctx)
            self.loaded = True
            heap.end_startup()
        return self.model

    def info(self, fallback: str) -> dict[str, Any]:
        info = getattr(self.model, "info", None) if self.loaded else None
        return dict(info) if info else {"name": fallback}


def _base_record(spec: TaskSpec, item: InputItem, params: Any, model_name: str) -> dict[str, Any]:
    return {"input": item.label, "status": None, "outputs": [], "error": None, "hint": None, "seconds": 0.0,
            "command": spec.command, "model": {"name": model_name}, "params": jsonable(params), "result": {}}


def process_one(spec: TaskSpec, loader: _Loader, params: Any, planned: PlannedItem, model_name: str,
                audio: AudioWriteOptions, progress: Callable[[float], None], debug: bool = False) -> dict[str, Any]:
    """Run one planned input in isolation; returns its report record.

    A FATAL error (model missing, backend absent) is re-raised: it would fail every file.
    """
    record = _base_record(spec, planned.item, params, model_name)
    start = time.perf_counter()
    try:
        source = read_source(spec.input_kind, planned.item.path)
        if spec.references is not None:
            source.refs = {k: (read_reference(p) if p is not None else None)
                           for k, p in spec.references(params, planned.item).items()}
        model = loader.get()
        result = spec.process(model, source, params, progress)
        with staged() as stage:
            for key, final in planned.outputs.items():
                write_artifact(result.outputs[key], stage.path_for(final), planned.formats[key], audio)
        record.update(status="ok", outputs=[str(p) for p in planned.outputs.values()], result=jsonable(result.data))
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


# --- worker processes (--jobs N) ----------------------------------------------------

_WORKER: dict[str, Any] = {}


def _worker_init(spec_module: str, params: Any, ctx: Any, audio: AudioWriteOptions, model_name: str,
                 debug: bool) -> None:
    import importlib
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and cancels the pool
    spec = importlib.import_module(spec_module).SPEC
    _WORKER.update(spec=spec, params=params, loader=_Loader(spec, params, ctx), audio=audio,
                   model_name=model_name, debug=debug)


def _worker_run(planned: PlannedItem) -> dict[str, Any]:
    w = _WORKER
    try:
        return process_one(w["spec"], w["loader"], w["params"], planned, w["model_name"], w["audio"],
                           lambda _f: None, w["debug"])
    except FATAL as err:
        return {"_fatal": type(err).__name__, "error": err.message, "hint": err.hint}


def spec_module(spec: TaskSpec) -> str:
    """The module defining ``spec`` as ``SPEC`` (workers import it by name)."""
    return spec.slots.__module__


def _fatal_from(record: dict[str, Any]) -> MirctlError:
    cls = {c.__name__: c for c in FATAL}[record["_fatal"]]
    return cls(record["error"], record.get("hint"))


# --- the run ---------------------------------------------------------------------------


def run(spec: TaskSpec, params: Any, options: RunOptions, reporter: Reporter | None = None,
        audio: AudioWriteOptions | None = None, extensions: tuple[str, ...] = (),
        template: str | None = None) -> RunSummary:
    """Plan and run ``spec`` over ``options.inputs``; returns the summary (never exits)."""
    from mirctl.models import RunContext

    reporter = reporter or NullReporter()
    audio = audio or AudioWriteOptions()
    started = time.perf_counter()
    template = options.filename or template or spec.default_template
    check_template(template, COMMON_FIELDS + spec.template_fields)
    if options.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    out_dir = options.out_dir or Path("mirctl_out") / spec.command

    items = expand_inputs(options.inputs, extensions, options.recursive, options.stdin_lines)
    if not items:
        raise UsageError("no input files given", hint=f"e.g. mirctl {spec.command} song.wav, a folder, or '-' for stdin")
    items = take_shard(items, options.shard)
    model_name = spec.model_name(params)
    slots = spec.slots(params)
    planned = plan(items, slots, template, out_dir, spec.command, model_name, options.overwrite)

    threads = options.threads
    if threads is None and options.jobs > 1:
        threads = max(1, (os.cpu_count() or 1) // options.jobs)
    ctx = RunContext(device=options.device, threads=threads, model_path=options.model_path)
    summary = RunSummary(spec.command)
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

    try:
        reporter.start(spec.command, len(planned), len(todo))
        stop = False
        for p in planned:  # skipped and refused inputs are reported up front
            if p.action == "run":
                continue
            record = _base_record(spec, p.item, params, model_name)
            if p.action == "skip":
                record.update(status="skipped", outputs=[str(o) for o in p.outputs.values()])
            else:
                record.update(status="failed", error=p.error, hint=p.hint)
                stop = stop or options.fail_fast
            emit(record)
        if stop:
            summary.not_run = len(todo)
        elif options.jobs > 1 and len(todo) > 1:
            _run_parallel(spec, params, ctx, todo, model_name, audio, options, emit, summary)
        else:
            loader = _Loader(spec, params, ctx)
            for n, p in enumerate(todo):
                reporter.file_start(p.item.label)
                record = process_one(spec, loader, params, p, model_name, audio,
                                     lambda f, label=p.item.label: reporter.file_progress(label, f), options.debug)
                emit(record)
                if record["status"] == "failed" and options.fail_fast:
                    summary.not_run = len(todo) - n - 1
                    break
        if spec.summarize:
            summary.extra = spec.summarize(summary.records)
    finally:
        summary.seconds = time.perf_counter() - started
        if report_fh:
            report_fh.close()
    reporter.finish(summary)
    return summary


def _run_parallel(spec: TaskSpec, params: Any, ctx: Any, todo: list[PlannedItem], model_name: str,
                  audio: AudioWriteOptions, options: RunOptions, emit: Callable[[dict], None],
                  summary: RunSummary) -> None:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    heap.end_startup()  # this process loads no model: start-up ends here

    pool = ProcessPoolExecutor(max_workers=min(options.jobs, len(todo)), mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_init,
                               initargs=(spec_module(spec), params, ctx, audio, model_name, options.debug))
    pending = {pool.submit(_worker_run, p) for p in todo}
    try:
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                record = fut.result()
                if "_fatal" in record:
                    raise _fatal_from(record)
                emit(record)
                if record["status"] == "failed" and options.fail_fast:
                    summary.not_run = len(pending)
                    for f in pending:
                        f.cancel()
                    pending = set()
                    break
    finally:
        for f in pending:
            f.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
