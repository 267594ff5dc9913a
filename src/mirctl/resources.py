"""Locate the packaged ``configs/`` folder (model cards, defaults) and read settings.

A wheel carries the repository's top-level ``configs/`` as ``mirctl/configs``; an
editable or source checkout reads the top-level folder itself. Settings resolve as:
command-line flag > ``MIRCTL_<COMMAND>_<KEY>`` environment variable > user config file
(``$MIRCTL_CONFIG`` or ``<user config dir>/mirctl/config.toml``) > packaged defaults.
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable


@lru_cache(maxsize=1)
def configs_dir() -> Traversable:
    here = Path(__file__).resolve().parent
    for folder in (here / "configs", here.parents[1] / "configs"):  # installed wheel; source checkout
        if folder.is_dir():
            return folder
    from importlib.resources import files  # a zipped install: no folder on disk

    packaged = files("mirctl").joinpath("configs")
    if packaged.is_dir():
        return packaged
    raise FileNotFoundError("mirctl's configs/ folder is missing from this installation; reinstall mirctl")


@lru_cache(maxsize=1)
def packaged_defaults() -> dict[str, Any]:
    return tomllib.loads(configs_dir().joinpath("defaults.toml").read_text(encoding="utf-8"))


def user_config_path() -> Path:
    env = os.environ.get("MIRCTL_CONFIG")
    if env:
        return Path(env)
    return _platform_config_path(os.environ.get("XDG_CONFIG_HOME"), os.environ.get("HOME"))


@lru_cache(maxsize=4)
def _platform_config_path(*_env_it_depends_on: str | None) -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("mirctl")) / "config.toml"


@lru_cache(maxsize=4)
def _user_config(path: str) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        return {}
    from mirctl.errors import UsageError

    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, OSError) as err:
        raise UsageError(f"cannot read config file {p}: {err}", hint="fix or remove that file") from None


def _coerce(value: str, like: Any) -> Any:
    if isinstance(like, bool):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(like, int):
        return int(value)
    if isinstance(like, float):
        return float(value)
    return value


def setting(command: str, key: str, flag: Any = None) -> Any:
    """The effective value of ``[command] key`` (see the module docstring for precedence)."""
    if flag is not None:
        return flag
    packaged = packaged_defaults().get(command, {}).get(key)
    env = os.environ.get(f"MIRCTL_{command.upper().replace('-', '_')}_{key.upper().replace('-', '_')}")
    if env is not None:
        return _coerce(env, packaged)
    user = _user_config(str(user_config_path())).get(command, {})
    if key in user:
        return user[key]
    return packaged
