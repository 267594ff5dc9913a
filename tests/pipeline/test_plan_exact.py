"""pipeline/plan.py, value for value: each template refusal's words and hint, every
field an input gives a template, and each planned item's input, outputs, error and hint
(a mutation run showed that only the actions and a word or two were checked)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirctl.errors import UsageError
from mirctl.pipeline.plan import (COMMON_FIELDS, _component, check_template, input_fields, plan, render,
                                  template_field_names)
from mirctl.pipeline.spec import InputItem, OutputSlot

ALLOWED = ("track", "stem", "ext")
SLOTS = [OutputSlot("vocals", {"stem": "vocals", "ext": "wav"}), OutputSlot("drums", {"stem": "drums", "ext": "wav"})]


def refusal(call, *args):
    with pytest.raises(UsageError) as err:
        call(*args)
    return err.value.message, err.value.hint


def test_the_fields_a_template_names_in_order():
    assert template_field_names("{track}/{stem}.{ext}") == ["track", "stem", "ext"]
    assert template_field_names("{{literal}}/{track}_{track}") == ["track", "track"]
    assert template_field_names("no fields") == []


@pytest.mark.parametrize("template, message, hint", [
    ("{track", "--filename '{track' is not a valid template (expected '}' before end of string)",
     "write fields in braces, e.g. '{track}/{stem}.{ext}'; double braces for a literal one"),
    ("{}.wav", "--filename '{}.wav': field {} is not allowed", "use plain named fields such as {track} or {stem}"),
    ("{0}.wav", "--filename '{0}.wav': field {0} is not allowed", "use plain named fields such as {track} or {stem}"),
    ("{a.b}", "--filename '{a.b}': field {a.b} is not allowed", "use plain named fields such as {track} or {stem}"),
    ("{track!r}", "--filename '{track!r}': formatting inside {track} is not supported", None),
    ("{track:>9}", "--filename '{track:>9}': formatting inside {track} is not supported", None),
])
def test_malformed_templates_word_for_word(template, message, hint):
    assert refusal(template_field_names, template) == (message, hint)


@pytest.mark.parametrize("template", ["", "   "])
def test_an_empty_template(template):
    assert refusal(check_template, template, ALLOWED) == ("--filename must not be empty", None)


@pytest.mark.parametrize("template", ["/abs/{track}", "\\share\\{track}", "C:\\{track}", "c:{track}", "x:"])
def test_absolute_templates(template):
    assert refusal(check_template, template, ALLOWED) == (f"--filename {template!r} is absolute",
                                                           "templates are relative to --out-dir")


@pytest.mark.parametrize("template", ["a", "{track}", "ab:{track}", "./{track}", "b/c:{track}"])
def test_relative_templates_pass(template):
    check_template(template, ALLOWED)


def test_unknown_fields_are_listed_sorted_with_the_available_ones():
    assert refusal(check_template, "{zed}/{song}.{ext}", ALLOWED) == (
        "unknown field(s) {song}, {zed} in --filename '{zed}/{song}.{ext}'", "available: {track}, {stem}, {ext}")


def test_render_joins_parts_and_drops_empty_and_dot_parts():
    assert render("{a}/./{b}//{c}", {"a": "x", "b": "y\\z", "c": "w.wav"}) == Path("x/y/z/w.wav")
    assert render("..\\{a}", {"a": "x"}) == Path("../x")  # a backslash separates too; '..' stays (checked later)
    assert refusal(render, "{a}/.", {"a": ""}) == ("--filename '{a}/.' renders to an empty path", None)


def test_path_components_cannot_be_separators_or_dots():
    assert [_component(v) for v in (".", "..", "a\\b", "...", ".x", "")] == ["_", "__", "a_b", "...", ".x", ""]


def test_every_common_field_of_a_file_a_stem_folder_and_a_generated_item(tmp_path):
    base = tmp_path / "album"
    song = InputItem(base / "cd 1" / "Song.Live.flac", base=base)
    assert input_fields(song, "separate", "mdx\\q") == {
        "track": "Song.Live", "input_ext": "flac", "parent": "cd 1", "reldir": "cd 1", "command": "separate",
        "model": "mdx_q"}
    nested = InputItem(base / "a" / "b" / "x.wav", base=base)
    assert input_fields(nested, "c", "m")["reldir"] == "a/b"
    top = InputItem(base / "x.wav", base=base)
    assert input_fields(top, "c", "m")["reldir"] == ""
    assert input_fields(InputItem(tmp_path / "x.wav"), "c", "m")["reldir"] == ""  # no base: no reldir
    stems = InputItem(tmp_path / "sets" / "Track 7", kind="folder")
    assert input_fields(stems, "mix", "default") == {
        "track": "Track 7", "input_ext": "", "parent": "sets", "reldir": "", "command": "mix", "model": "default"}
    dotted = InputItem(tmp_path / "sets" / "Song.v2", kind="folder")  # a folder's dot is not an extension
    assert input_fields(dotted, "mix", "m")["input_ext"] == "" and input_fields(dotted, "mix", "m")["track"] == "Song.v2"
    tracker = InputItem(tmp_path / "XX.XM")  # letters that are not dots are kept, in the name and extension
    assert (input_fields(tracker, "c", "m")["track"], input_fields(tracker, "c", "m")["input_ext"]) == ("XX", "XM")
    prompted = InputItem(Path("prompts") / "007", kind="generated")  # a generated item has no folder
    assert input_fields(prompted, "c", "m")["parent"] == ""
    gen = InputItem(Path("007"), kind="generated")
    assert input_fields(gen, "generate-midi", "pop909-remi") == {
        "track": "007", "input_ext": "", "parent": "", "reldir": "", "command": "generate-midi",
        "model": "pop909-remi"}
    assert set(input_fields(song, "c", "m")) == set(COMMON_FIELDS)
    odd = InputItem(tmp_path / "..." / "a.b\\c")  # a folder named "..." and a backslash in the file name
    assert input_fields(odd, "c", "m")["parent"] == "..." and input_fields(odd, "c", "m")["input_ext"] == "b_c"


def test_command_and_model_reach_the_paths(tmp_path):
    (p,) = plan([InputItem(tmp_path / "a.wav")], SLOTS[:1], "{command}/{model}/{track}.{ext}", tmp_path / "o",
                "separate", "htdemucs", False)
    assert p.outputs == {"vocals": tmp_path / "o" / "separate" / "htdemucs" / "a.wav"}


def test_each_planned_item_keeps_its_input_and_the_items_after_a_failure_are_planned(tmp_path):
    out = tmp_path / "o"
    items = [InputItem(tmp_path / "gone.wav", error="gone.wav does not exist", hint="check the path"),
             InputItem(tmp_path / "x" / "a.wav"), InputItem(tmp_path / "y" / "a.wav"), InputItem(tmp_path / "b.wav")]
    planned = plan(items, SLOTS, "{track}/{stem}.{ext}", out, "c", "m", False)
    assert [p.item for p in planned] == items
    gone, first, clash, last = planned
    assert (gone.action, gone.outputs, gone.error, gone.hint) == ("fail", {}, "gone.wav does not exist",
                                                                   "check the path")
    assert first.action == "run" and first.formats == {"vocals": "wav", "drums": "wav"} and first.audio == {}
    assert (clash.action, clash.error, clash.hint) == (
        "fail", f"{tmp_path / 'y' / 'a.wav'}: its outputs would overwrite those of {tmp_path / 'x' / 'a.wav'}",
        "add {parent} or {reldir} to --filename to keep same-named inputs apart")
    assert clash.outputs == first.outputs
    assert last.action == "run" and last.outputs == {"vocals": out / "b" / "vocals.wav", "drums": out / "b" / "drums.wav"}


def test_an_escaping_input_fails_alone_with_what_it_would_write(tmp_path):
    root, out = tmp_path / "in", tmp_path / "out"
    slots = [OutputSlot("midi", {"ext": "mid"})]
    items = [InputItem(root / "top.wav", base=root), InputItem(root / "sub" / "deep.wav", base=root),
             InputItem(root / "other.wav", base=root)]
    template = "{reldir}/../{track}.{ext}"
    escaped, deep, other = plan(items, slots, template, out, "t", "m", False)
    assert [escaped.item, deep.item, other.item] == items
    assert (escaped.action, escaped.outputs, escaped.error, escaped.hint) == (
        "fail", {}, f"--filename {template!r} would write {tmp_path / 'top.mid'}, outside the output folder {out}",
        "remove '..' from the template, or rename this input")
    assert deep.action == "run" and other.action == "fail"
    # when every input would escape, it is the template that is wrong: a usage error
    assert refusal(plan, [items[0], items[2]], slots, template, out, "t", "m", False) == (
        f"--filename {template!r} writes outside the output folder {out}", "remove '..' from the template")


def test_an_escape_among_failed_inputs_is_still_the_templates_fault(tmp_path):
    out = tmp_path / "out"
    items = [InputItem(tmp_path / "bad.wav", error="unreadable"), InputItem(tmp_path / "a.wav")]
    with pytest.raises(UsageError, match="writes outside"):
        plan(items, SLOTS[:1], "../{track}.{ext}", out, "t", "m", False)


def test_outputs_of_one_input_sharing_a_name_name_the_fields_that_would_part_them(tmp_path):
    item = InputItem(tmp_path / "a.wav")
    assert refusal(plan, [item], SLOTS, "{track}.{ext}", tmp_path / "o", "c", "m", False) == (
        "--filename '{track}.{ext}' gives several outputs of one input the same name",
        "include {stem} in the template")
    slots = [OutputSlot("a", {"stem": "v", "output": "audio", "ext": "wav"}),
             OutputSlot("b", {"stem": "d", "output": "plot", "ext": "wav"})]
    assert refusal(plan, [item], slots, "{track}.{ext}", tmp_path / "o", "c", "m", False)[1] == \
        "include {output} or {stem} in the template"


def test_partly_done_skipped_and_overwritten_inputs(tmp_path):
    item = InputItem(tmp_path / "a.wav")
    out = tmp_path / "o"
    (out / "a").mkdir(parents=True)
    (out / "a" / "drums.wav").write_bytes(b"x")
    (p,) = plan([item], SLOTS, "{track}/{stem}.{ext}", out, "c", "m", False)
    assert (p.item, p.action, p.error, p.hint) == (
        item, "fail", f"1 of 2 outputs already exist (e.g. {out / 'a' / 'drums.wav'})",
        "pass --overwrite to redo this input, or remove those files")
    assert p.outputs == {"vocals": out / "a" / "vocals.wav", "drums": out / "a" / "drums.wav"}
    (out / "a" / "vocals.wav").write_bytes(b"x")
    (p,) = plan([item], SLOTS, "{track}/{stem}.{ext}", out, "c", "m", False)
    assert (p.item, p.action, p.error, p.hint) == (item, "skip", None, None)
    assert p.outputs == {"vocals": out / "a" / "vocals.wav", "drums": out / "a" / "drums.wav"}
    (p,) = plan([item], SLOTS, "{track}/{stem}.{ext}", out, "c", "m", True)
    assert (p.item, p.action, p.error) == (item, "run", None)


def test_a_failing_per_item_slot_list_keeps_its_item(tmp_path):
    from mirctl.errors import InputError

    def slots_for(item):
        raise InputError("unreadable MIDI", hint="check it")

    item = InputItem(tmp_path / "a.mid")
    (p,) = plan([item], SLOTS, "{track}/{stem}.{ext}", tmp_path / "o", "render", "m", False, slots_for=slots_for)
    assert (p.item, p.action, p.outputs, p.error, p.hint) == (item, "fail", {}, "unreadable MIDI", "check it")
