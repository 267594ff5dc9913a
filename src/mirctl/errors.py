"""The one exception hierarchy of mirctl.

Every error a user can cause or fix carries a one-line ``message`` (what went wrong and
with which file) and an optional ``hint`` (how to fix it). Library code raises these;
only ``mirctl.cli.app`` decides what reaches the terminal. This module imports nothing
from mirctl so every layer may use it.
"""

from __future__ import annotations


class MirctlError(Exception):
    """Base class: ``message`` says what is wrong, ``hint`` how to fix it."""

    #: process exit code when this error ends a whole run (not a single file)
    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(MirctlError):
    """Bad command-line usage: an unknown template field, a malformed shard, …"""

    exit_code = 2


class InputError(MirctlError):
    """An input file is missing, unreadable, empty or holds invalid samples."""


class ModelError(MirctlError):
    """Unknown model card, checksum mismatch, weights absent and not downloadable."""

    exit_code = 2


class BackendUnavailable(MirctlError):
    """An optional dependency is not installed; the hint names the pip extra."""

    exit_code = 2


class OutputError(MirctlError):
    """An output exists, is not writable, escapes the output folder or collides."""


class ValidationError(MirctlError):
    """A task's ``validate()`` refused its input (NaN samples, empty audio, …)."""


class MirctlWarning(UserWarning):
    """Something the user should know that does not stop the work (an ignored option, an
    input far outside the expected range). The runner puts it in the input's report
    record under ``warnings`` and the CLI prints it."""
