"""Find the reference files ``--eval REF`` (and ``mirctl eval … --ref REF``) points at.

One rule for every task, declared by its :class:`~mirctl.pipeline.task.EvalRequest`:

- one reference per input (``keys`` None): ``REF`` itself when it is a file, else
  ``REF/<reldir>/<track>.<ext>`` then ``REF/<track>.<ext>``;
- one reference per key (stems; for a stem set, each of its stems' names):
  ``REF/<track>/<key>.<ext>``, then ``REF/<parent>/<key>.<ext>``, then ``REF/<key>.<ext>``.

Extensions are tried in the request's order. A reference that is not there is None.
"""

from __future__ import annotations

from pathlib import Path

from mirctl.pipeline.plan import input_fields
from mirctl.pipeline.spec import EvalRequest, InputItem

#: the key under which a single reference per input is found
SINGLE = "reference"


def _first(candidates: list[Path]) -> Path | None:
    return next((c for c in candidates if c.is_file()), None)


def find_references(request: EvalRequest, item: InputItem) -> dict[str, Path | None]:
    root = Path(request.ref)
    fields = input_fields(item, "", "")
    track, parent, reldir = fields["track"], fields["parent"], fields["reldir"]
    keys = tuple(m.stem for m in item.members) if request.keys_from_members else request.keys
    if keys is None:
        if root.is_file():
            return {SINGLE: root}
        folders = ([root / reldir] if reldir else []) + [root]
        return {SINGLE: _first([f / f"{track}{ext}" for f in folders for ext in request.extensions])}
    folders = [root / track, root / parent, root]
    return {key: _first([f / f"{key}{ext}" for f in folders for ext in request.extensions])
            for key in keys}
