"""Park finished regions of a long result on disk while the rest is computed.

A separated 10-minute song is 850 MB of float32 stems; holding them while the model
still runs on later chunks would add that to the model's own working memory. The
spool writes each finished region to an anonymous temporary file (page cache, not
process memory; deleted on close, even on a crash) and reads everything back into one
array once the model is done and its memory is freed.
"""

from __future__ import annotations

import tempfile

import numpy as np


class RegionSpool:
    """Regions (sources, channels, samples) appended in time order, read back as one array."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="mirctl-spool-")
        self._shapes: list[tuple[int, ...]] = []
        self._dtype = np.float32

    def append(self, region: np.ndarray) -> None:
        region = np.ascontiguousarray(region, dtype=self._dtype)
        self._file.write(region.tobytes())
        self._shapes.append(region.shape)

    def read_all(self) -> np.ndarray:
        """The regions joined along time: (sources, channels, total samples)."""
        if not self._shapes:
            return np.zeros((0, 0, 0), dtype=self._dtype)
        lead = self._shapes[0][:-1]
        total = sum(s[-1] for s in self._shapes)
        out = np.empty(lead + (total,), dtype=self._dtype)
        self._file.seek(0)
        pos = 0
        for shape in self._shapes:
            count = int(np.prod(shape))
            block = np.frombuffer(self._file.read(count * 4), dtype=self._dtype).reshape(shape)
            out[..., pos:pos + shape[-1]] = block
            pos += shape[-1]
        return out

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RegionSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
