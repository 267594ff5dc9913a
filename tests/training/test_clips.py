"""The clip models' augmentation (mirctl.training.clips) against the front-end itself:
a pitch-shifted mel must look like the mel of the shifted sound."""

from __future__ import annotations

import numpy as np
import pytest

from mirctl.backends.musicnn_backend import mel_power
from mirctl.testing import sine
from mirctl.training.clips import ClipParams, add_noise, mel_centres, shift_pitch

CENTRES = mel_centres()


def harmonic(f0, sr=16000, sec=1.0):
    return sum(sine(f0 * k, sec, sr, amp=0.3 / k)[0] for k in (1, 2, 3))


@pytest.mark.parametrize("f0, semitones", [(220.0, 3.0), (440.0, -4.0), (1500.0, 2.0)])
def test_shift_pitch_gives_the_mel_of_the_shifted_sound(f0, semitones):
    shifted = shift_pitch(mel_power(harmonic(f0), 16000), semitones, CENTRES)
    target = mel_power(harmonic(f0 * 2 ** (semitones / 12)), 16000)
    other = mel_power(harmonic(f0 * 2 ** (-semitones / 12)), 16000)  # the shift the other way
    a, b, c = (np.log10(1 + 10000 * m.mean(axis=0)) for m in (shifted, target, other))
    assert np.argmax(a) == np.argmax(b)
    assert np.corrcoef(a, b)[0, 1] > 0.95 and np.corrcoef(a, b)[0, 1] > np.corrcoef(a, c)[0, 1] + 0.05


def test_shift_pitch_of_zero_is_the_identity_and_upward_shifts_empty_the_bottom():
    mel = np.random.default_rng(0).random((10, 96)).astype(np.float32)
    assert shift_pitch(mel, 0.0, CENTRES) is mel
    down = shift_pitch(mel, -12.0, CENTRES)  # an octave down: the top bands read above Nyquist -> 0
    assert np.all(down[:, -1] == 0) and np.all(down[:, 0] > 0)


@pytest.mark.parametrize("pink", [False, True])
def test_add_noise_lands_at_the_asked_snr(pink):
    rng = np.random.default_rng(1)
    mel = mel_power(harmonic(330.0, sec=3.0), 16000)
    noisy = add_noise(mel, 10.0, pink, rng, CENTRES)
    noise = noisy - mel
    assert np.all(noise > 0)
    snr = 10 * np.log10(mel.mean() / noise.mean())
    assert snr == pytest.approx(10.0, abs=0.3)
    low, high = noise[:, :20].mean(), noise[:, -20:].mean()
    assert (high < low / 5) if pink else (0.8 < high / low < 1.25)


def test_window_crops_repeats_and_applies_the_gain():
    from mirctl.backends.musicnn_backend import compress
    from mirctl.tasks.tag_training import TRAINABLE

    mel = mel_power(harmonic(440.0, sec=1.0), 16000).astype(np.float16)  # 63 frames: shorter than a window
    params = ClipParams(gain_db=0.0)
    win = TRAINABLE.window(mel, np.random.default_rng(0), params, CENTRES)
    assert win.shape == (187, 96) and np.allclose(win[:63], compress(mel)) and np.allclose(win[63:126], win[:63])
    loud = TRAINABLE.window(mel, np.random.default_rng(0), ClipParams(gain_db=12.0), CENTRES)
    assert not np.allclose(loud, win)


def test_mel_centres_are_librosas_mel_frequencies():
    librosa = pytest.importorskip("librosa")
    assert np.allclose(mel_centres(), librosa.mel_frequencies(98, fmin=0.0, fmax=8000.0)[1:-1], rtol=1e-9)


def test_shift_pitch_on_a_small_grid_exactly():
    centres = np.array([100.0, 200.0, 400.0, 800.0])
    mel = np.array([[1.0, 2.0, 3.0, 4.0]], np.float32)
    assert np.allclose(shift_pitch(mel, 12.0, centres), [[1, 1, 2, 3]])  # below the first band: its value
    assert np.allclose(shift_pitch(mel, -12.0, centres), [[2, 3, 4, 0]])  # above the last: nothing
    half = shift_pitch(mel, 6.0, centres)  # read at f / sqrt(2): 70.7 (below), 141.4, 282.8, 565.7 Hz
    assert half.dtype == np.float32
    assert np.allclose(half, [[1, 1 + 0.41421, 2 + 0.41421, 3 + 0.41421]], atol=1e-4)
    assert np.allclose(shift_pitch(mel, -6.0, centres), [[1 + 0.41421, 2 + 0.41421, 3 + 0.41421, 0]], atol=1e-4)


