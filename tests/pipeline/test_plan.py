from __future__ import annotations

from pathlib import Path

import pytest

from mirctl.errors import UsageError
from mirctl.pipeline.plan import COMMON_FIELDS, check_template, plan
from mirctl.pipeline.spec import InputItem, OutputSlot

SLOTS = [OutputSlot("vocals", {"stem": "vocals", "ext": "wav"}), OutputSlot("drums", {"stem": "drums", "ext": "wav"})]
ALLOWED = COMMON_FIELDS + ("stem", "ext")


def test_template_fields_render(tmp_path):
    item = InputItem(tmp_path / "in" / "My Song.flac")
    planned = plan([item], SLOTS, "{model}/{track}/{stem}.{ext}", tmp_path / "out", "separate", "htdemucs", False)
    assert planned[0].outputs["vocals"] == tmp_path / "out" / "htdemucs" / "My Song" / "vocals.wav"
    assert planned[0].action == "run"


def test_reldir_keeps_folder_structure(tmp_path):
    base = tmp_path / "album"
    item = InputItem(base / "cd1" / "a.wav", base=base)
    planned = plan([item], SLOTS, "{reldir}/{track}_{stem}.{ext}", tmp_path / "o", "separate", "m", False)
    assert planned[0].outputs["drums"] == tmp_path / "o" / "cd1" / "a_drums.wav"
    top = InputItem(base / "b.wav", base=base)
    planned = plan([top], SLOTS, "{reldir}/{track}_{stem}.{ext}", tmp_path / "o", "separate", "m", False)
    assert planned[0].outputs["drums"] == tmp_path / "o" / "b_drums.wav"


@pytest.mark.parametrize("template", ["{track}/{nope}.{ext}", "{0}.wav", "{track!r}.{ext}", "{track:>5}", "/abs/{track}",
                                      "{track"])
def test_bad_templates_are_usage_errors(template):
    with pytest.raises(UsageError):
        check_template(template, ALLOWED)


def test_unknown_field_error_lists_available():
    with pytest.raises(UsageError) as err:
        check_template("{song}.wav", ALLOWED)
    assert "{song}" in err.value.message and "{track}" in err.value.hint


def test_template_escaping_out_dir_is_refused(tmp_path):
    with pytest.raises(UsageError, match="outside"):
        plan([InputItem(tmp_path / "a.wav")], SLOTS, "../../{track}_{stem}.{ext}", tmp_path / "o", "c", "m", False)


def test_template_without_distinguishing_field_is_refused(tmp_path):
    with pytest.raises(UsageError, match="same name") as err:
        plan([InputItem(tmp_path / "a.wav")], SLOTS, "{track}.{ext}", tmp_path / "o", "c", "m", False)
    assert "{stem}" in err.value.hint


def test_same_named_inputs_collide_and_second_fails(tmp_path):
    items = [InputItem(tmp_path / "x" / "a.wav"), InputItem(tmp_path / "y" / "a.wav")]
    planned = plan(items, SLOTS, "{track}/{stem}.{ext}", tmp_path / "o", "c", "m", False)
    assert [p.action for p in planned] == ["run", "fail"]
    assert "{parent}" in planned[1].hint
    planned = plan(items, SLOTS, "{parent}/{track}/{stem}.{ext}", tmp_path / "o", "c", "m", False)
    assert [p.action for p in planned] == ["run", "run"]


def test_skip_partial_and_overwrite(tmp_path):
    item = InputItem(tmp_path / "a.wav")
    out = tmp_path / "o"
    first = plan([item], SLOTS, "{track}/{stem}.{ext}", out, "c", "m", False)[0]
    first.outputs["vocals"].parent.mkdir(parents=True)
    first.outputs["vocals"].write_bytes(b"x")
    partial = plan([item], SLOTS, "{track}/{stem}.{ext}", out, "c", "m", False)[0]
    assert partial.action == "fail" and "--overwrite" in partial.hint
    first.outputs["drums"].write_bytes(b"x")
    assert plan([item], SLOTS, "{track}/{stem}.{ext}", out, "c", "m", False)[0].action == "skip"
    assert plan([item], SLOTS, "{track}/{stem}.{ext}", out, "c", "m", True)[0].action == "run"


