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

from mirctl.errors import UsageError
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
        if name == "" or not name.isidentifier():
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
    return {
        "track": item.track,
        "input_ext": item.path.suffix.lstrip(".") if item.kind == "file" else "",
        "parent": item.path.parent.name if item.kind != "generated" else "",
        "reldir": reldir,
        "command": command,
        "model": model,
    }


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def plan(items: list[InputItem], slots: list[OutputSlot], template: str, out_dir: Path,
         command: str, model: str, overwrite: bool) -> list[PlannedItem]:
    """Render every output path, then decide run / skip / fail for each input."""
    root = Path(os.path.abspath(out_dir))
    claimed: dict[Path, str] = {}
    planned: list[PlannedItem] = []
    for item in items:
        if item.error:
            planned.append(PlannedItem(item, {}, "fail", item.error, item.hint))
            continue
        base = input_fields(item, command, model)
        outputs: dict[str, Path] = {}
        for slot in slots:
            rel = render(template, {**base, **slot.fields})
            path = Path(os.path.abspath(root / rel))
            if not _inside(path, root):
                raise UsageError(f"--filename {template!r} writes {path}, outside the output folder {root}",
                                 hint="remove '..' from the template")
            outputs[slot.key] = path
        if len(set(outputs.values())) != len(outputs):
            distinguishing = sorted({k for s in slots for k in s.fields if len({t.fields.get(k) for t in slots}) > 1})
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
        planned.append(PlannedItem(item, outputs, "run", formats={s.key: s.ext for s in slots}))
    return planned