def test_add_noise_colours_exactly():
    centres = np.array([25.0, 100.0, 1000.0, 4000.0])
    mel = np.full((2000, 4), 2.0, np.float32)
    white = add_noise(mel, 0.0, False, np.random.default_rng(0), centres) - mel
    pink = add_noise(mel, 0.0, True, np.random.default_rng(0), centres) - mel
    assert white.dtype == np.float32 and np.allclose(white.mean(axis=0), 2.0, rtol=0.05)
    shape = 1000.0 / np.array([50.0, 100.0, 1000.0, 4000.0])  # 1/f above 50 Hz, flat below
    assert np.allclose(pink.mean(axis=0), 2.0 * shape / shape.mean(), rtol=0.05)
    # the same draws coloured two ways: their ratio is the colour itself, band by band
    assert np.allclose(pink / white, shape / shape.mean(), rtol=1e-3)  # float32 sums round


def test_window_applies_crop_gain_pitch_and_noise_in_that_order():
    from mirctl.backends.musicnn_backend import compress
    from mirctl.tasks.tag_training import TRAINABLE

    mel = np.random.default_rng(3).random((400, 96)).astype(np.float16)
    params = ClipParams(gain_db=6.0, pitch_shift=2.0, noise_snr=5.0)
    for seed in range(6):  # the noise goes into about half the windows
        got = TRAINABLE.window(mel, np.random.default_rng(seed), params, CENTRES)
        rng = np.random.default_rng(seed)
        start = int(rng.integers(0, 400 - 187 + 1))
        x = mel[start:start + 187].astype(np.float32) * 10 ** (rng.uniform(-6, 6) / 10)
        x = shift_pitch(x, rng.uniform(-2, 2), CENTRES)
        if rng.random() < 0.5:
            x = add_noise(x, rng.uniform(5, 25), bool(rng.random() < 0.5), rng, CENTRES)
        assert got.dtype == np.float32 and np.allclose(got, compress(x)), seed


def test_clip_params_are_checked():
    from mirctl.errors import UsageError
    from mirctl.tasks.tag_training import TRAINABLE

    ranges = "--gain-db and --pitch-shift are ranges (± that much): at least 0"
    for bad, message in ((dict(features="vgg"), "--features 'vgg' is not one of mel, musicnn-mtt, musicnn-msd"),
                         (dict(arch="rnn"), "--arch 'rnn' is not one of short-chunk, crnn"),
                         (dict(head="deep"), "--head 'deep' is not linear or mlp"),
                         (dict(width=0), "--width and --npy-sr must be at least 1"),
                         (dict(npy_sr=0), "--width and --npy-sr must be at least 1"),
                         (dict(dropout=1.0), "--dropout 1.0 must be in [0, 1)"),
                         (dict(dropout=-0.1), "--dropout -0.1 must be in [0, 1)"),
                         (dict(gain_db=-1.0), ranges), (dict(pitch_shift=-1.0), ranges)):
        with pytest.raises(UsageError) as err:
            TRAINABLE.validate(ClipParams(**bad))
        assert err.value.message == message
    TRAINABLE.validate(ClipParams(dropout=0.0, width=1, npy_sr=1, gain_db=0.0, pitch_shift=0.0))
    for head in ("linear", "mlp"):
        TRAINABLE.validate(ClipParams(head=head))


