"""Expand command-line inputs into the sorted list of items a run plans.

Three shapes (see :mod:`mirctl.pipeline.task`): files (:func:`expand_inputs`), folders
of stems (:func:`expand_stem_sets`) and generated items (:func:`generated_items`).
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from mirctl.errors import UsageError
from mirctl.pipeline.spec import InputItem

_GLOB_CHARS = set("*?[")


def _raw_args(args: tuple[str, ...] | list[str], stdin_lines: tuple[str, ...] | None) -> list[str]:
    raw: list[str] = []
    for arg in args:
        if arg == "-":
            if stdin_lines is None:
                raise UsageError("'-' reads paths from standard input, but none was given")
            raw.extend(line.strip() for line in stdin_lines if line.strip())
        else:
            raw.append(arg)
    return raw


def _identity(path: Path) -> str:
    """The key that makes ``a.wav``, ``./a.wav``, ``$PWD/a.wav`` and a symlink to it one input."""
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return str(path)


class _Collected:
    def __init__(self) -> None:
        self.items: dict[str, InputItem] = {}

    def add(self, item: InputItem) -> None:
        key = _identity(item.path) if item.error is None else "\0" + str(item.path)
        self.items.setdefault(key, item)

    def sorted(self) -> list[InputItem]:
        return sorted(self.items.values(), key=lambda it: str(it.path))


def _exts(extensions: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(e.lower() for e in extensions)


def _supported(path: Path, exts: tuple[str, ...]) -> bool:
    return path.is_file() and path.suffix.lower() in exts and not path.name.startswith(".")


def expand_inputs(args: tuple[str, ...] | list[str], extensions: tuple[str, ...], recursive: bool = False,
                  stdin_lines: tuple[str, ...] | None = None) -> list[InputItem]:
    """Files given directly are kept whatever their extension; folders contribute the
    files with a supported extension (``recursive`` descends); ``-`` reads one path per
    line from ``stdin_lines``. A path that does not exist, or a glob or folder that
    matches nothing, becomes an item with an ``error``. The result is sorted by path and
    free of duplicates (the same file reached by two spellings or a symlink is one input).
    """
    found_items = _Collected()
    exts = _exts(extensions)
    for arg in _raw_args(args, stdin_lines):
        path = Path(arg).expanduser()
        if path.is_dir():
            walker = path.rglob("*") if recursive else path.glob("*")
            found = [p for p in walker if _supported(p, exts)]
            if not found:
                found_items.add(InputItem(path, error=f"{path} holds no {'/'.join(e.lstrip('.') for e in exts)} files",
                                          hint=None if recursive else "add --recursive to search sub-folders"))
            for p in found:
                found_items.add(InputItem(p, base=path))
        elif path.is_file() or path.exists() or path.is_symlink():  # a pipe or a bad link: read_source says why
            found_items.add(InputItem(path))
        elif _GLOB_CHARS & set(arg):
            matches = sorted(glob.glob(arg, recursive=True))
            files = [Path(m) for m in matches if Path(m).is_file()]
            if not files:
                found_items.add(InputItem(path, error=f"no file matches {arg!r}"))
            for p in files:
                found_items.add(InputItem(p))
        else:
            found_items.add(InputItem(path, error=f"{path} does not exist",
                                      hint="check the path (quote names with spaces)"))
    return found_items.sorted()


def _stem_files(folder: Path, exts: tuple[str, ...]) -> tuple[Path, ...]:
    return tuple(sorted(p for p in folder.iterdir() if _supported(p, exts)))


def _stem_set(folder: Path, exts: tuple[str, ...], base: Path | None) -> InputItem:
    return InputItem(folder, base=base, kind="stems", members=_stem_files(folder, exts))


def expand_stem_sets(args: tuple[str, ...] | list[str], extensions: tuple[str, ...], recursive: bool = False,
                     stdin_lines: tuple[str, ...] | None = None, stems: tuple[str, ...] = ()) -> list[InputItem]:
    """Each folder argument holding audio files is one stem set (its files are the
    stems); with ``recursive`` every folder below it that holds audio files is one.
    ``stems`` (``--stems a.wav b.wav``) names the files of one more set by hand; its
    ``{track}`` is the first file's folder.
    """
    collected = _Collected()
    exts = _exts(extensions)
    if stems:
        files = [Path(s).expanduser() for s in stems]
        missing = [str(f) for f in files if not f.is_file()]
        first = files[0]
        if missing:
            collected.add(InputItem(first.parent, kind="stems", error=f"--stems: {', '.join(missing)} not found",
                                    hint="check the paths (quote names with spaces)"))
        else:
            collected.add(InputItem(first.resolve().parent, kind="stems", members=tuple(files)))
    for arg in _raw_args(args, stdin_lines):
        matches = [Path(m) for m in sorted(glob.glob(arg))] if _GLOB_CHARS & set(arg) else [Path(arg).expanduser()]
        for path in matches:
            if path.is_dir():
                folders = [path]
                if recursive:
                    folders += sorted(p for p in path.rglob("*") if p.is_dir() and not p.name.startswith("."))
                sets = [f for f in folders if _stem_files(f, exts)]
                if not sets:
                    deeper = not recursive and any(_supported(p, exts) for p in path.rglob("*"))
                    collected.add(InputItem(path, kind="stems", error=f"{path} holds no audio stems",
                                            hint="add --recursive to take every stem folder below it" if deeper
                                            else "a stem set is a folder of audio files (e.g. vocals.wav, drums.wav)"))
                for folder in sets:
                    collected.add(_stem_set(folder, exts, path if recursive else None))
            elif path.is_file():
                collected.add(InputItem(path, kind="stems", error=f"{path} is a file, but this command takes folders of stems",
                                        hint=f"pass its folder ({path.parent}), or name the stems with --stems a.wav b.wav"))
            else:
                collected.add(InputItem(path, kind="stems", error=f"{path} does not exist",
                                        hint="check the path (quote names with spaces)"))
    return collected.sorted()


def generated_items(count: int | None, names: tuple[str, ...] = ()) -> list[InputItem]:
    """Items with no input file: ``names`` as given, or ``count`` items ``000, 001 …``
    (zero-padded to at least three digits)."""
    if names:
        bad = [n for n in names if not n or "/" in n or "\\" in n or n in (".", "..")]
        if bad:
            raise UsageError(f"--names: {bad[0]!r} is not a usable name", hint="names become file names: no slashes")
        if len(set(names)) != len(names):
            raise UsageError("--names: every name must be different")
        chosen = list(names)
    else:
        if count is None or count < 1:
            raise UsageError("nothing to generate", hint="pass -n N (how many items), --names a,b,… or input files")
        width = max(3, len(str(count - 1)))
        chosen = [f"{i:0{width}d}" for i in range(count)]
    return [InputItem(Path(name), kind="generated", index=i) for i, name in enumerate(chosen)]


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
