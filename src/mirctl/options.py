"""Declare a task option once, on its ``Params`` field: default, help and config key.

``option(default, help, config=KEY)`` is a dataclass field whose metadata the CLI reads
for its ``--help`` (text and shown default), and which ``configs/defaults.toml`` must
match under ``[command] KEY`` (a test compares them). Standard library only: the CLI
imports the Params classes while it builds ``--help``.
"""

from __future__ import annotations

from dataclasses import MISSING, Field, field, fields
from typing import Any


def option(default: Any, help: str, *, config: str | None = None) -> Any:
    """A Params field with its help text; ``config`` names its key in defaults.toml (the
    options a user may set in a config file or ``MIRCTL_<COMMAND>_<KEY>``)."""
    return field(default=default, metadata={"help": help, "config": config})


def _field(cls: type, name: str) -> Field:
    for f in fields(cls):
        if f.name == name:
            return f
    raise KeyError(f"{cls.__name__} has no option {name!r}")


def help_of(cls: type, name: str) -> str:
    return _field(cls, name).metadata["help"]


def default_of(cls: type, name: str) -> Any:
    f = _field(cls, name)
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None


def shown_default(value: Any) -> str | bool:
    """How ``--help`` shows a default: tuples comma-joined, None not at all."""
    if value is None:
        return False
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def config_value(value: Any) -> Any:
    """The value as written in defaults.toml (tuples as comma-joined strings)."""
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    return value


def config_options(cls: type) -> dict[str, tuple[str, Any]]:
    """{config key: (field name, default)} for every option of ``cls`` with a config key."""
    return {f.metadata["config"]: (f.name, default_of(cls, f.name)) for f in fields(cls)
            if f.metadata.get("config")}
