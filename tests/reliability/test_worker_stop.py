"""A --jobs worker asked to stop (SIGTERM) after an input's outputs are committed but
before its record is sent: it sends the record, then stops — an output on disk always
has its record (a Ctrl-C test once caught an input written but never reported)."""

from __future__ import annotations

import signal

import numpy as np

from conftest import write_wav


class FakeConn:
    """The worker's pipe: hands out one input, and is interrupted as the record goes out."""

    def __init__(self, planned, signum: int | None):
        self.inbox = [planned, None]
        self.sent: list[dict] = []
        self.signum = signum

    def recv(self):
        return self.inbox.pop(0)

    def send(self, record):
        if self.signum is not None:
            import os

            os.kill(os.getpid(), self.signum)  # the stop arrives now: outputs renamed, record not yet sent
        self.sent.append(record)

    def close(self):
        pass


def _planned(tmp_path):
    from mirctl.pipeline.inputs import expand_inputs
    from mirctl.pipeline.plan import plan
    from mirctl.tasks import info

    song = write_wav(tmp_path / "in" / "song.wav", np.zeros((1, 4410), np.float32) + 0.1)
    params = info.Params(plot=True)
    items = expand_inputs([str(song)], info.TASK.extensions)
    return plan(items, info.TASK.slots(params), "{track}.{ext}", tmp_path / "out", "info", "none", False)[0], params


def test_a_stop_after_the_commit_still_sends_the_record(tmp_path):
    from mirctl.models import RunContext
    from mirctl.pipeline import workers
    from mirctl.tasks import info

    planned, params = _planned(tmp_path)
    conn = FakeConn(planned, signal.SIGTERM)
    old = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        workers._worker_main(conn, info.TASK.ref, params, RunContext(), "none", False)
    finally:
        signal.signal(signal.SIGTERM, old[0])
        signal.signal(signal.SIGINT, old[1])
    assert [r["status"] for r in conn.sent] == ["ok"]
    assert (tmp_path / "out" / "song.png").is_file()
    assert conn.inbox == [None]  # it stopped after the record instead of asking for more work


def test_a_stop_before_any_commit_stops_at_once(tmp_path):
    from mirctl.io import atomic
    from mirctl.models import RunContext
    from mirctl.pipeline import workers
    from mirctl.tasks import info

    planned, params = _planned(tmp_path)

    class EarlyStop(FakeConn):
        def recv(self):
            item = super().recv()
            if item is not None:
                import os

                os.kill(os.getpid(), signal.SIGTERM)  # before the input is processed
            return item

    conn = EarlyStop(planned, None)
    old = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    before = atomic.commits()
    try:
        workers._worker_main(conn, info.TASK.ref, params, RunContext(), "none", False)
    finally:
        signal.signal(signal.SIGTERM, old[0])
        signal.signal(signal.SIGINT, old[1])
    assert conn.sent == [] and atomic.commits() == before
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
