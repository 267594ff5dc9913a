"""`mirctl train generate-midi` on a small synthetic corpus: it learns (validation
perplexity falls far below chance), is deterministic and resumable with its
learning-rate schedule, and `generate-midi --model CKPT` / `eval midi` use the result."""

from __future__ import annotations

import csv
import json

import mido
import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("miditok")

from mirctl.cli.app import app  # noqa: E402

runner = CliRunner()
TINY = ["--layers", 1, "--dim", 32, "--heads", 2, "--context", 64, "--warmup", 5, "--threads", 1]


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def write_corpus(folder, songs=8, bars=8):
    """Songs of one repeated bar: a root-third-fifth-octave arpeggio in 8ths at 120 BPM,
    transposed per song — easy to learn, so a working trainer must learn it."""
    folder.mkdir(parents=True, exist_ok=True)
    for s in range(songs):
        mid = mido.MidiFile(ticks_per_beat=480)
        track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000)])
        root = 48 + s
        last = 0
        for b in range(bars):
            for k, step in enumerate([0, 4, 7, 12, 7, 4, 0, 7]):
                on = b * 1920 + k * 240
                track.append(mido.Message("note_on", note=root + step, velocity=80, time=on - last))
                track.append(mido.Message("note_off", note=root + step, velocity=0, time=200))
                last = on + 200
        mid.tracks.append(track)
        mid.save(str(folder / f"song{s:02d}.mid"))
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("lm")
    data = write_corpus(root / "data")
    out = root / "ckpt"
    res = cli("train", "generate-midi", "--data", data, "--out", out, *TINY, "--max-steps", 150, "--batch-size", 4, "--transpose", 6,
              "--lr", 3e-3, "--valid-every", 30, "--valid-fraction", 0.25, "--json")
    assert res.exit_code == 0, res.output
    return data, out


def test_it_learns_the_corpus(trained):
    _, out = trained
    card = json.loads((out / "card.json").read_text())
    assert card["task"] == "generate-midi" and card["vocab"] == 251
    assert card["data_facts"]["songs"]["train"] == 6 and card["data_facts"]["songs"]["valid"] == 2
    assert card["metrics"]["ppl"] < 4.0  # chance is 251; the arpeggio bars repeat
    assert card["tokenizer"]["name"] == "REMI"


def test_generate_from_the_checkpoint_and_score_it(trained, tmp_path):
    _, ckpt = trained
    res = cli("generate-midi", "-n", 2, "--bars", 4, "--model", ckpt, "-o", tmp_path / "a", "--seed", 3,
              "--threads", 1, "--json")
    assert res.exit_code == 0, res.output
    records = [json.loads(line) for line in res.output.splitlines() if line.startswith("{")]
    assert [r["input"] for r in records] == ["000", "001"]
    # 4 bars, or 3 when the fourth held no onset (dropped; the exact counting is test_generation_logic's)
    assert all(r["result"]["bars"] in (3, 4) and r["result"]["complete"] for r in records)
    again = cli("generate-midi", "-n", 2, "--bars", 4, "--model", ckpt, "-o", tmp_path / "b", "--seed", 3,
                "--threads", 1, "-q")
    assert again.exit_code == 0
    for name in ("000.mid", "001.mid"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    # one item alone (as a shard or a resumed run would make it) is the same piece, and
    # so is an item sampled in another batch (-n 6: 000-003 together, then 004-005)
    single = cli("generate-midi", "--names", "001,005", "--bars", 4, "--model", ckpt, "-o", tmp_path / "c",
                 "--seed", 3, "--threads", 1, "-q")
    assert single.exit_code == 0
    assert (tmp_path / "c" / "001.mid").read_bytes() == (tmp_path / "a" / "001.mid").read_bytes()
    six = cli("generate-midi", "-n", 6, "--bars", 4, "--model", ckpt, "-o", tmp_path / "d", "--seed", 3,
              "--threads", 1, "-q")
    assert six.exit_code == 0
    for name in ("001.mid", "005.mid"):
        assert (tmp_path / "d" / name).read_bytes() == (tmp_path / "c" / name).read_bytes()
    assert (tmp_path / "a" / "000.mid").read_bytes() != (tmp_path / "a" / "001.mid").read_bytes()
    # the learnt arpeggio scores as such: 4 pitch classes... of a major chord
    table = tmp_path / "metrics.csv"
    res = cli("eval", "midi", tmp_path / "a" / "000.mid", tmp_path / "a" / "001.mid", "--csv", table, "-q")
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(table.open()))
    assert [r["piece_name"] for r in rows] == ["000", "001", "mean"]
    assert all(0.0 <= float(r["GS"]) <= 1.0 and 0.0 <= float(r["H1"]) <= 3.6 for r in rows)


