"""Training data tables and splits shared by the trainable tasks.

A labels table is a CSV with one row per clip: a file column (``path``, ``file``,
``filename``, ``input`` or ``track``, else the first column; relative to ``--data``),
optional ``split`` (``train`` / ``valid`` (``val``, ``validation``) / ``test``) and
``group`` columns (clips of one song or album share a group, so no group is on both
sides of a split), and the labels:

- multi-label (``mirctl train tag``): one 0/1 column per tag, or one ``tags`` column of
  tag names separated by ``;`` or ``|`` (``piano;bass``);
- single-label (``mirctl train classify``): a ``label`` column (or ``class``), or no
  table at all: one sub-folder of ``--data`` per class.

Clips are audio files (any format ``mirctl`` reads) or ``.npy`` arrays of samples (as
course data sets ship them), whose rate the task is told (``--npy-sr``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from mirctl.errors import InputError, UsageError
from mirctl.io.tables import key_column, read_rows

KEY_COLUMNS = ("path", "file", "filename", "input", "track")
SPLITS = {"train": "train", "valid": "valid", "val": "valid", "validation": "valid", "dev": "valid", "test": "test"}
META_COLUMNS = ("split", "group")


@dataclass(frozen=True)
class LabelledClip:
    path: Path
    target: Any  # multi-hot tuple in the table's tag order, or a class index
    split: str | None = None  # train | valid | test | None (the runner's split decides)
    group: str | None = None


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    return read_rows(path, "labels table", missing_hint="pass --labels FILE, or put labels.csv in the --data folder")


def _key(header: list[str]) -> str:
    return key_column(header, KEY_COLUMNS)


def _split(value: str | None, path: Path, line: int) -> str | None:
    if not value:
        return None
    split = SPLITS.get(value.lower())
    if split is None:
        raise UsageError(f"{path} line {line}: split {value!r} is not one of train, valid, test")
    return split


def _names(cell: str) -> set[str]:
    """The tag names of a ``tags`` cell (``piano; bass``, ``drums|piano``)."""
    return {t.strip() for t in re.split(r"[;|]", cell) if t.strip()}


def _clip(row: dict[str, str], key: str, lowered: dict[str, str], target: Any, path: Path, data: Path,
          line: int) -> LabelledClip:
    """A table row as a clip: its file (relative to ``data`` unless absolute), its target,
    and its split and group cells if the table has those columns."""
    # pathlib keeps an absolute path as it is; a table without the column gives row.get(None)
    return LabelledClip(Path(data) / Path(row[key]).expanduser(), target,
                        _split(row.get(lowered.get("split")), path, line),
                        row.get(lowered.get("group")) or None)


def read_multilabel(path: Path, data: Path) -> tuple[list[str], list[LabelledClip]]:
    """(tags, clips) of a multi-label table (see the module's docs)."""
    header, rows = _read_csv(path)
    key = _key(header)
    lowered = {c.lower(): c for c in header}
    meta = {lowered[m] for m in META_COLUMNS if m in lowered}
    names_column = lowered.get("tags")
    if names_column is not None:
        tags = sorted(set().union(*(_names(row[names_column]) for row in rows)))
    else:
        tags = [c for c in header if c != key and c not in meta]
    if not tags:
        raise UsageError(f"{path} has no tag columns",
                         hint="a multi-hot CSV: path,piano,bass,… with 0/1 values (or a `tags` column: piano;bass)")
    clips = []
    for line, row in enumerate(rows, start=2):
        if not row.get(key):
            raise UsageError(f"{path} line {line}: the {key} column is empty")
        if names_column is not None:
            present = _names(row[names_column])
            target = tuple(1.0 if t in present else 0.0 for t in tags)
        else:
            values = []
            for tag in tags:
                cell = row[tag]  # read_rows gives every column of the header, "" when a row is short
                if cell not in ("0", "1", "0.0", "1.0"):
                    raise UsageError(f"{path} line {line}: {tag} = {cell!r}; labels are 0 or 1")
                values.append(float(cell))
            target = tuple(values)
        clips.append(_clip(row, key, lowered, target, path, data, line))
    _check_exist(clips, path)
    return tags, clips


def read_single_label(path: Path, data: Path) -> tuple[list[str], list[LabelledClip]]:
    """(classes sorted by name, clips with their class index) of a ``path,label`` table."""
    header, rows = _read_csv(path)
    key = _key(header)
    lowered = {c.lower(): c for c in header}
    column = lowered.get("label") or lowered.get("class")
    if column is None:
        raise UsageError(f"{path} has no label column", hint="a CSV with the columns path,label[,split][,group]")
    for line, row in enumerate(rows, start=2):
        if not row.get(key) or not row.get(column):
            raise UsageError(f"{path} line {line}: the {key} or {column} column is empty")
    classes = sorted({row[column] for row in rows})
    clips = [_clip(row, key, lowered, classes.index(row[column]), path, data, line)
             for line, row in enumerate(rows, start=2)]
    _check_exist(clips, path)
    return classes, clips


def read_class_folders(data: Path, extensions: Sequence[str]) -> tuple[list[str], list[LabelledClip]]:
    """(classes, clips) of a folder with one sub-folder of clips per class (files below
    each sub-folder count, hidden ones do not)."""
    data = Path(data)
    if not data.is_dir():
        raise UsageError(f"--data {data} is not a folder")
    # hidden folders (.git, caches) would give no clips below anyway: not walking them saves time
    folders = sorted(p.name for p in data.iterdir() if p.is_dir() and not p.name.startswith("."))
    files = {name: [f for f in sorted((data / name).rglob("*"))
                    if f.is_file() and f.suffix.lower() in extensions
                    and not any(part.startswith(".") for part in f.relative_to(data).parts)]
             for name in folders}
    classes = [name for name in folders if files[name]]
    if len(classes) < 2:
        raise UsageError(f"--data {data} has {len(classes)} class folder(s) with clips; "
                         "classification needs at least two",
                         hint="one sub-folder of audio (or .npy) clips per class, or --labels with path,label rows")
    return classes, [LabelledClip(f, index) for index, name in enumerate(classes) for f in files[name]]


def _check_exist(clips: Sequence[LabelledClip], table: Path) -> None:
    missing = [c.path for c in clips if not c.path.is_file()]
    if missing:
        shown = ", ".join(str(p) for p in missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise UsageError(f"{len(missing)} clip(s) named in {table} do not exist: {shown}",
                         hint="paths in the table are relative to the --data folder")


def split(clips: Sequence[LabelledClip], fraction: float, seed: int,
          stratify: bool = False) -> tuple[list[LabelledClip], list[LabelledClip]]:
    """(train, valid): the table's own ``split`` column where it has one (``test`` rows
    are left out), else a seeded random ``fraction`` of the groups (each clip its own
    group when there is no ``group`` column) for validation. ``stratify`` (single-label
    targets) draws that fraction within each class, so every class with two groups or
    more has one on each side; a class with one group trains."""
    import numpy as np

    if any(c.split for c in clips):
        train = [c for c in clips if c.split in (None, "train")]
        valid = [c for c in clips if c.split == "valid"]
        if not valid:
            raise UsageError("the labels table has a split column but no valid rows",
                             hint="mark some rows valid, or drop the column to split at random (--valid-fraction)")
        return train, valid
    if not 0.0 < fraction < 1.0:
        raise UsageError(f"--valid-fraction {fraction} must be between 0 and 1")
    group_of = [c.group if c.group is not None else str(c.path) for c in clips]
    groups = sorted(set(group_of))
    if len(groups) < 2:
        raise UsageError("one clip (or one group) cannot be split into training and validation",
                         hint="label more clips, or give a split column")
    if stratify:
        strata: dict[Any, list[str]] = {}
        for clip, group in zip(clips, group_of):
            members = strata.setdefault(clip.target, [])
            if group not in members:
                members.append(group)
        valid_groups: set[str] = set()
        for k, target in enumerate(sorted(strata)):
            members = sorted(strata[target])
            if len(members) < 2:
                continue
            order = np.random.default_rng([seed, 7, k]).permutation(len(members))
            n_valid = min(len(members) - 1, max(1, round(fraction * len(members))))
            valid_groups.update(members[i] for i in order[:n_valid])
    else:
        order = np.random.default_rng([seed, 7]).permutation(len(groups))
        n_valid = min(len(groups) - 1, max(1, round(fraction * len(groups))))
        valid_groups = {groups[i] for i in order[:n_valid]}
    in_valid = [g in valid_groups for g in group_of]
    return [c for c, v in zip(clips, in_valid) if not v], [c for c, v in zip(clips, in_valid) if v]


def load_clip(path: Path, npy_sr: int) -> tuple[Any, int]:
    """(mono float32 samples, rate) of an audio file or a ``.npy`` array of samples
    (1-D, or 2-D with channels on the shorter axis) at ``npy_sr``."""
    import numpy as np

    from mirctl.dsp import to_mono

    if path.suffix.lower() == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise InputError(f"{path} is not a readable .npy array ({err})") from None
        if array.ndim == 2:
            array = array if array.shape[0] <= array.shape[1] else array.T
            array = array.mean(axis=0)
        if array.ndim != 1 or not np.issubdtype(array.dtype, np.number):
            raise InputError(f"{path} holds a {array.dtype} array of shape {array.shape}, not audio samples",
                             hint="a .npy clip is a 1-D array of samples (or channels × samples)")
        return np.asarray(array, np.float32), npy_sr
    from mirctl.io.audio import read_audio

    wav, sr = read_audio(path)
    return to_mono(wav), sr
