"""Ctrl-C as a request, not an exception: long work checks it at safe points."""

from __future__ import annotations

import signal
import threading
from typing import Any


class Interrupts:
    """While active, SIGINT counts presses instead of raising ``KeyboardInterrupt`` (so a
    loop can stop where its state is consistent); from the ``raise_at``-th press on it
    raises after all. Only the main thread can own SIGINT; elsewhere this does nothing."""

    def __init__(self, raise_at: int | None = None) -> None:
        self.count = 0
        self.raise_at = raise_at
        self._previous: Any = None

    @property
    def requested(self) -> bool:
        return self.count > 0

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.count += 1
        if self.raise_at is not None and self.count >= self.raise_at:
            raise KeyboardInterrupt

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
