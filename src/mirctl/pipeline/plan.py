"""Turn inputs into planned outputs before any model loads.

Filename templates use ``str.format`` fields. Every command knows ``{track}`` (input
name without extension), ``{input_ext}``, ``{parent}`` (the input's folder name),
``{reldir}`` (its folder relative to a folder given on the command line), ``{command}``
and ``{model}``; tasks add their own (``{stem}``, ``{output}``, ``{ext}``…).
"""

from __future__ import annotations

import os
import string
from pathlib import Path
from typing import Callable

from mirctl.errors import MirctlError, UsageError
from mirctl.pipeline.spec import InputItem, OutputSlot, PlannedItem

COMMON_FIELDS = ("track", "input_ext", "parent", "reldir", "command", "model")


def template_field_names(template: str) -> list[str]:
    names = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as err:
        raise UsageError(f"--filename {template!r} is not a valid template ({err})",
                         hint="write fields in braces, e.g. '{track}/{stem}.{ext}'; double braces for a literal one") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier():  # "{}" and "{0}" too
            raise UsageError(f"--filename {template!r}: field {{{name}}} is not allowed",
                             hint="use plain named fields such as {track} or {stem}")
        if spec or conversion:
            raise UsageError(f"--filename {template!r}: formatting inside {{{name}}} is not supported")
        names.append(name)
    return names


def check_template(template: str, allowed: tuple[str, ...], slot_keys_need: tuple[str, ...] = ()) -> None:
    """Refuse unknown fields, absolute templates and templates lacking a distinguishing field."""
    if not template.strip():
        raise UsageError("--filename must not be empty")
    if template.startswith(("/", "\\")) or (len(template) > 1 and template[1] == ":"):
        raise UsageError(f"--filename {template!r} is absolute", hint="templates are relative to --out-dir")
    names = template_field_names(template)
    unknown = sorted(set(names) - set(allowed))
    if unknown:
        raise UsageError(f"unknown field(s) {', '.join('{' + u + '}' for u in unknown)} in --filename {template!r}",
                         hint="available: " + ", ".join("{" + a + "}" for a in allowed))


def render(template: str, fields: dict[str, str]) -> Path:
    text = template.format(**fields)
    parts = [p for p in text.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts:
        raise UsageError(f"--filename {template!r} renders to an empty path")
    return Path(*parts)


def input_fields(item: InputItem, command: str, model: str) -> dict[str, str]:
    reldir = ""
    if item.base is not None:
        rel = item.path.parent.relative_to(item.base)
        reldir = "" if str(rel) == "." else rel.as_posix()
    track = item.track
    if track.strip(".") == "":  # "...wav" has the stem "..": keep its outputs in a folder of its own
        track = item.path.name
    return {
        "track": _component(track),
        "input_ext": _component(item.path.suffix.lstrip(".")) if item.kind == "file" else "",
        "parent": _component(item.path.parent.name) if item.kind != "generated" else "",
        "reldir": reldir,
        "command": command,
        "model": _component(model),
    }


def _component(value: str) -> str:
    """A name used inside a path: a backslash (a separator to the template) becomes '_',
    and '.' or '..' on their own cannot point elsewhere."""
    value = value.replace("\\", "_")
    return "_" * len(value) if value in (".", "..") else value


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def plan(items: list[InputItem], slots: list[OutputSlot], template: str, out_dir: Path,
         command: str, model: str, overwrite: bool,
         slots_for: Callable[[InputItem], list[OutputSlot] | None] | None = None) -> list[PlannedItem]:
    """Render every output path, then decide run / skip / fail for each input.

    ``slots_for(item)``, when given, names the outputs of an input whose outputs depend on
    its content (``render --stems``: one file per instrument); None means ``slots``. An
    input it cannot read is planned as failed with the reason.
    """
    root = Path(os.path.abspath(out_dir))
    claimed: dict[Path, str] = {}
    planned: list[PlannedItem] = []
    escaped = 0  # inputs whose outputs the template puts outside the output folder
    for item in items:
        if item.error:
            planned.append(PlannedItem(item, {}, "fail", item.error, item.hint))
            continue
        base = input_fields(item, command, model)
        item_slots = slots
        if slots_for is not None:
            try:
                own = slots_for(item)
            except MirctlError as err:
                planned.append(PlannedItem(item, {}, "fail", err.message, err.hint))
                continue
            item_slots = slots if own is None else own
        outputs: dict[str, Path] = {}
        for slot in item_slots:
            rel = render(template, {**base, **slot.fields})
            path = Path(os.path.abspath(root / rel))
            if not _inside(path, root):
                escaped += 1
                planned.append(PlannedItem(item, {}, "fail", f"--filename {template!r} would write {path}, outside "
                                                             f"the output folder {root}",
                                           "remove '..' from the template, or rename this input"))
                break
            outputs[slot.key] = path
        if len(outputs) != len(item_slots):  # refused above: it would escape
            continue
        if len(set(outputs.values())) != len(outputs):
            distinguishing = sorted({k for s in item_slots for k in s.fields
                                     if len({t.fields.get(k) for t in item_slots}) > 1})
            raise UsageError(f"--filename {template!r} gives several outputs of one input the same name",
                             hint="include " + " or ".join("{" + d + "}" for d in distinguishing) + " in the template")
        clash = next((claimed[p] for p in outputs.values() if p in claimed), None)
        if clash is not None:
            planned.append(PlannedItem(item, outputs, "fail",
                                       f"{item.path}: its outputs would overwrite those of {clash}",
                                       "add {parent} or {reldir} to --filename to keep same-named inputs apart"))
            continue
        for p in outputs.values():
            claimed[p] = item.label
        existing = [p for p in outputs.values() if p.exists()]
        if outputs and existing and not overwrite:
            if len(existing) == len(outputs):
                planned.append(PlannedItem(item, outputs, "skip"))
            else:
                planned.append(PlannedItem(item, outputs, "fail",
                                           f"{len(existing)} of {len(outputs)} outputs already exist (e.g. {existing[0]})",
                                           "pass --overwrite to redo this input, or remove those files"))
            continue
        planned.append(PlannedItem(item, outputs, "run", formats={s.key: s.ext for s in item_slots},
                                   audio={s.key: s.audio for s in item_slots if s.audio is not None}))
    if escaped and escaped == sum(1 for it in items if not it.error):
        raise UsageError(f"--filename {template!r} writes outside the output folder {root}",
                         hint="remove '..' from the template")
    return planned
