"""Import optional heavy libraries on demand and resolve ``--device``."""

from __future__ import annotations

import importlib
from types import ModuleType

from mirctl.errors import BackendUnavailable


def require(module: str, extra: str) -> ModuleType:
    """Import ``module``; a missing dependency becomes BackendUnavailable with a pip hint."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise BackendUnavailable(
            f"{module.split('.')[0]} is not installed ({err})",
            hint=f"pip install 'mirctl[{extra}]'",
        ) from None


def resolve_device(device: str, extra: str = "separate") -> str:
    """Turn ``auto|cpu|cuda|cuda:N|mps`` into a device torch can use, checked now.
    ``extra`` is the pip extra that brings torch for the caller's task."""
    torch = require("torch", extra=extra)
    device = (device or "auto").lower()
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BackendUnavailable("--device cuda was asked for, but torch sees no CUDA device",
                                 hint="use --device cpu (or auto), or install a CUDA build of torch")
    if device == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise BackendUnavailable("--device mps was asked for, but MPS is not available here",
                                     hint="use --device cpu (or auto)")
    if device != "cpu" and not device.startswith(("cuda", "mps")):
        raise BackendUnavailable(f"unknown device {device!r}", hint="use auto, cpu, cuda, cuda:N or mps")
    return device


def set_torch_threads(threads: int | None, extra: str = "separate") -> None:
    if threads:
        torch = require("torch", extra=extra)
        torch.set_num_threads(int(threads))


def cpu_only(name: str, device: str) -> None:
    """A model without a neural network runs on the CPU: say so when another device was asked for."""
    if (device or "auto").lower() not in ("auto", "cpu"):
        import warnings

        from mirctl.errors import MirctlWarning

        warnings.warn(f"--device {device} is ignored: {name} has no neural network and runs on the CPU",
                      MirctlWarning, stacklevel=2)
