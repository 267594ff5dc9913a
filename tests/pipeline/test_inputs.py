from __future__ import annotations

from pathlib import Path

import pytest

from mirctl.errors import UsageError
from mirctl.io.audio import AUDIO_EXTENSIONS
from mirctl.pipeline.inputs import expand_inputs, parse_shard, take_shard


def names(items):
    return [Path(i.path).name for i in items if not i.error]


def test_folder_expands_to_supported_files_sorted(audio_dir):
    items = expand_inputs([str(audio_dir)], AUDIO_EXTENSIONS)
    assert names(items) == ["song0.wav", "song1.wav", "song2.wav"]


def test_recursive_descends(audio_dir):
    items = expand_inputs([str(audio_dir)], AUDIO_EXTENSIONS, recursive=True)
    assert names(items) == ["song0.wav", "song1.wav", "song2.wav", "deep.wav"]  # sorted by path: songs/sub/ last
    assert len(items) == 4
    deep = [i for i in items if i.path.name == "deep.wav"][0]
    assert deep.base == audio_dir


def test_missing_path_and_empty_glob_become_failed_items(tmp_path):
    items = expand_inputs([str(tmp_path / "nope.wav"), str(tmp_path / "*.flac")], AUDIO_EXTENSIONS)
    assert len(items) == 2
    assert all(i.error for i in items)
    assert any("does not exist" in i.error for i in items)
    assert any("no file matches" in i.error for i in items)


def test_glob_and_duplicates(audio_dir):
    items = expand_inputs([str(audio_dir / "song*.wav"), str(audio_dir / "song1.wav")], AUDIO_EXTENSIONS)
    assert names(items) == ["song0.wav", "song1.wav", "song2.wav"]


def test_stdin_paths(audio_dir):
    lines = (str(audio_dir / "song2.wav"), "", str(audio_dir / "song0.wav"))
    items = expand_inputs(["-"], AUDIO_EXTENSIONS, stdin_lines=lines)
    assert names(items) == ["song0.wav", "song2.wav"]


def test_stdin_dash_without_stdin_is_usage_error():
    with pytest.raises(UsageError):
        expand_inputs(["-"], AUDIO_EXTENSIONS, stdin_lines=None)


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_shards_cover_every_input_exactly_once(tmp_path, n):
    items = expand_inputs([str(tmp_path / f"f{i:02d}.wav") for i in range(17)], AUDIO_EXTENSIONS)
    seen = []
    for i in range(1, n + 1):
        seen += [str(x.path) for x in take_shard(items, f"{i}/{n}")]
    assert sorted(seen) == sorted(str(x.path) for x in items)
    assert len(seen) == len(set(seen)) == 17


def test_shard_is_deterministic_over_input_order(tmp_path):
    paths = [str(tmp_path / f"f{i}.wav") for i in range(9)]
    a = take_shard(expand_inputs(paths, AUDIO_EXTENSIONS), "2/3")
    b = take_shard(expand_inputs(list(reversed(paths)), AUDIO_EXTENSIONS), "2/3")
    assert [x.path for x in a] == [x.path for x in b]


@pytest.mark.parametrize("bad", ["0/4", "5/4", "x/4", "1-4", "1/0"])
def test_bad_shard_is_usage_error(bad):
    with pytest.raises(UsageError):
        parse_shard(bad)


def test_the_same_file_by_two_spellings_or_a_symlink_is_one_input(tmp_path, monkeypatch):
    from mirctl.pipeline.inputs import expand_inputs

    (tmp_path / "a.wav").write_bytes(b"x")
    (tmp_path / "link.wav").symlink_to(tmp_path / "a.wav")
    monkeypatch.chdir(tmp_path)
    items = expand_inputs(["a.wav", str(tmp_path / "a.wav"), "./a.wav", "link.wav"], (".wav",))
    assert [str(i.path) for i in items] == ["a.wav"]


def test_shards_are_the_same_in_every_process_whatever_the_hash_seed(audio_dir):
    """Each shard runs in its own process (a SLURM array): the selection must not depend
    on hash randomisation, and the shards must cover every input exactly once."""
    import json
    import os
    import subprocess
    import sys

    for i in range(5):
        (audio_dir / f"extra{i}.wav").write_bytes(b"x")
    code = ("import json, sys; from mirctl.pipeline.inputs import expand_inputs, take_shard; "
            "print(json.dumps([str(i.path) for i in take_shard(expand_inputs([sys.argv[1]], ('.wav',), True), "
            "sys.argv[2])]))")
    picks = {}
    for seed in ("1", "2"):
        for k in (1, 2, 3):
            out = subprocess.run([sys.executable, "-c", code, str(audio_dir), f"{k}/3"], capture_output=True, text=True,
                                 env={**os.environ, "PYTHONHASHSEED": seed}, check=True)
            picks[(seed, k)] = json.loads(out.stdout)
    for k in (1, 2, 3):
        assert picks[("1", k)] == picks[("2", k)]
    every = [p for k in (1, 2, 3) for p in picks[("1", k)]]
    assert sorted(every) == sorted(set(every)) and len(every) == 9
    assert picks[("1", 1)][0].endswith("extra0.wav") and picks[("1", 2)][0].endswith("extra1.wav")


def test_folder_scans_skip_hidden_and_temporary_files(tmp_path):
    from mirctl.pipeline.inputs import expand_inputs

    (tmp_path / "a.wav").write_bytes(b"x")
    (tmp_path / ".a.mirctl-tmp-123-abcd.wav").write_bytes(b"x")
    (tmp_path / ".hidden.wav").write_bytes(b"x")
    assert [i.path.name for i in expand_inputs([str(tmp_path)], (".wav",))] == ["a.wav"]