def test_prepare_build_and_collate_of_a_small_set(tmp_path):
    import torch

    from mirctl.tasks.classify_training import TRAINABLE as CLASSIFY, Params
    from mirctl.testing import write_class_folders
    from mirctl.training.data import load_clip

    data = write_class_folders(tmp_path / "d", n_per_class=3, seed=0, sec=4.0, sr=8000)
    prepared = CLASSIFY.prepare(Params(valid_fraction=0.25), data, seed=1)
    assert prepared.info["labels"] == ["brown_noise", "high_square", "low_sine", "white_noise"]
    assert len(prepared.train) == 8 and len(prepared.valid) == 4  # stratified: one of each class's three
    assert prepared.info["counts"] == {c: 2 for c in prepared.info["labels"]}
    example = prepared.train[0]
    assert example.x.dtype == np.float16 and example.x.shape == (251, 96)  # 4 s at 16 kHz, hop 256, centred
    assert np.allclose(example.x.astype(np.float32), mel_power(*load_clip(next(data.rglob(example.name)), 1)))
    model = CLASSIFY.build(Params(width=4), prepared.info)
    counts = torch.tensor([prepared.info["counts"][c] for c in prepared.info["labels"]], dtype=torch.float32)
    assert torch.allclose(model.class_weight, counts.sum() / (4 * counts))
    assert "class_weight" not in model.state_dict()  # not saved with the weights
    unweighted = CLASSIFY.build(Params(width=4, class_weights=False), prepared.info)
    assert torch.equal(unweighted.class_weight, torch.ones(4))
    x, y = CLASSIFY.collate(prepared.train[:1], np.random.default_rng(0), Params())
    assert x.shape == (2, 187, 96) and y.dtype == torch.int64 and y.tolist() == [int(example.y)] * 2
    assert not torch.equal(x[0], x[1])  # two windows of the one clip, not one twice
    loss = CLASSIFY.target_loss(torch.zeros(2, 4), y, Params(), model)
    assert float(loss) == pytest.approx(np.log(4))


def test_evaluate_and_card_of_both_clip_tasks_on_a_tiny_model(tmp_path):
    """evaluate() scores each validation clip from its patches as the commands do; the
    card says what the model sees (a fast check beside the long training tests)."""
    import torch

    from mirctl.backends.clip_models import run_patches
    from mirctl.backends.musicnn_backend import compress, patches
    from mirctl.tasks.classify_training import TRAINABLE as CLASSIFY, Params as ClassifyParams
    from mirctl.tasks.tag_training import TRAINABLE as TAG, Params as TagParams
    from mirctl.testing import write_class_folders, write_multilabel_set

    torch.manual_seed(0)
    data = write_class_folders(tmp_path / "c", n_per_class=2, seed=0, sec=7.0)
    params = ClassifyParams(width=4, valid_fraction=0.5)
    prepared = CLASSIFY.prepare(params, data, seed=0)
    model = CLASSIFY.build(params, prepared.info).eval()
    per_patch = CLASSIFY.patch_probabilities(model, prepared.valid, params)
    assert [p.shape for p in per_patch] == [(2, 4)] * len(prepared.valid)  # 7 s: two 3 s patches each
    direct = run_patches(model, patches(compress(prepared.valid[0].x)), activation="softmax")[0]
    assert np.allclose(per_patch[0], direct) and np.allclose(direct.sum(axis=1), 1.0, atol=1e-6)
    with torch.no_grad():
        metrics = CLASSIFY.evaluate(model, prepared, params)
    truth = [int(e.y) for e in prepared.valid]
    means = [p.mean(axis=0) for p in per_patch]
    assert metrics["loss"] == pytest.approx(np.mean([-np.log(m[t]) for m, t in zip(means, truth)]), rel=1e-5)
    assert metrics["top1"] == round(np.mean([np.argmax(m) == t for m, t in zip(means, truth)]), 4)
    assert set(metrics) == {"loss", "top1", "top3", "macro_f1", "segment_top1", "per_class", "confusion"}
    x, y = CLASSIFY.collate(prepared.train[:3], np.random.default_rng(0), params)
    with torch.no_grad():
        loss, figures = CLASSIFY.loss(model, (x, y), params)  # eval mode: no dropout, so comparable
        expected = torch.nn.functional.cross_entropy(model(x), y, weight=model.class_weight)
    assert figures == {} and float(loss) == pytest.approx(float(expected), rel=1e-6)
    card = CLASSIFY.card(params, prepared.info)
    assert card["architecture"] == "short-chunk CNN" and card["labels"] == prepared.info["labels"]
    assert card["features"] == {"input": "mel", "sample_rate": 16000, "n_fft": 512, "hop": 256, "n_mels": 96,
                                "patch_frames": 187, "compression": "log10(1 + 10000 mel)"}
    assert card["counts"] == prepared.info["counts"] and card["aggregate"] == "mean"
    assert card["license"] == "as the training data's (trained by mirctl train classify)"
    assert CLASSIFY.card(ClassifyParams(arch="crnn"), prepared.info)["architecture"] == "CRNN"
    head = CLASSIFY.card(ClassifyParams(features="musicnn-msd", head="linear"), prepared.info)
    assert head["architecture"] == "linear head on musicnn-msd" and head["sample_rate"] == 16000
    assert head["features"]["embedding"] == "the musicnn-msd tagger's penultimate layer (200 values per patch)"

    tags = write_multilabel_set(tmp_path / "t", n=12, seed=1, sec=3.0)
    tparams = TagParams(width=4, valid_fraction=0.25)
    tprep = TAG.prepare(tparams, tags, seed=0)
    tmodel = TAG.build(tparams, tprep.info).eval()
    with torch.no_grad():
        tm = TAG.evaluate(tmodel, tprep, tparams)
    scores = TAG.scores(tmodel, list(tprep.valid), tparams)
    ref = np.stack([e.y for e in tprep.valid]).astype(bool)
    clipped = np.clip(scores, 1e-7, 1 - 1e-7)
    assert tm["loss"] == pytest.approx(-np.mean(ref * np.log(clipped) + ~ref * np.log(1 - clipped)), rel=1e-5)
    assert set(tm["thresholds"]) == set(tprep.info["labels"]) and set(tm["per_tag"]) == set(tprep.info["labels"])
    x, y = TAG.collate(tprep.train, np.random.default_rng(0), tparams)
    assert y.shape == (9, 4) and x.shape == (9, 187, 96)
    assert TAG.card(tparams, tprep.info)["positives"] == tprep.info["positives"]


