"""Where torch work runs: ``auto|cpu|cuda|cuda:N`` to a :class:`torch.device`, and how many
intra-op threads CPU work beside decoding threads should use."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

from ganscope.errors import GanscopeError

__all__ = ["resolve_device", "threads_beside"]


def resolve_device(name: str | torch.device) -> torch.device:
    """Map ``auto|cpu|cuda|cuda:N`` to a torch device; ``cuda`` without a GPU is bad usage.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    if isinstance(name, torch.device):
        return name
    name = name.lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit()):
        if not torch.cuda.is_available():
            raise GanscopeError("--device cuda was asked for, but no CUDA device is available")
        index = int(name[5:]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise GanscopeError(
                f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) available"
            )
        return torch.device(name)
    raise GanscopeError(f"--device must be auto, cpu, cuda or cuda:N, not {name!r}")


@contextlib.contextmanager
def threads_beside(workers: int, device: torch.device) -> Iterator[None]:
    """On CPU, give torch one intra-op thread while ``workers`` threads call it: torch's intra-op
    threads wait by spinning, and sharing the cores with decoding threads made spectra with 2
    torch threads 1.6 to 2.4x slower than with 1 on a 2-core machine."""
    before = torch.get_num_threads()
    if device.type == "cpu" and workers > 0:
        torch.set_num_threads(max(1, min(before, (os.cpu_count() or 1) // max(1, workers))))
    try:
        yield
    finally:
        torch.set_num_threads(before)
