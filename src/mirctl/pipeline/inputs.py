"""Expand command-line inputs (files, folders, globs, ``-``) into a sorted file list."""

from __future__ import annotations

import glob
from pathlib import Path

from mirctl.errors import UsageError
from mirctl.pipeline.spec import InputItem

_GLOB_CHARS = set("*?[")


def expand_inputs(args: tuple[str, ...] | list[str], extensions: tuple[str, ...], recursive: bool = False,
                  stdin_lines: tuple[str, ...] | None = None) -> list[InputItem]:
    """Files given directly are kept whatever their extension; folders contribute the
    files with a supported extension (``recursive`` descends); ``-`` reads one path per
    line from ``stdin_lines``. A path that does not exist, or a glob or folder that
    matches nothing, becomes an item with an ``error``. The result is sorted by path and
    free of duplicates.
    """
    raw: list[str] = []
    for arg in args:
        if arg == "-":
            if stdin_lines is None:
                raise UsageError("'-' reads paths from standard input, but none was given")
            raw.extend(line.strip() for line in stdin_lines if line.strip())
        else:
            raw.append(arg)

    items: dict[str, InputItem] = {}

    def add(item: InputItem) -> None:
        items.setdefault(str(item.path), item)

    exts = tuple(e.lower() for e in extensions)
    for arg in raw:
        path = Path(arg).expanduser()
        if path.is_dir():
            walker = path.rglob("*") if recursive else path.glob("*")
            found = [p for p in walker if p.is_file() and p.suffix.lower() in exts and not p.name.startswith(".")]
            if not found:
                add(InputItem(path, error=f"{path} holds no {'/'.join(e.lstrip('.') for e in exts)} files",
                              hint=None if recursive else "add --recursive to search sub-folders"))
            for p in found:
                add(InputItem(p, base=path))
        elif path.is_file():
            add(InputItem(path))
        elif _GLOB_CHARS & set(arg):
            matches = sorted(glob.glob(arg, recursive=True))
            files = [Path(m) for m in matches if Path(m).is_file()]
            if not files:
                add(InputItem(path, error=f"no file matches {arg!r}"))
            for p in files:
                add(InputItem(p))
        else:
            add(InputItem(path, error=f"{path} does not exist",
                          hint="check the path (quote names with spaces)"))
    return sorted(items.values(), key=lambda it: str(it.path))


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` with 1 <= i <= n -> (i, n)."""
    try:
        i_text, n_text = text.split("/")
        i, n = int(i_text), int(n_text)
    except ValueError:
        raise UsageError(f"--shard expects I/N such as 1/4, got {text!r}") from None
    if n < 1 or not 1 <= i <= n:
        raise UsageError(f"--shard {text}: I must be between 1 and N",
                         hint="shards count from 1: 1/4, 2/4, 3/4, 4/4 (with a 0-based SLURM id use $((ID+1))/N)")
    return i, n


def take_shard(items: list[InputItem], shard: str | None) -> list[InputItem]:
    """The i-th of n interleaved slices of the sorted list: items i-1, i-1+n, i-1+2n…"""
    if not shard:
        return items
    i, n = parse_shard(shard)
    return items[i - 1 :: n]
