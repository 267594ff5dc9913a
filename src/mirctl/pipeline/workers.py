"""``--jobs N``: worker processes that each load the model once, and a clean stop.

Each worker is a spawned process with its own pipe to the parent (no shared queue, no
lock a killed process could hold, no feeder thread): the parent hands it one planned
input at a time and reads back its report record.

Ctrl-C (SIGINT to the whole process group) is the parent's to handle; workers ignore
it. The first one stops handing out work and asks the busy workers to stop (SIGTERM):
a worker stops at its next Python instruction, and its staged temporary files are
removed as the stop unwinds — unless the input's outputs are being committed or already
are: then it finishes the renames, sends that input's record, and stops after it (an
output on disk always has its record). A
worker that has not stopped after ``GRACE_S`` (stuck in native code) is killed and the
parent removes its temporary files (their names carry its pid). Records that arrive
meanwhile are still reported. A second Ctrl-C skips the grace period. Every worker is
joined before :func:`run_parallel` returns: nothing is left behind.
"""

from __future__ import annotations

import os
import signal
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable

from mirctl.interrupts import Interrupts
from mirctl.io import atomic
from mirctl.pipeline.spec import PlannedItem

GRACE_S = 1.5  # how long a worker may take to stop after SIGTERM before it is killed
POLL_S = 0.1  # how often the parent looks at the interrupt flag while it waits


class Stop(BaseException):
    """Raised inside a worker by SIGTERM: not an input's failure, so no record is made."""


# --- inside a worker ---------------------------------------------------------------------


def _worker_main(conn: Any, task_ref: str, params: Any, ctx: Any, model_name: str, debug: bool) -> None:
    from mirctl.pipeline import runner
    from mirctl.pipeline.task import find_task

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    state = {"before": atomic.commits(), "stop": False}

    def stop(signum: int, frame: Any) -> None:
        if atomic.committing():
            atomic.defer_stop()  # finish renaming this input's outputs first
        elif atomic.commits() > state["before"]:
            state["stop"] = True  # its outputs are in place: send its record, then stop
        else:
            raise Stop

    signal.signal(signal.SIGTERM, stop)
    atomic.on_deferred_stop(lambda: state.update(stop=True))  # the commit finished: report it, then stop
    try:
        task = find_task(task_ref)
        loader = runner._Loader(task, params, ctx)
        request = task.eval_request(params)
        while not state["stop"]:
            planned = conn.recv()
            if planned is None:
                break
            state["before"] = atomic.commits()
            try:
                record = runner.process_one(task, loader, params, planned, model_name, lambda _f: None, debug,
                                            request)
            except runner.FATAL as err:
                record = {"_fatal": type(err).__name__, "error": err.message, "hint": err.hint}
            conn.send(record)
            state["before"] = atomic.commits()
    except (Stop, EOFError, BrokenPipeError, KeyboardInterrupt):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


# --- in the parent -------------------------------------------------------------------------


class _Worker:
    def __init__(self, ctx_mp: Any, args: tuple) -> None:
        self.conn, child = ctx_mp.Pipe()
        self.process = ctx_mp.Process(target=_worker_main, args=(child, *args), daemon=True)
        self.process.start()
        child.close()
        self.item: PlannedItem | None = None

    def give(self, item: PlannedItem | None) -> None:
        self.item = item
        try:
            self.conn.send(item)
        except (BrokenPipeError, OSError):
            pass  # it died; the parent sees EOF on its pipe next


def remove_temp_files(item: PlannedItem, pid: int | None) -> None:
    """Remove the staged temporary outputs a killed worker left for ``item``."""
    for final in item.outputs.values():
        pattern = f".{final.stem}{atomic.TMP_MARK}{pid if pid is not None else ''}*{final.suffix}"
        for tmp in Path(final).parent.glob(pattern):
            try:
                tmp.unlink()
            except OSError:
                pass