def test_the_representations_are_the_mel_front_end_and_the_taggers_embeddings():
    from mirctl import models
    from mirctl.tasks.tag_training import TRAINABLE, Params

    mono = harmonic(440.0, sec=4.0)
    mel = TRAINABLE._representation(Params(features="mel"))(mono, 16000)
    assert mel.dtype == np.float16 and np.array_equal(mel, mel_power(mono, 16000).astype(np.float16))
    got = TRAINABLE._representation(Params(features="musicnn-mtt"))(mono, 16000)
    embedder = models.load(models.get_card("musicnn-mtt", task="tag"), models.RunContext(device="cpu"))
    want = embedder(mono, 16000)[1]  # the penultimate layer, one row per patch
    assert got.dtype == np.float32 and got.shape == (1, 200) and np.array_equal(got, want.astype(np.float32))


def test_collate_of_embeddings_draws_one_patch_per_clip_and_build_follows_head_and_arch():
    import torch

    from mirctl.tasks.tag_training import TRAINABLE, Params
    from mirctl.training.clips import Example

    examples = [Example(f"c{i}", np.arange(600 * i, 600 * (i + 1), dtype=np.float32).reshape(3, 200),
                        np.array([i % 2, 1 - i % 2], np.float32)) for i in range(6)]
    x, y = TRAINABLE.collate(examples, np.random.default_rng(5), Params(features="musicnn-mtt"))
    rng = np.random.default_rng(5)
    picks = [int(rng.integers(0, 3)) for _ in examples]
    assert set(picks) == {0, 1, 2}  # every patch, the first included, can be drawn
    assert torch.equal(x, torch.from_numpy(np.stack([e.x[p] for e, p in zip(examples, picks)])))
    assert torch.equal(y, torch.from_numpy(np.stack([e.y for e in examples])))
    info = {"labels": ["a", "b"]}
    sizes = {head: sum(p.numel() for p in TRAINABLE.build(Params(features="musicnn-mtt", head=head), info).parameters())
             for head in ("linear", "mlp")}
    assert sizes["linear"] == 200 * 2 + 2 and sizes["mlp"] > sizes["linear"]  # a linear head: weights and biases
    assert [type(TRAINABLE.build(Params(arch=arch, width=4), info)).__name__
            for arch in ("crnn", "short-chunk")] == ["CRNN", "ShortChunkCNN"]


