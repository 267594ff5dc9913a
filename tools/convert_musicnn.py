"""Convert musicnn's four TF1 checkpoints to safetensors, and record the original
model's outputs as test fixtures. Run once, in a throwaway environment:

    python3.11 -m venv /tmp/tfenv
    /tmp/tfenv/bin/pip install "tensorflow-cpu==2.15.0" "numpy<2" "librosa==0.10.1" safetensors
    /tmp/tfenv/bin/pip install --no-deps musicnn==0.1.0       # ISC; the checkpoints are inside
    /tmp/tfenv/bin/python tools/convert_musicnn.py --out src/mirctl/weights/musicnn \\
        --fixtures tests/tag/fixtures/musicnn_taggrams.npz --shared ../shared

Weights: every model variable (Adam's slots and counters left out) as float32, under
its TensorFlow name; ``mirctl.backends.musicnn_backend`` maps the names onto its torch
layers. Each variable is read with ``NewCheckpointReader`` (``tf.train.load_checkpoint``
fails on these folders: their ``checkpoint`` files name the author's paths).

Fixtures: log-mel patches made by musicnn's own ``batch_data`` (librosa) from real
clips in ../shared, each model's taggram on them computed by musicnn's own graph code
(``musicnn.models.define_model`` in a ``tf.compat.v1`` session), and the musicnn
models' penultimate layer. The session restores with ``Saver.restore`` and then checks
every variable against the reader: musicnn's extractor restores inside a bare
``except`` and would silently run random weights.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

MODELS = ("MTT_musicnn", "MSD_musicnn", "MTT_vgg", "MSD_vgg")
CLIPS = (  # (path under ../shared/data, how many 3 s patches to keep)
    ("musdb18_7s/wav/Music Delta - 80s Rock/mixture.wav", 2),
    ("basic_pitch_vocadito/vocadito_10.wav", 1),
    ("medley_solos_db/audio/Medley-solos-DB_training-4_008bc279-90a2-5de5-fe5a-ab011cef41a1.wav", 1),  # piano, 2.97 s
)


def model_variables(folder: Path) -> dict[str, np.ndarray]:
    import tensorflow as tf

    reader = tf.compat.v1.train.NewCheckpointReader(str(folder) + "/")
    names = [n for n in reader.get_variable_to_shape_map()
             if "Adam" not in n and n not in ("beta1_power", "beta2_power") and "global_step" not in n]
    return {n: np.asarray(reader.get_tensor(n), dtype=np.float32) for n in sorted(names)}


def patches(audio_path: Path, keep: int) -> np.ndarray:
    """musicnn's own spectrogram patches; a clip shorter than one patch is repeat-padded
    (musicnn's training config says "pad_short": "repeat-pad"; its tagger would fail)."""
    import librosa
    from musicnn import configuration as config

    audio, sr = librosa.load(str(audio_path), sr=config.SR)
    rep = librosa.feature.melspectrogram(y=audio, sr=sr, hop_length=config.FFT_HOP, n_fft=config.FFT_SIZE,
                                         n_mels=config.N_MELS).T
    rep = np.log10(10000 * rep.astype(np.float16) + 1)  # numpy 1.x: float16 mel, float32 result
    if rep.shape[0] < 187:
        rep = np.resize(rep, (187, rep.shape[1]))  # repeats whole frames in order
    return np.stack([rep[i * 187:(i + 1) * 187] for i in range(min(keep, rep.shape[0] // 187))])


def run_original(model: str, folder: Path, batch: np.ndarray, weights: dict[str, np.ndarray]) -> tuple:
    import tensorflow as tf
    from musicnn import models

    tf.compat.v1.disable_eager_execution()
    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, 187, 96])
        training = tf.compat.v1.placeholder(tf.bool)
        out = models.define_model(x, training, model, 50)
        probs = tf.nn.sigmoid(out[0])
        penultimate = out[-1] if "musicnn" in model else out[0]
    with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        tf.compat.v1.train.Saver().restore(sess, str(folder) + "/")
        for var in tf.compat.v1.global_variables():  # the restore really happened
            name = var.name.split(":")[0]
            if name in weights and not np.array_equal(sess.run(var), weights[name]):
                raise SystemExit(f"{model}: {name} was not restored")
        p, h = sess.run([probs, penultimate], feed_dict={x: batch, training: False})
    return p, h


def main() -> None:
    import musicnn
    from safetensors.numpy import save_file

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--fixtures", type=Path, required=True)
    ap.add_argument("--shared", type=Path, required=True)
    args = ap.parse_args()
    root = Path(musicnn.__file__).parent
    args.out.mkdir(parents=True, exist_ok=True)
    batch = np.concatenate([patches(args.shared / "data" / rel, keep) for rel, keep in CLIPS]).astype(np.float32)
    fixtures: dict[str, np.ndarray] = {"patches": batch}  # float32: what the graph was fed
    manifest = {}
    for model in MODELS:
        weights = model_variables(root / model)
        name = model.lower().replace("_", "-")  # mtt-musicnn
        path = args.out / f"{name}.safetensors"
        save_file(weights, str(path), metadata={"source": f"musicnn 0.1.0 wheel, {model}", "license": "ISC"})
        manifest[name] = {"variables": len(weights), "parameters": int(sum(w.size for w in weights.values())),
                          "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
        probs, hidden = run_original(model, root / model, batch, weights)
        fixtures[f"{name}/taggram"] = probs.astype(np.float32)
        if "musicnn" in model:
            fixtures[f"{name}/penultimate"] = hidden.astype(np.float32)
        print(model, manifest[name], "taggram", probs.shape)
    args.fixtures.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.fixtures, **fixtures)
    print(json.dumps(manifest, indent=1))


if __name__ == "__main__":
    main()