def run_parallel(todo: list[PlannedItem], jobs: int, worker_args: tuple, emit: Callable[[dict], None],
                 on_fatal: Callable[[dict], BaseException], fail_fast: bool,
                 died: Callable[[PlannedItem, str, str], dict]) -> tuple[int, bool]:
    """Process ``todo`` in ``jobs`` workers; returns (inputs not run, interrupted).
    ``died(item, error, hint)`` makes the record of an input whose worker died."""
    import multiprocessing
    from multiprocessing.connection import wait

    mp = multiprocessing.get_context("spawn")
    pending = deque(todo)
    workers: list[_Worker] = []
    fatal: BaseException | None = None
    stopped_early = False
    with Interrupts() as interrupts:
        try:
            for _ in range(min(jobs, len(todo))):
                if interrupts.count:
                    break
                w = _Worker(mp, worker_args)
                workers.append(w)
                w.give(pending.popleft())
            while any(w.item is not None for w in workers) and not interrupts.count and fatal is None:
                busy = {w.conn: w for w in workers if w.item is not None}
                for conn in wait(list(busy), timeout=POLL_S):
                    w = busy[conn]
                    record = _receive(w, died)
                    if "_fatal" in record:
                        fatal = on_fatal(record)
                        break
                    emit(record)
                    if record["status"] == "failed" and fail_fast:
                        stopped_early = True
                    nxt = pending.popleft() if pending and not stopped_early and not interrupts.count else None
                    if nxt is not None and not w.process.is_alive():  # it died under its input: replace it
                        w = _Worker(mp, worker_args)
                        workers.append(w)
                    w.give(nxt)
        finally:
            _shut_down(workers, interrupts, emit)
            _stop_resource_tracker()
    if fatal is not None:
        raise fatal
    not_run = len(pending) + sum(1 for w in workers if w.item is not None)
    return not_run, bool(interrupts.count)


def _receive(w: _Worker, died: Callable[[PlannedItem, str, str], dict]) -> dict[str, Any]:
    """The record for ``w``'s current input; a worker that died instead gets it failed."""
    item = w.item
    try:
        record = w.conn.recv()
    except (EOFError, OSError):
        w.process.join(timeout=1)
        code = w.process.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        remove_temp_files(item, w.process.pid)
        w.item = None
        return died(item, f"the worker process processing it ended unexpectedly ({how})",
                    "out of memory is the usual cause: try fewer --jobs")
    w.item = None
    return record


def _shut_down(workers: list[_Worker], interrupts: Interrupts, emit: Callable[[dict], None]) -> None:
    """Stop every worker, report what finished meanwhile, and join them all."""
    busy = [w for w in workers if w.item is not None]
    for w in workers:
        if w.item is None:
            w.give(None)  # idle: exit after its loop
    for w in busy:
        if w.process.is_alive():
            try:
                os.kill(w.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + GRACE_S
    while busy and time.monotonic() < deadline and interrupts.count < 2:
        for w in list(busy):
            if w.conn.poll(0):
                try:
                    record = w.conn.recv()
                except (EOFError, OSError):
                    busy.remove(w)
                    continue
                if "_fatal" not in record:
                    emit(record)  # it finished before it saw the stop: its outputs are complete
                    w.item = None
                busy.remove(w)
            elif not w.process.is_alive():
                busy.remove(w)
        time.sleep(0.02)
    for w in workers:
        w.process.join(timeout=0 if interrupts.count >= 2 else max(0.0, deadline - time.monotonic()))
        if w.process.is_alive():
            w.process.kill()
            w.process.join()
        if w.item is not None:
            remove_temp_files(w.item, w.process.pid)
        w.conn.close()


def _stop_resource_tracker() -> None:
    """Spawned workers come with multiprocessing's resource tracker process; it would
    linger until this process exits. Stop it now that every worker is joined (the next
    batch starts a new one)."""
    from multiprocessing import resource_tracker

    stop = getattr(getattr(resource_tracker, "_resource_tracker", None), "_stop", None)
    if stop is not None:
        try:
            stop()
        except Exception:  # a private API: never let it fail a run
            pass
