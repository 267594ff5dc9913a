"""musicnn and VGG music auto-taggers (Pons & Serra, 2019) ported to torch.

The networks are defined here, layer for layer as musicnn 0.1.0 builds them with
``tf.compat.v1.layers`` (``musicnn/models.py``), in NCHW. Their weights are the four
TF1 checkpoints in the musicnn wheel (ISC), converted once by
``tools/convert_musicnn.py`` to safetensors files named after the TensorFlow variables
(``batch_normalization_3/gamma``, ``conv2d_5/kernel``, ``dense_1/bias``…), which this
module maps onto the torch layers (kernels transposed from HWIO to OIHW).

Input: log-compressed mel patches ``log10(1 + 10000·mel)`` of 187 frames × 96 bands
(16 kHz, 512-point FFT, hop 256: 3 s), shaped (batch, 187, 96). Output: 50 tag
probabilities per patch (sigmoid), and the penultimate layer as the embedding.
"""

from __future__ import annotations

from typing import Any

from mirctl.backends._lazy import require

N_MELS = 96
N_FRAMES = 187
BN_EPS = 1e-3  # tf.compat.v1.layers.batch_normalization's default


def build_musicnn(num_classes: int = 50, frontend_scale: float = 1.6, midend: int = 64, backend: int = 200) -> Any:
    """musicnn: timbral (7×38, 7×67) and temporal (128/64/32×1) filters over the whole
    mel axis, three dense-residual 1-D convolutions, max+mean pooling, two dense layers."""
    torch = require("torch", extra="tag")
    nn, F = torch.nn, torch.nn.functional
    timbral = int(frontend_scale * 128)
    temporal = int(frontend_scale * 32)
    freq_74, freq_77 = int(0.4 * N_MELS), int(0.7 * N_MELS)
    front = 2 * timbral + 3 * temporal
    dense_in = 2 * (front + 3 * midend)

    class Musicnn(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn_in = nn.BatchNorm2d(1, eps=BN_EPS)
            self.f74 = nn.Conv2d(1, timbral, (7, freq_74))
            self.f77 = nn.Conv2d(1, timbral, (7, freq_77))
            self.bn74, self.bn77 = nn.BatchNorm2d(timbral, eps=BN_EPS), nn.BatchNorm2d(timbral, eps=BN_EPS)
            self.temporal = nn.ModuleList([nn.Conv2d(1, temporal, (k, 1)) for k in (128, 64, 32)])
            self.bn_temporal = nn.ModuleList([nn.BatchNorm2d(temporal, eps=BN_EPS) for _ in range(3)])
            self.mid = nn.ModuleList([nn.Conv1d(front, midend, 7)] + [nn.Conv1d(midend, midend, 7) for _ in range(2)])
            self.bn_mid = nn.ModuleList([nn.BatchNorm1d(midend, eps=BN_EPS) for _ in range(3)])
            self.bn_pool = nn.BatchNorm1d(dense_in, eps=BN_EPS)
            self.dense = nn.Linear(dense_in, backend)
            self.bn_dense = nn.BatchNorm1d(backend, eps=BN_EPS)
            self.out = nn.Linear(backend, num_classes)

        @staticmethod
        def _pool(conv_out: Any, bn: Any) -> Any:
            """max over frequency of bn(relu(conv_out)), (B, C, T, F') -> (B, C, T), with
            the pooling first: relu and a batch norm of positive scale are monotonic, so
            they commute with max exactly (a channel with a negative scale takes the min),
            and the two then touch 1/F' of the values (a third of the run time)."""
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            pooled = conv_out.amax(dim=3)
            if bool((scale < 0).any()):
                pooled = torch.where(scale[None, :, None] < 0, conv_out.amin(dim=3), pooled)
            return F.batch_norm(F.relu(pooled), bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0,
                                bn.eps)

        def embed(self, patches: Any) -> tuple[Any, Any]:
            """(batch, 187, 96) -> (logits, penultimate)."""
            x = self.bn_in(patches[:, None])  # (B, 1, T, F)
            padded = F.pad(x, (0, 0, 3, 3))
            feats = [self._pool(self.f74(padded), self.bn74), self._pool(self.f77(padded), self.bn77)]
            for conv, bn in zip(self.temporal, self.bn_temporal):
                k = conv.kernel_size[0]
                same = F.pad(x, (0, 0, (k - 1) // 2, k - 1 - (k - 1) // 2))  # TF 'same' for an even kernel
                feats.append(self._pool(conv(same), bn))
            front = torch.cat(feats, dim=1)  # (B, 561, T)
            outs = [front]
            h = front
            for i, (conv, bn) in enumerate(zip(self.mid, self.bn_mid)):
                y = bn(F.relu(conv(F.pad(h, (3, 3)))))
                h = y if i == 0 else y + h
                outs.append(h)
            features = torch.cat(outs, dim=1)  # (B, 753, T)
            pooled = torch.stack([features.amax(dim=2), features.mean(dim=2)], dim=2).flatten(1)  # max/mean per feature
            hidden = self.bn_dense(F.relu(self.dense(self.bn_pool(pooled))))
            return self.out(hidden), hidden

        def forward(self, patches: Any) -> Any:
            return torch.sigmoid(self.embed(patches)[0])

    return Musicnn()


def build_vgg(num_classes: int = 50, filters: int = 128) -> Any:
    """The VGG-like baseline: five 3×3 conv + max-pool stages, one dense layer."""
    torch = require("torch", extra="tag")
    nn, F = torch.nn, torch.nn.functional
    pools = [((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((4, 4), (4, 4))]

    class Vgg(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn_in = nn.BatchNorm2d(1, eps=BN_EPS)
            self.convs = nn.ModuleList([nn.Conv2d(1 if i == 0 else filters, filters, 3, padding=1) for i in range(5)])
            self.bns = nn.ModuleList([nn.BatchNorm2d(filters, eps=BN_EPS) for _ in range(5)])
            self.out = nn.Linear(2 * 1 * filters, num_classes)

        def embed(self, patches: Any) -> tuple[Any, Any]:
            x = self.bn_in(patches[:, None])
            for conv, bn, (size, stride) in zip(self.convs, self.bns, pools):
                x = F.max_pool2d(bn(F.relu(conv(x))), size, stride)
            flat = x.permute(0, 2, 3, 1).flatten(1)  # TF flattens NHWC
            return self.out(flat), flat

        def forward(self, patches: Any) -> Any:
            return torch.sigmoid(self.embed(patches)[0])

    return Vgg()


def _bn_from(tensors: dict, name: str, bn: Any) -> dict:
    return {f"{bn}.weight": tensors[f"{name}/gamma"], f"{bn}.bias": tensors[f"{name}/beta"],
            f"{bn}.running_mean": tensors[f"{name}/moving_mean"],
            f"{bn}.running_var": tensors[f"{name}/moving_variance"]}


def _conv_from(tensors: dict, name: str, conv: Any, one_d: bool = False) -> dict:
    kernel = tensors[f"{name}/kernel"].permute(3, 2, 0, 1)  # HWIO -> OIHW
    if one_d:  # a (7, C) kernel over (time, features) with one input channel is a Conv1d over C channels
        kernel = kernel[:, 0].permute(0, 2, 1)  # (O, 7, C) -> (O, C, 7)
    return {f"{conv}.weight": kernel.contiguous(), f"{conv}.bias": tensors[f"{name}/bias"]}


def _dense_from(tensors: dict, name: str, dense: Any) -> dict:
    return {f"{dense}.weight": tensors[f"{name}/kernel"].t().contiguous(), f"{dense}.bias": tensors[f"{name}/bias"]}


def musicnn_state(tensors: dict) -> dict:
    """The torch state dict of :func:`build_musicnn` from the TF variable names (the
    order in which musicnn's code creates its layers fixes their numbering)."""
    state = _bn_from(tensors, "batch_normalization", "bn_in")
    state |= _conv_from(tensors, "conv2d", "f74") | _bn_from(tensors, "batch_normalization_1", "bn74")
    state |= _conv_from(tensors, "conv2d_1", "f77") | _bn_from(tensors, "batch_normalization_2", "bn77")
    for i in range(3):
        state |= _conv_from(tensors, f"conv2d_{2 + i}", f"temporal.{i}")
        state |= _bn_from(tensors, f"batch_normalization_{3 + i}", f"bn_temporal.{i}")
    for i in range(3):
        state |= _conv_from(tensors, f"conv2d_{5 + i}", f"mid.{i}", one_d=True)
        state |= _bn_from(tensors, f"batch_normalization_{6 + i}", f"bn_mid.{i}")
    state |= _bn_from(tensors, "batch_normalization_9", "bn_pool") | _dense_from(tensors, "dense", "dense")
    state |= _bn_from(tensors, "batch_normalization_10", "bn_dense") | _dense_from(tensors, "dense_1", "out")
    return state


def vgg_state(tensors: dict) -> dict:
    state = _bn_from(tensors, "batch_normalization", "bn_in")
    for i in range(5):
        state |= _conv_from(tensors, f"{i + 1}CNN", f"convs.{i}")
        state |= _bn_from(tensors, f"batch_normalization_{i + 1}", f"bns.{i}")
    return state | _dense_from(tensors, "dense", "out")


# --- input representation ------------------------------------------------------------------

SAMPLE_RATE = 16000
N_FFT = 512
HOP = 256


def _hz_to_mel(f: Any) -> Any:
    """Slaney's mel scale (librosa's default, ``htk=False``): linear to 1 kHz, then log."""
    import numpy as np

    f = np.asarray(f, dtype=np.float64)
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), f / (200.0 / 3))


def _mel_to_hz(m: Any) -> Any:
    import numpy as np

    m = np.asarray(m, dtype=np.float64)
    return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), m * (200.0 / 3))


def mel_filters(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> Any:
    """Slaney-normalised triangular mel filters from 0 Hz to Nyquist, (n_mels, n_fft//2+1)
    float32 — ``librosa.filters.mel``'s defaults, computed here because librosa's first
    call pays for loading scipy and numba (2.4 s) and its STFT's for scipy.fft (1.5 s), on
    every `mirctl tag` run; tests hold both functions to librosa's."""
    import numpy as np

    freqs = np.linspace(0.0, sr / 2.0, n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2.0), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper)) * (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


def power_spectrogram(x: Any, n_fft: int = N_FFT, hop: int = HOP) -> Any:
    """|STFT|² with centred frames (zero padding) and a periodic Hann window, as
    ``librosa.stft(center=True)`` computes it; (frames, n_fft//2+1)."""
    import numpy as np

    padded = np.pad(np.asarray(x, np.float32), (n_fft // 2, n_fft // 2))
    frames = 1 + (padded.size - n_fft) // hop
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    out = np.empty((frames, n_fft // 2 + 1), np.float32)
    step = 4096  # frames per FFT batch: memory stays flat in the file's length
    view = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    for start in range(0, frames, step):
        spec = np.fft.rfft(view[start:start + step] * window, axis=1)
        out[start:start + step] = spec.real ** 2 + spec.imag ** 2
    return out


def mel_power(mono: Any, sr: int) -> Any:
    """The power mel spectrogram of 16 kHz audio (512-point FFT, hop 256, 96 Slaney
    bands, centred frames: librosa's ``melspectrogram`` defaults), rounded to float16 as
    musicnn stores it (returned as float32). (frames, 96)."""
    import numpy as np

    from mirctl.dsp import resample

    x = resample(np.asarray(mono, np.float32)[None], sr, SAMPLE_RATE)[0]
    mel = power_spectrogram(x) @ mel_filters().T
    return mel.astype(np.float16).astype(np.float32)


def compress(mel: Any) -> Any:
    """``log10(1 + 10000·mel)`` in float32 (what numpy 1.x, which musicnn ran on, computes
    from its float16 array; numpy 2 would stay in float16 and overflow)."""
    import numpy as np

    return np.log10(10000 * np.asarray(mel, np.float32) + 1)


def log_mel(mono: Any, sr: int) -> Any:
    """musicnn's input, (frames, 96): :func:`compress` of :func:`mel_power`."""
    return compress(mel_power(mono, sr))


def patches(rep: Any) -> Any:
    """Consecutive 187-frame (3 s) patches, as musicnn cuts them (a last partial patch is
    dropped); a clip shorter than one patch is repeated to fill one (musicnn's training
    "repeat-pad"; its own tagger fails on such clips). (n, 187, 96) float32."""
    import numpy as np

    if rep.shape[0] == 0:
        rep = np.zeros((1, N_MELS), np.float32)
    if rep.shape[0] < N_FRAMES:
        rep = np.resize(rep, (N_FRAMES, rep.shape[1]))
    n = rep.shape[0] // N_FRAMES
    return np.ascontiguousarray(rep[: n * N_FRAMES].reshape(n, N_FRAMES, rep.shape[1]), dtype=np.float32)


class MusicnnTagger:
    """Tagging-model protocol: ``__call__(mono, sr)`` -> (taggram (patches, tags),
    embeddings (patches, dims)); ``labels`` names the tags."""

    def __init__(self, card: Any, paths: dict, ctx: Any) -> None:
        from mirctl.backends._lazy import resolve_device, set_torch_threads

        self.torch = require("torch", extra="tag")
        safetensors_torch = require("safetensors.torch", extra="tag")
        set_torch_threads(ctx.threads, extra="tag")
        self.device = resolve_device(ctx.device, extra="tag")
        path = next(iter(paths.values()))
        tensors = safetensors_torch.load_file(str(path))
        if card.options.get("architecture", "musicnn") == "vgg":
            self.net, state = build_vgg(len(card.labels)), vgg_state(tensors)
        else:
            self.net, state = build_musicnn(len(card.labels)), musicnn_state(tensors)
        self.net.load_state_dict(state, strict=True)
        self.net.eval().to(self.device)
        self.labels = tuple(card.labels)
        from mirctl.models.cache import sha256_file

        self.info = {"name": card.name, "sha256": sha256_file(path)}

    def predict(self, batch: Any, size: int = 4) -> tuple[Any, Any]:
        """(n, 187, 96) patches -> (probabilities (n, tags), embeddings (n, dims)), ``size``
        patches at a time (memory stays flat in the file's length; 4 measured faster than
        16 or 32 on 2 cores: the front-end's feature maps stay in cache)."""
        import numpy as np

        probs, embeds = [], []
        with self.torch.no_grad():
            for start in range(0, batch.shape[0], size):
                x = self.torch.from_numpy(batch[start:start + size]).to(self.device)
                logits, hidden = self.net.embed(x)
                probs.append(self.torch.sigmoid(logits).cpu().numpy())
                embeds.append(hidden.cpu().numpy())
        return np.concatenate(probs), np.concatenate(embeds)

    def __call__(self, mono: Any, sr: int) -> tuple[Any, Any]:
        return self.predict(patches(log_mel(mono, sr)))


class GenreFromTagger:
    """A single-label genre classifier read off a tagger's genre tags (the ``genre``
    card): per 3 s patch, each genre's score is the highest probability among its tags
    (``[options.genres]``), then the scores are renormalised to sum to one over the
    genres. Classification-model protocol: ``__call__(mono, sr)`` -> (per-patch
    probabilities, per-patch embeddings); ``labels``."""

    aggregate = "mean"

    def __init__(self, card: Any, paths: dict, ctx: Any) -> None:
        from mirctl import models
        from mirctl.errors import ModelError

        self.tagger = models.load(models.get_card(card.options["tagger"], task="tag"), ctx)
        genres: dict[str, list[str]] = card.options["genres"]
        self.labels = tuple(card.labels)
        tag_index = {t: i for i, t in enumerate(self.tagger.labels)}
        unknown = sorted({t for g in self.labels for t in genres.get(g, ()) if t not in tag_index})
        missing = [g for g in self.labels if not genres.get(g)]
        if unknown or missing:
            raise ModelError(f"card {card.name}: tags {unknown} are not {card.options['tagger']}'s, or genres "
                             f"{missing} name no tag")
        self.columns = [[tag_index[t] for t in genres[g]] for g in self.labels]
        self.info = {"name": card.name, "tagger": dict(getattr(self.tagger, "info", {}))}

    def __call__(self, mono: Any, sr: int) -> tuple[Any, Any]:
        import numpy as np

        taggram, embeddings = self.tagger(mono, sr)
        scores = np.stack([taggram[:, cols].max(axis=1) for cols in self.columns], axis=1)
        return scores / np.maximum(scores.sum(axis=1, keepdims=True), 1e-12), embeddings
