"""CSV tables people hand to mirctl (labels, predictions): read once, the same way.

Cells and header names are stripped, a byte-order mark is dropped, cells past the
header are ignored; a row's file is named by the first column whose name is a known
file-column name (``path``, ``file`` …), else by the first column.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterable, Sequence

from mirctl.errors import UsageError


def read_rows(path: Path, what: str = "", missing_hint: str | None = None) -> tuple[list[str], list[dict[str, str]]]:
    """(header, rows) of a CSV table; UsageError naming it (``what`` before its path, e.g.
    "labels table") when it cannot be read or has no rows. With ``missing_hint`` a
    missing file is said to be missing, with that hint."""
    name = f"{what} {path}" if what else str(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            header = [h.strip() for h in reader.fieldnames or []]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        if isinstance(err, FileNotFoundError) and missing_hint is not None:
            raise UsageError(f"{name} does not exist", hint=missing_hint) from None
        raise UsageError(f"cannot read {name}: {err}") from None
    if not rows:
        raise UsageError(f"{name} has no rows")
    return header, [{k.strip(): (v or "").strip() for k, v in row.items() if k is not None} for row in rows]


def key_column(header: Sequence[str], names: Sequence[str]) -> str:
    """The column that names each row's file: the first whose lower-cased name is one of
    ``names``, else the first column."""
    return next((c for c in header if c.lower() in names), header[0])


def csv_text(rows: Iterable[Sequence[object]]) -> str:
    """Rows as CSV text with the csv module's minimal quoting and ``\\n`` line ends (the
    form of mirctl's own tables and of homework submissions)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()