def test_continuation_keeps_the_prompt_notes(trained, tmp_path):
    data, ckpt = trained
    prompt = data / "song03.mid"
    res = cli("generate-midi", prompt, "--prompt-bars", 2, "--bars", 2, "--model", ckpt, "-o", tmp_path,
              "--threads", 1, "--json", "--plot")
    assert res.exit_code == 0, res.output
    record = json.loads(res.output.splitlines()[0])
    assert record["result"]["prompt_bars"] == 2 and record["result"]["bars"] == 2
    assert (tmp_path / "song03.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = mido.MidiFile(str(tmp_path / "song03.mid"))
    tpq = out.ticks_per_beat
    notes, now = [], 0
    for msg in out.tracks[1]:
        now += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            notes.append((now * 480 // tpq, msg.note))
    prompt_notes = [(b * 1920 + k * 240, 51 + step) for b in range(2) for k, step in enumerate([0, 4, 7, 12, 7, 4, 0, 7])]
    assert sorted(n for n in notes if n[0] < 2 * 1920) == sorted(prompt_notes)
    assert any(n[0] >= 2 * 1920 for n in notes)


def test_a_resumed_run_with_the_schedule_ends_where_an_uninterrupted_one_does(tmp_path):
    from mirctl.tasks.midi_lm_training import TRAINABLE, Params
    from mirctl.training.runner import TrainOptions, train

    data = write_corpus(tmp_path / "data", songs=4, bars=4)
    params = Params(layers=1, dim=16, heads=2, context=32, warmup=3, cooldown=0.5, transpose=3, valid_fraction=0.25)
    opts = dict(data=data, seed=2, max_steps=10, batch_size=2, valid_every=4, threads=1, device="cpu", lr=3e-3)
    train(TRAINABLE, params, TrainOptions(out=tmp_path / "whole", **opts))
    cut = train(TRAINABLE, params, TrainOptions(out=tmp_path / "cut", **opts), stop=lambda step: step == 6)
    assert cut.status == "interrupted"
    train(TRAINABLE, params, TrainOptions(out=tmp_path / "cut", **opts))
    assert (tmp_path / "whole" / "model.safetensors").read_bytes() == \
        (tmp_path / "cut" / "model.safetensors").read_bytes()
    flat = train(TRAINABLE, Params(**{**params.__dict__, "cooldown": 0.0, "warmup": 0}),
                 TrainOptions(out=tmp_path / "flat", **opts))
    assert flat.status == "finished"  # another schedule: other weights
    assert (tmp_path / "flat" / "model.safetensors").read_bytes() != \
        (tmp_path / "whole" / "model.safetensors").read_bytes()


def test_usage_errors(tmp_path):
    res = cli("generate-midi", "--bars", 2)
    assert res.exit_code == 2 and "-n" in res.output
    res = cli("generate-midi", "-n", 1, "--temperature", 0, "-o", tmp_path)
    assert res.exit_code == 2 and "--temperature" in res.output
    (tmp_path / "one").mkdir()
    write_corpus(tmp_path / "one", songs=1, bars=1)
    res = cli("train", "generate-midi", "--data", tmp_path / "one", "--out", tmp_path / "o", *TINY)
    assert res.exit_code == 2 and "at least 2 MIDI files" in res.output
    res = cli("train", "generate-midi", "--data", tmp_path / "one", "--out", tmp_path / "o", "--dim", 30,
              "--heads", 4)
    assert res.exit_code == 2 and "--dim 30" in res.output


def test_python_api_gives_the_commands_piece(trained, tmp_path):
    from mirctl.api import MidiGenerator

    _, ckpt = trained
    res = cli("generate-midi", "--names", "005", "--bars", 3, "--model", ckpt, "-o", tmp_path, "--seed", 9,
              "--threads", 1, "-q")
    assert res.exit_code == 0, res.output
    gen = MidiGenerator(str(ckpt), bars=3, seed=9, threads=1)
    midi, facts = gen.generate("005")
    midi.save(str(tmp_path / "api.mid"))
    assert (tmp_path / "api.mid").read_bytes() == (tmp_path / "005.mid").read_bytes()
    assert facts["complete"] and facts["seed"] == (__import__("zlib").crc32(b"005") + 9 * 0x9E3779B1) % 2**32


def test_an_item_cut_by_max_tokens_says_so(trained, tmp_path):
    _, ckpt = trained
    res = cli("generate-midi", "-n", 1, "--bars", 4, "--max-tokens", 6, "--model", ckpt, "-o", tmp_path,
              "--threads", 1, "--json")
    assert res.exit_code == 0, res.output
    rec = json.loads(next(line for line in res.output.splitlines() if line.startswith("{")))
    assert rec["status"] == "ok" and rec["result"]["complete"] is False and rec["result"]["tokens"] == 6
    assert rec["warnings"] and "--max-tokens" in rec["warnings"][0]