def test_collate_of_mel_windows_shifts_pitch_on_musicnns_bands():
    from mirctl.tasks.tag_training import TRAINABLE, Params
    from mirctl.training.clips import Example

    mel = np.random.default_rng(1).random((300, 96)).astype(np.float16)
    examples = [Example("a", mel, np.array([1.0], np.float32)), Example("b", mel[::-1].copy(), np.array([0.0], np.float32))]
    params = Params(pitch_shift=3.0, gain_db=0.0)
    x, _ = TRAINABLE.collate(examples, np.random.default_rng(2), params)
    rng = np.random.default_rng(2)
    want = [TRAINABLE.window(e.x, rng, params, CENTRES) for e in examples]
    assert np.allclose(x.numpy(), np.stack(want))


def test_loss_hands_the_task_its_params_and_model():
    """loss() is the task's target_loss on the model's logits, given the run's params and the
    model itself (the classifier's class weights live on the model)."""
    import torch

    from mirctl.training.clips import ClipTraining

    seen = []

    class Spy(ClipTraining):
        def target_loss(self, logits, y, params, model):
            seen.append((logits, y, params, model))
            return (logits.sum() - y.sum()) * 2

    model = torch.nn.Linear(3, 2)
    x, y = torch.ones(4, 3), torch.arange(8.0).reshape(4, 2)
    params = ClipParams(width=7)
    loss, figures = Spy().loss(model, (x, y), params)
    (logits, got_y, got_params, got_model), = seen
    assert got_params is params and got_model is model and got_y is y
    with torch.no_grad():
        want = model(x)
    assert torch.equal(logits.detach(), want) and figures == {}
    assert float(loss.detach()) == pytest.approx(float((want.sum() - y.sum()) * 2))


def test_patch_probabilities_of_embeddings_run_the_rows_as_they_are():
    """With tagger embeddings each row is already one patch's features: the head runs on them
    unchanged (no log compression, no cutting into mel patches)."""
    import torch

    from mirctl.backends.clip_models import run_patches
    from mirctl.tasks.tag_training import TRAINABLE, Params
    from mirctl.training.clips import Example

    torch.manual_seed(0)
    params = Params(features="musicnn-mtt", head="linear")
    model = TRAINABLE.build(params, {"labels": ["a", "b", "c"]}).eval()
    rows = np.random.default_rng(0).random((5, 200)).astype(np.float32)
    got = TRAINABLE.patch_probabilities(model, [Example("e", rows, np.zeros(3, np.float32))], params)
    with torch.no_grad():
        want = torch.sigmoid(model(torch.from_numpy(rows))).numpy()
    assert len(got) == 1 and got[0].shape == (5, 3) and np.allclose(got[0], want, atol=1e-6)
    assert np.allclose(got[0], run_patches(model, rows, "cpu", activation="sigmoid")[0])


def test_prepare_reads_npy_clips_at_npy_sr(tmp_path):
    """A .npy clip holds bare samples: prepare() takes their rate from --npy-sr, so the mel
    is that of the sound at that rate (a 440 Hz tone stored at 8 kHz stays 440 Hz)."""
    from mirctl.tasks.classify_training import TRAINABLE as CLASSIFY, Params

    data = tmp_path / "d"
    for label, f0 in (("low", 220.0), ("high", 440.0)):
        (data / label).mkdir(parents=True)
        for i in range(2):
            np.save(data / label / f"{label}{i}.npy", harmonic(f0 * (1 + i / 100), sr=8000, sec=3.0).astype(np.float32))
    prepared = CLASSIFY.prepare(Params(valid_fraction=0.5, npy_sr=8000), data, seed=0)
    for example in prepared.train + prepared.valid:
        samples = np.load(next(data.rglob(example.name)))
        want = mel_power(samples, 8000)
        assert example.x.shape == want.shape and np.allclose(example.x.astype(np.float32), want, rtol=2e-3, atol=1e-6)
    at_16k = CLASSIFY.prepare(Params(valid_fraction=0.5, npy_sr=16000), data, seed=0)
    assert at_16k.train[0].x.shape[0] < prepared.train[0].x.shape[0] // 1.5  # read as twice as fast: half as long