def test_input_errors_pass_through(tmp_path):
    item = InputItem(Path("missing.wav"), error="missing.wav does not exist")
    assert plan([item], SLOTS, "{track}/{stem}.{ext}", tmp_path, "c", "m", False)[0].action == "fail"


def test_a_name_of_dots_keeps_its_outputs_in_a_folder_of_its_own(tmp_path):
    from mirctl.pipeline.plan import plan
    from mirctl.pipeline.spec import InputItem, OutputSlot

    slots = [OutputSlot("v", {"stem": "vocals", "ext": "wav"})]
    items = [InputItem(tmp_path / "...wav"), InputItem(tmp_path / "..wav"), InputItem(tmp_path / "a\\..\\..\\b.wav")]
    out = tmp_path / "out"
    planned = plan(items, slots, "{model}/{track}/{stem}.{ext}", out, "separate", "hpss", False)
    assert [p.action for p in planned] == ["run", "run", "run"]
    assert [p.outputs["v"].relative_to(out).as_posix() for p in planned] == \
        ["hpss/...wav/vocals.wav", "hpss/..wav/vocals.wav", "hpss/a_.._.._b/vocals.wav"]


def test_a_template_that_escapes_for_one_input_fails_that_input_alone(tmp_path):
    from mirctl.pipeline.plan import plan
    from mirctl.pipeline.spec import InputItem, OutputSlot

    root = tmp_path / "in"
    slots = [OutputSlot("midi", {"output": "midi", "ext": "mid"})]
    items = [InputItem(root / "top.wav", base=root), InputItem(root / "sub" / "deep.wav", base=root)]
    out = tmp_path / "out"
    planned = plan(items, slots, "{reldir}/../{track}.{ext}", out, "transcribe", "m", False)
    assert [p.action for p in planned] == ["fail", "run"]
    assert "outside the output folder" in planned[0].error and planned[1].outputs["midi"] == out / "deep.mid"
    with pytest.raises(UsageError, match="writes outside the output folder"):
        plan(items[:1], slots, "{reldir}/../{track}.{ext}", out, "transcribe", "m", False)


def test_a_sibling_folder_sharing_the_output_folder_s_prefix_is_outside(tmp_path):
    from mirctl.pipeline.plan import plan
    from mirctl.pipeline.spec import InputItem, OutputSlot

    slots = [OutputSlot("midi", {"output": "midi", "ext": "mid"})]
    with pytest.raises(UsageError, match="outside"):
        plan([InputItem(tmp_path / "a.wav")], slots, "../out2/{track}.{ext}", tmp_path / "out", "t", "m", False)


def test_per_item_slots_name_each_input_s_outputs_and_carry_their_encoding(tmp_path):
    """render --stems: the outputs of an input depend on its content."""
    from mirctl.errors import InputError
    from mirctl.io.artifacts import AudioWriteOptions

    opts = AudioWriteOptions(bits="24")
    own = {"a": ["piano", "bass"], "b": ["drums"]}

    def slots_for(item):
        if item.track == "bad":
            raise InputError(f"{item.path} is not a readable MIDI file (truncated)", hint="check it")
        if item.track == "same":
            return None
        return [OutputSlot(f"stem:{n}", {"stem": n, "ext": "wav"}, opts) for n in own[item.track]]

    items = [InputItem(tmp_path / f"{t}.mid") for t in ("a", "b", "bad", "same")]
    (tmp_path / "o" / "b").mkdir(parents=True)
    (tmp_path / "o" / "b" / "drums.wav").write_bytes(b"x")
    planned = plan(items, SLOTS, "{track}/{stem}.{ext}", tmp_path / "o", "render", "m", False, slots_for=slots_for)
    a, b, bad, same = planned
    assert a.action == "run" and a.outputs == {"stem:piano": tmp_path / "o" / "a" / "piano.wav",
                                                "stem:bass": tmp_path / "o" / "a" / "bass.wav"}
    assert a.formats == {"stem:piano": "wav", "stem:bass": "wav"} and a.audio == {"stem:piano": opts, "stem:bass": opts}
    assert b.action == "skip" and list(b.outputs) == ["stem:drums"]
    assert (bad.action, bad.error, bad.hint, bad.outputs) == (
        "fail", f"{tmp_path / 'bad.mid'} is not a readable MIDI file (truncated)", "check it", {})
    assert same.action == "run" and list(same.outputs) == ["vocals", "drums"] and same.audio == {}
