"""Atomic writes: each output goes to a temporary file beside its final path and is
renamed into place only when everything for that input succeeded.

An exception or Ctrl-C anywhere inside the block removes every temporary file and
leaves existing outputs untouched.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

TMP_MARK = ".mirctl-tmp-"


def temp_path_for(final: Path) -> Path:
    """A unique hidden temporary path in ``final``'s folder, keeping its suffix."""
    token = f"{os.getpid()}-{os.urandom(4).hex()}"
    return final.with_name(f".{final.stem}{TMP_MARK}{token}{final.suffix}")


class Staging:
    """Collects (temporary, final) pairs; see :func:`staged`."""

    def __init__(self) -> None:
        self.pairs: list[tuple[Path, Path]] = []

    def path_for(self, final: Path) -> Path:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path_for(final)
        self.pairs.append((tmp, final))
        return tmp

    def discard(self) -> None:
        for tmp, _ in self.pairs:
            try:
                tmp.unlink()
            except FileNotFoundError:
                pass

    def commit(self) -> None:
        """Rename every temporary file into place, all or none: outputs that existed
        (``--overwrite``) are first moved aside, and put back if any rename fails."""
        for tmp, final in self.pairs:
            if not tmp.exists():
                raise FileNotFoundError(f"temporary output for {final} was never written")
        with _critical():  # a stop request waits until every output is renamed
            aside: list[tuple[Path, Path]] = []  # (final, where its old version waits)
            placed: list[Path] = []
            try:
                for _, final in self.pairs:
                    if final.exists():
                        old = temp_path_for(final)
                        os.replace(final, old)
                        aside.append((final, old))
                for tmp, final in self.pairs:
                    os.replace(tmp, final)
                    placed.append(final)
            except BaseException:
                for final in placed:
                    try:
                        final.unlink()
                    except OSError:
                        pass
                for final, old in aside:
                    os.replace(old, final)
                raise
            for _, old in aside:
                try:
                    old.unlink()
                except OSError:
                    pass


# --- a stop request (a --jobs worker's SIGTERM) never splits a commit ----------------------
_state = {"committing": False, "deferred": False, "commits": 0}
_deferred_stop: list = []


def committing() -> bool:
    """True while :meth:`Staging.commit` renames an input's outputs into place."""
    return _state["committing"]


def commits() -> int:
    """How many commits this process has finished (a worker compares it before and
    after an input: outputs in place whose record is not yet sent must not be stopped)."""
    return _state["commits"]


def defer_stop() -> None:
    """Called by a signal handler during a commit: stop right after it instead."""
    _state["deferred"] = True


def on_deferred_stop(callback: object) -> None:
    """What to call once a commit that deferred a stop has finished."""
    _deferred_stop[:] = [callback]


@contextmanager
def _critical() -> Iterator[None]:
    _state["committing"] = True
    try:
        yield
    finally:
        _state["committing"] = False
        _state["commits"] += 1
    if _state["deferred"]:
        _state["deferred"] = False
        for callback in _deferred_stop:
            callback()  # type: ignore[operator]


@contextmanager
def staged() -> Iterator[Staging]:
    """Write several outputs all-or-nothing.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> with staged() as s:
    ...     _ = s.path_for(d / "a.txt").write_text("hi")
    >>> sorted(p.name for p in d.iterdir())
    ['a.txt']
    """
    staging = Staging()
    try:
        yield staging
    except BaseException:
        staging.discard()
        raise
    try:
        staging.commit()
    except BaseException:
        staging.discard()
        raise


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path; on success it is renamed to ``final``."""
    with staged() as s:
        yield s.path_for(Path(final))
