"""pipeline/inputs.py, value for value: the refusals of '-' and of a folder without
inputs, word for word, and the identity of a path the OS cannot resolve."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirctl.errors import UsageError
from mirctl.pipeline.inputs import _identity, expand_inputs


def test_a_dash_without_standard_input_is_a_usage_error():
    with pytest.raises(UsageError) as err:
        expand_inputs(["-"], (".wav",), stdin_lines=None)
    assert (err.value.message, err.value.hint) == ("'-' reads paths from standard input, but none was given", None)


def test_a_folder_without_inputs_is_one_failed_item_naming_the_extensions(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.wav").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    (item,) = expand_inputs([str(tmp_path)], (".WAV", ".flac"))
    assert (item.path, item.error, item.hint) == (tmp_path, f"{tmp_path} holds no wav/flac files",
                                                  "add --recursive to search sub-folders")
    (deep,) = expand_inputs([str(tmp_path)], (".wav",), recursive=True)
    assert (deep.path, deep.error, deep.base) == (tmp_path / "sub" / "deep.wav", None, tmp_path)
    (tmp_path / "sub" / "deep.wav").unlink()
    (item,) = expand_inputs([str(tmp_path)], (".wav",), recursive=True)
    assert (item.path, item.error, item.hint) == (tmp_path, f"{tmp_path} holds no wav files", None)


def test_a_path_the_os_cannot_resolve_is_its_own_identity():
    assert _identity(Path("a\0b")) == "a\0b"


def _items(items):
    return [(it.path, it.kind, it.error, it.hint) for it in items]


def test_missing_paths_globs_and_special_files_given_directly(tmp_path, monkeypatch):
    import os

    monkeypatch.chdir(tmp_path)
    assert _items(expand_inputs(["gone.wav"], (".wav",))) == [
        (Path("gone.wav"), "file", "gone.wav does not exist", "check the path (quote names with spaces)")]
    assert _items(expand_inputs(["x*.wav"], (".wav",))) == [(Path("x*.wav"), "file", "no file matches 'x*.wav'", None)]
    (tmp_path / "d" / "a" / "b").mkdir(parents=True)
    for rel in ("d/top.wav", "d/a/b/deep.wav"):
        (tmp_path / rel).write_bytes(b"x")
    # '**' descends any number of folders, including none
    assert [it.path for it in expand_inputs(["d/**/*.wav"], (".wav",))] == [Path("d/a/b/deep.wav"), Path("d/top.wav")]
    # a dangling link or a pipe given by name is an input: reading it says what is wrong
    os.symlink("nowhere.wav", "link.wav")
    os.mkfifo("pipe.wav")
    assert _items(expand_inputs(["link.wav", "pipe.wav"], (".wav",))) == [
        (Path("link.wav"), "file", None, None), (Path("pipe.wav"), "file", None, None)]


def test_stem_set_refusals_word_for_word(tmp_path):
    from mirctl.pipeline.inputs import expand_stem_sets

    song = tmp_path / "song"
    song.mkdir()
    (song / "vocals.wav").write_bytes(b"x")
    assert _items(expand_stem_sets([str(song / "vocals.wav")], (".wav",))) == [
        (song / "vocals.wav", "stems", f"{song / 'vocals.wav'} is a file, but this command takes folders of stems",
         f"pass its folder ({song}), or name the stems with --stems a.wav b.wav")]
    assert _items(expand_stem_sets([str(tmp_path / "gone")], (".wav",))) == [
        (tmp_path / "gone", "stems", f"{tmp_path / 'gone'} does not exist", "check the path (quote names with spaces)")]
    assert _items(expand_stem_sets([str(tmp_path)], (".wav",))) == [
        (tmp_path, "stems", f"{tmp_path} holds no audio stems", "add --recursive to take every stem folder below it")]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _items(expand_stem_sets([str(empty)], (".wav",))) == [
        (empty, "stems", f"{empty} holds no audio stems",
         "a stem set is a folder of audio files (e.g. vocals.wav, drums.wav)")]


def test_stems_named_by_hand_form_one_set_in_the_first_files_folder(tmp_path):
    from mirctl.pipeline.inputs import expand_stem_sets

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / "bass.wav", tmp_path / "b" / "keys.wav"
    first.write_bytes(b"x")
    second.write_bytes(b"x")
    (item,) = expand_stem_sets([], (".wav",), stems=(str(first), str(second)))
    assert (item.path, item.kind, item.members, item.error) == (tmp_path / "a", "stems", (first, second), None)
    (item,) = expand_stem_sets([], (".wav",), stems=(str(second), str(tmp_path / "no.wav"), str(tmp_path / "x.wav")))
    assert (item.path, item.kind, item.members, item.error, item.hint) == (
        tmp_path / "b", "stems", (), f"--stems: {tmp_path / 'no.wav'}, {tmp_path / 'x.wav'} not found",
        "check the paths (quote names with spaces)")


def _usage(call, *args, **kw):
    with pytest.raises(UsageError) as err:
        call(*args, **kw)
    return err.value.message, err.value.hint


def test_generated_items_names_counts_and_refusals():
    from mirctl.pipeline.inputs import generated_items

    one = generated_items(1)
    assert [(it.path, it.kind, it.index) for it in one] == [(Path("000"), "generated", 0)]
    assert [it.path.name for it in generated_items(1001)][-2:] == ["0999", "1000"]  # at least 3 digits, then more
    assert [it.path.name for it in generated_items(1000)][-1] == "999"
    named = generated_items(None, ("intro", "verse"))
    assert [(it.path, it.index) for it in named] == [(Path("intro"), 0), (Path("verse"), 1)]
    hint = "names become file names: no slashes"
    for bad in ("", "a/b", "a\\b", ".", ".."):
        assert _usage(generated_items, None, ("ok", bad)) == (f"--names: {bad!r} is not a usable name", hint)
    assert _usage(generated_items, None, ("a", "b", "a")) == ("--names: every name must be different", None)
    for count in (None, 0, -3):
        assert _usage(generated_items, count) == (
            "nothing to generate", "pass -n N (how many items), --names a,b,… or input files")


def test_shard_refusals_word_for_word():
    from mirctl.pipeline.inputs import parse_shard

    assert parse_shard("1/1") == (1, 1) and parse_shard("4/4") == (4, 4)
    for text in ("2", "1/2/3", "a/4", "1/"):
        assert _usage(parse_shard, text) == (f"--shard expects I/N such as 1/4, got {text!r}", None)
    hint = "shards count from 1: 1/4, 2/4, 3/4, 4/4 (with a 0-based SLURM id use $((ID+1))/N)"
    for text in ("0/4", "5/4", "1/0", "0/0", "-1/4"):
        assert _usage(parse_shard, text) == (f"--shard {text}: I must be between 1 and N", hint)


def test_stem_folders_from_standard_input_globs_and_recursion(tmp_path):
    from mirctl.pipeline.inputs import expand_stem_sets

    for rel in ("album/s1/a.wav", "album/s2/b.wav", "album/.hidden/c.wav", "album/top.wav"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    album = tmp_path / "album"
    sets = expand_stem_sets([str(album)], (".wav",), recursive=True)
    # the folder itself holds a stem too; hidden folders are left out
    assert [(it.path, it.base, it.members) for it in sets] == [
        (album, album, (album / "top.wav",)), (album / "s1", album, (album / "s1" / "a.wav",)),
        (album / "s2", album, (album / "s2" / "b.wav",))]
    assert [it.path for it in expand_stem_sets([str(album / "s*")], (".wav",))] == [album / "s1", album / "s2"]
    assert [it.path for it in expand_stem_sets(["-"], (".wav",), stdin_lines=(str(album / "s2"), ""))] == [album / "s2"]


def test_failed_items_are_kept_apart_by_their_spelling(tmp_path, monkeypatch):
    # a missing file typed two ways is reported as each was typed; an existing one is one input
    monkeypatch.chdir(tmp_path)
    items = expand_inputs(["gone.wav", str(tmp_path / "gone.wav")], (".wav",))
    assert sorted(str(it.path) for it in items) == sorted(["gone.wav", str(tmp_path / "gone.wav")])
    (tmp_path / "here.wav").write_bytes(b"x")
    assert len(expand_inputs(["here.wav", str(tmp_path / "here.wav")], (".wav",))) == 1
