"""mirctl.training.data: the labels tables of train tag/classify (every form, every
refusal), class folders, the split, and reading clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mirctl.errors import InputError, UsageError
from mirctl.training.data import (LabelledClip, load_clip, read_class_folders, read_multilabel, read_single_label,
                                  split)


def touch(*paths):
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"")


def test_read_multilabel_checks_values_and_files(tmp_path):
    from mirctl.training.data import read_multilabel

    (tmp_path / "a.wav").write_bytes(b"")
    (tmp_path / "t.csv").write_text("path,piano,bass\na.wav,1,0\n")
    tags, clips = read_multilabel(tmp_path / "t.csv", tmp_path)
    assert tags == ["piano", "bass"] and clips[0].target == (1.0, 0.0) and clips[0].path == tmp_path / "a.wav"
    (tmp_path / "t.csv").write_text("path,piano,bass\na.wav,1,yes\n")
    with pytest.raises(UsageError, match="line 2: bass = 'yes'"):
        read_multilabel(tmp_path / "t.csv", tmp_path)
    (tmp_path / "t.csv").write_text("path,piano\na.wav,1\nb.wav,0\n")
    with pytest.raises(UsageError, match=r"1 clip\(s\) named in .* do not exist: .*b\.wav"):
        read_multilabel(tmp_path / "t.csv", tmp_path)
    (tmp_path / "t.csv").write_text("path,piano,split\na.wav,1,holdout\n")
    with pytest.raises(UsageError, match="split 'holdout'"):
        read_multilabel(tmp_path / "t.csv", tmp_path)
    with pytest.raises(UsageError, match="does not exist"):
        read_multilabel(tmp_path / "none.csv", tmp_path)


def test_split_keeps_groups_together_and_follows_a_split_column():
    from mirctl.training.data import LabelledClip, split

    clips = [LabelledClip(Path(f"{song}_{k}.wav"), (1.0,), group=song) for song in "abcdefghij" for k in range(3)]
    train, valid = split(clips, 0.2, seed=0)
    assert len(valid) == 6 and len(train) == 24
    assert not {c.group for c in train} & {c.group for c in valid}
    assert split(clips, 0.2, seed=0) == (train, valid) and split(clips, 0.2, seed=1) != (train, valid)
    marked = [LabelledClip(Path(f"{i}.wav"), (1.0,), split=s) for i, s in enumerate(["train", "valid", "test", None])]
    train, valid = split(marked, 0.5, seed=0)
    assert [c.path.name for c in train] == ["0.wav", "3.wav"] and [c.path.name for c in valid] == ["1.wav"]


def test_load_clip_reads_npy_samples_and_refuses_other_arrays(tmp_path):
    from mirctl.training.data import load_clip

    np.save(tmp_path / "st.npy", np.stack([np.ones(100), np.zeros(100)]).astype(np.float32))
    mono, sr = load_clip(tmp_path / "st.npy", 22050)
    assert sr == 22050 and mono.shape == (100,) and np.allclose(mono, 0.5)
    np.save(tmp_path / "bad.npy", np.zeros((2, 3, 4)))
    with pytest.raises(InputError, match="not audio samples") as err:
        load_clip(tmp_path / "bad.npy", 16000)
    assert err.value.hint == "a .npy clip is a 1-D array of samples (or channels × samples)"
    np.save(tmp_path / "square.npy", np.array([[1.0, 3.0], [0.0, 1.0]]))  # channels first when square
    assert load_clip(tmp_path / "square.npy", 16000)[0].tolist() == [0.5, 2.0]
    np.save(tmp_path / "tall.npy", np.array([[1.0, 3.0], [0.0, 1.0], [2.0, 2.0]]))  # samples × channels
    assert load_clip(tmp_path / "tall.npy", 16000)[0].tolist() == [2.0, 0.5, 2.0]


def test_read_multilabel_forms(tmp_path):
    touch(tmp_path / "a.wav", tmp_path / "sub" / "b.npy", tmp_path / "abs.wav")
    # BOM, spaces around names and cells, split aliases, groups, an absolute path, a non-first key column
    (tmp_path / "t.csv").write_text("\ufeff piano , file ,bass,Split,GROUP\n1, a.wav ,0,val,s1\n"
                                    f"0,sub/b.npy,1,Validation,\n1,{tmp_path / 'abs.wav'},1,dev,s2\n",
                                    encoding="utf-8")
    tags, clips = read_multilabel(tmp_path / "t.csv", tmp_path)
    assert tags == ["piano", "bass"]
    assert [c.path for c in clips] == [tmp_path / "a.wav", tmp_path / "sub" / "b.npy", tmp_path / "abs.wav"]
    assert [c.target for c in clips] == [(1.0, 0.0), (0.0, 1.0), (1.0, 1.0)]
    assert [c.split for c in clips] == ["valid"] * 3 and [c.group for c in clips] == ["s1", None, "s2"]
    # a tags column: names split on ; and |, sorted; 0.0/1.0 cells in the multi-hot form
    (tmp_path / "u.csv").write_text("path,tags,split\na.wav,piano; bass,TEST\nsub/b.npy,drums|piano,train\n"
                                    "abs.wav,,\n")
    tags, clips = read_multilabel(tmp_path / "u.csv", tmp_path)
    assert tags == ["bass", "drums", "piano"]
    assert [c.target for c in clips] == [(1.0, 0.0, 1.0), (0.0, 1.0, 1.0), (0.0, 0.0, 0.0)]
    assert [c.split for c in clips] == ["test", "train", None]
    (tmp_path / "v.csv").write_text("path,piano\na.wav,1.0\nabs.wav,0.0\n")
    assert [c.target for c in read_multilabel(tmp_path / "v.csv", tmp_path)[1]] == [(1.0,), (0.0,)]


def test_read_multilabel_refusals(tmp_path):
    touch(tmp_path / "a.wav")
    (tmp_path / "t.csv").write_text("path,split,group\na.wav,train,g\n")
    with pytest.raises(UsageError, match="has no tag columns") as err:
        read_multilabel(tmp_path / "t.csv", tmp_path)
    assert "path,piano,bass" in err.value.hint
    (tmp_path / "t.csv").write_text("path,piano\n,1\n")
    with pytest.raises(UsageError, match="line 2: the path column is empty"):
        read_multilabel(tmp_path / "t.csv", tmp_path)
    (tmp_path / "t.csv").write_text("path,piano\n")
    with pytest.raises(UsageError, match="has no rows"):
        read_multilabel(tmp_path / "t.csv", tmp_path)
    (tmp_path / "t.csv").write_text("path,piano\n" + "".join(f"m{i}.wav,1\n" for i in range(5)))
    with pytest.raises(UsageError, match=r"5 clip\(s\) named in .* do not exist: .*m0\.wav, .*m1\.wav, .*m2\.wav "
                                         r"and 2 more") as err:
        read_multilabel(tmp_path / "t.csv", tmp_path)
    assert err.value.hint == "paths in the table are relative to the --data folder"
    (tmp_path / "bad.csv").write_bytes(b"path,piano\n\xff\xfe,1\n")
    with pytest.raises(UsageError, match="cannot read labels table"):
        read_multilabel(tmp_path / "bad.csv", tmp_path)


def test_read_single_label(tmp_path):
    touch(tmp_path / "x.wav", tmp_path / "y.wav", tmp_path / "z.wav")
    (tmp_path / "t.csv").write_text("path,label,split,group\nx.wav,rock,train,a\ny.wav,jazz,valid,b\n"
                                    "z.wav,rock,,a\n")
    classes, clips = read_single_label(tmp_path / "t.csv", tmp_path)
    assert classes == ["jazz", "rock"] and [c.target for c in clips] == [1, 0, 1]
    assert [c.split for c in clips] == ["train", "valid", None] and [c.group for c in clips] == ["a", "b", "a"]
    (tmp_path / "c.csv").write_text("file,Class\nx.wav,b\ny.wav,a\n")
    assert read_single_label(tmp_path / "c.csv", tmp_path)[0] == ["a", "b"]
    (tmp_path / "n.csv").write_text("path,genre\nx.wav,rock\n")
    with pytest.raises(UsageError, match="has no label column") as err:
        read_single_label(tmp_path / "n.csv", tmp_path)
    assert err.value.hint == "a CSV with the columns path,label[,split][,group]"
    (tmp_path / "e.csv").write_text("path,label\nx.wav,rock\ny.wav,\n")
    with pytest.raises(UsageError, match="line 3: the path or label column is empty"):
        read_single_label(tmp_path / "e.csv", tmp_path)
    (tmp_path / "m.csv").write_text("path,label\nx.wav,rock\nq.wav,jazz\n")
    with pytest.raises(UsageError, match=r"1 clip\(s\) named in .*m\.csv do not exist: .*q\.wav$"):
        read_single_label(tmp_path / "m.csv", tmp_path)
    (tmp_path / "s.csv").write_text("path,label,split\nx.wav,rock,later\n")
    with pytest.raises(UsageError, match="line 2: split 'later' is not one of train, valid, test"):
        read_single_label(tmp_path / "s.csv", tmp_path)


def test_read_class_folders(tmp_path):
    touch(tmp_path / "b" / "1.wav", tmp_path / "b" / "deep" / "2.FLAC", tmp_path / "a" / "3.npy",
          tmp_path / "a" / "notes.txt", tmp_path / "a" / ".hidden.wav", tmp_path / "a" / ".cache" / "4.wav",
          tmp_path / ".git" / "5.wav", tmp_path / "empty" / "x.txt", tmp_path / "loose.wav")
    classes, clips = read_class_folders(tmp_path, (".wav", ".flac", ".npy"))
    assert classes == ["a", "b"]
    assert [(c.path.relative_to(tmp_path).as_posix(), c.target) for c in clips] == \
        [("a/3.npy", 0), ("b/1.wav", 1), ("b/deep/2.FLAC", 1)]
    with pytest.raises(UsageError) as err:
        read_class_folders(tmp_path / "b", (".wav", ".flac"))
    assert (err.value.message, err.value.hint) == (
        f"--data {tmp_path / 'b'} has 1 class folder(s) with clips; classification needs at least two",
        "one sub-folder of audio (or .npy) clips per class, or --labels with path,label rows")
    with pytest.raises(UsageError, match="is not a folder"):
        read_class_folders(tmp_path / "loose.wav", (".wav",))


def test_split_by_fraction_rounds_and_keeps_one_on_each_side():
    clips = [LabelledClip(Path(f"{i}.wav"), i) for i in range(7)]
    train, valid = split(clips, 0.3, seed=2)
    assert len(valid) == 2 and len(train) == 5 and sorted(train + valid, key=lambda c: c.target) == clips
    assert len(split(clips, 0.01, seed=0)[1]) == 1  # at least one
    assert len(split(clips, 0.99, seed=0)[0]) == 1  # and at least one left to train on
    assert len(split(clips[:2], 0.5, seed=0)[1]) == 1
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(UsageError, match="must be between 0 and 1"):
            split(clips, bad, seed=0)
    with pytest.raises(UsageError) as err:
        split([LabelledClip(Path(f"{i}.wav"), i, group="g") for i in range(3)], 0.5, seed=0)
    assert (err.value.message, err.value.hint) == ("one clip (or one group) cannot be split into training and "
                                                   "validation", "label more clips, or give a split column")
    with pytest.raises(UsageError) as err:
        split([LabelledClip(Path("a.wav"), 0, split="train"), LabelledClip(Path("b.wav"), 0, split="test")], 0.2, 0)
    assert (err.value.message, err.value.hint) == (
        "the labels table has a split column but no valid rows",
        "mark some rows valid, or drop the column to split at random (--valid-fraction)")


PINNED_RANDOM = ["1", "7", "8", "10", "12", "13"]  # numpy's default_rng([0, 7]) permutation, recorded 2026-12-03
PINNED_STRATIFIED = ["3", "4", "5", "9", "14", "16"]  # default_rng([0, 7, k]) per class k


def test_a_seed_gives_the_same_split_in_every_version():
    # pinned: a run re-trained with the same seed validates on the same clips after an upgrade
    clips = [LabelledClip(Path(f"{i}.wav"), i % 2) for i in range(20)]
    assert [c.path.stem for c in split(clips, 0.3, seed=0)[1]] == PINNED_RANDOM
    assert [c.path.stem for c in split(clips, 0.3, seed=0, stratify=True)[1]] == PINNED_STRATIFIED


def test_load_clip_reads_audio_files_as_mono(tmp_path):
    stereo = np.stack([np.full(800, 0.5), np.full(800, -0.1)], axis=1).astype(np.float32)
    sf.write(tmp_path / "s.wav", stereo, 8000, subtype="FLOAT")
    mono, sr = load_clip(tmp_path / "s.wav", 16000)
    assert sr == 8000 and mono.dtype == np.float32 and mono.shape == (800,) and np.allclose(mono, 0.2)
    np.save(tmp_path / "cols.npy", stereo)  # (samples, channels): channels on the shorter axis
    mono, sr = load_clip(tmp_path / "cols.npy", 24000)
    assert sr == 24000 and mono.shape == (800,) and np.allclose(mono, 0.2)
    np.save(tmp_path / "ints.npy", np.array([1, 2, 3], dtype=np.int16))
    assert load_clip(tmp_path / "ints.npy", 1)[0].dtype == np.float32
    np.save(tmp_path / "text.npy", np.array(["a", "b"]))
    with pytest.raises(InputError, match="holds a <U1 array of shape \\(2,\\)") as err:
        load_clip(tmp_path / "text.npy", 16000)
    assert "1-D array of samples" in err.value.hint
    (tmp_path / "broken.npy").write_bytes(b"not numpy")
    with pytest.raises(InputError, match="is not a readable .npy array"):
        load_clip(tmp_path / "broken.npy", 16000)


def test_messages_name_the_table_and_say_the_way_out(tmp_path):
    touch(tmp_path / "a.wav")
    with pytest.raises(UsageError, match=r"labels table .*none\.csv does not exist") as err:
        read_multilabel(tmp_path / "none.csv", tmp_path)
    assert err.value.hint == "pass --labels FILE, or put labels.csv in the --data folder"
    (tmp_path / "t.csv").write_text("path\na.wav\n")
    with pytest.raises(UsageError) as err:
        read_multilabel(tmp_path / "t.csv", tmp_path)
    assert err.value.hint == "a multi-hot CSV: path,piano,bass,… with 0/1 values (or a `tags` column: piano;bass)"
    (tmp_path / "s.csv").write_text("path,piano,split\na.wav,1,soon\n")
    with pytest.raises(UsageError, match=f"^{tmp_path / 's.csv'} line 2: split 'soon'"):
        read_multilabel(tmp_path / "s.csv", tmp_path)
    (tmp_path / "s1.csv").write_text("path,label,split\na.wav,x,soon\n")
    with pytest.raises(UsageError, match=f"^{tmp_path / 's1.csv'} line 2: split 'soon'"):
        read_single_label(tmp_path / "s1.csv", tmp_path)
    (tmp_path / "m.csv").write_text("path,piano\nm1.wav,1\nm2.wav,1\nm3.wav,0\n")
    with pytest.raises(UsageError) as err:
        read_multilabel(tmp_path / "m.csv", tmp_path)
    assert err.value.message == (f"3 clip(s) named in {tmp_path / 'm.csv'} do not exist: {tmp_path / 'm1.wav'}, "
                                 f"{tmp_path / 'm2.wav'}, {tmp_path / 'm3.wav'}")
    (tmp_path / "m.csv").write_text("path,piano\nm1.wav,1\nm2.wav,1\nm3.wav,0\nm4.wav,0\n")
    with pytest.raises(UsageError) as err:
        read_multilabel(tmp_path / "m.csv", tmp_path)
    assert err.value.message.endswith(f": {tmp_path / 'm1.wav'}, {tmp_path / 'm2.wav'}, {tmp_path / 'm3.wav'} and 1 more")


def test_without_a_known_file_column_the_first_column_names_the_clips(tmp_path):
    touch(tmp_path / "a.wav")
    (tmp_path / "t.csv").write_text("clip,piano\na.wav,1\n")
    tags, clips = read_multilabel(tmp_path / "t.csv", tmp_path)
    assert tags == ["piano"] and clips[0].path == tmp_path / "a.wav"
    (tmp_path / "u.csv").write_text("clip,label\na.wav,rock\n")
    assert read_single_label(tmp_path / "u.csv", tmp_path)[1][0].path == tmp_path / "a.wav"


def test_a_stratified_split_puts_every_class_with_two_groups_on_both_sides():
    clips = [LabelledClip(Path(f"{c}{i}.wav"), c) for c, n in ((0, 10), (1, 2), (2, 1), (3, 5)) for i in range(n)]
    for seed in range(20):
        train, valid = split(clips, 0.2, seed, stratify=True)
        assert sorted(c.target for c in valid) == [0, 0, 1, 3]  # round(0.2 n), at least one, one left to train
        assert {c.target for c in train} == {0, 1, 2, 3}
    grouped = [LabelledClip(Path(f"s{s}_{k}.wav"), s % 2, group=f"s{s}") for s in range(8) for k in range(3)]
    train, valid = split(grouped, 0.25, 3, stratify=True)
    assert len(valid) == 6 and not {c.group for c in train} & {c.group for c in valid}
    assert sorted({c.target for c in valid}) == [0, 1]
    assert split(grouped, 0.25, 3, stratify=True) == (train, valid)
    pairs = [LabelledClip(Path(f"{c}{i}.wav"), c) for c in range(3) for i in range(2)]
    train, valid = split(pairs, 0.9, 0, stratify=True)  # round(0.9 × 2) = 2, but one stays to train on
    assert sorted(c.target for c in train) == sorted(c.target for c in valid) == [0, 1, 2]
