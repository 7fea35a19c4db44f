"""Forward hooks on named layers of any ``nn.Module``, always removed.

Every hook lives inside a context manager whose ``finally`` removes it (the captum habit), so an
exception in the middle of a dissection never leaves a model silently edited.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ganscope.errors import GanscopeError

__all__ = [
    "edit_layer",
    "feature_layers",
    "get_layer",
    "hook_layers",
    "main_tensor",
    "record_layers",
    "replace_main_tensor",
]


def get_layer(model: nn.Module, name: str) -> nn.Module:
    """The submodule called ``name`` (as in ``model.named_modules()``); a clear error otherwise."""
    modules = dict(model.named_modules())
    if not name or name not in modules:
        known = ", ".join(n for n in modules if n) or "(none)"
        raise GanscopeError(f"no layer named {name!r}; known layers: {known}")
    return modules[name]


def main_tensor(output: Any) -> Tensor:
    """The feature map of a layer output: the tensor itself, or the first tensor of a tuple."""
    if isinstance(output, Tensor):
        return output
    if isinstance(output, tuple | list):
        for item in output:
            if isinstance(item, Tensor):
                return item
    raise GanscopeError(f"layer output is a {type(output).__name__}, not a tensor")


def replace_main_tensor(output: Any, new: Tensor) -> Any:
    """``output`` with its feature map (the tensor, or a tuple's first tensor) replaced."""
    if isinstance(output, Tensor):
        return new
    items = list(output)
    for i, item in enumerate(items):
        if isinstance(item, Tensor):
            items[i] = new
            break
    return type(output)(items)


@contextlib.contextmanager
def hook_layers(
    model: nn.Module, hooks: dict[str, Callable[[nn.Module, Any, Any], Any]]
) -> Iterator[None]:
    """Register ``torch`` forward hooks on named layers for the duration of a ``with`` block.

    Args:
        model: any module.
        hooks: layer name → forward hook ``fn(module, inputs, output) -> new output | None``.

    The hooks are removed in ``finally``, also when the block raises.
    """
    handles = []
    try:
        for name, fn in hooks.items():
            handles.append(get_layer(model, name).register_forward_hook(fn))
        yield
    finally:
        for h in handles:
            h.remove()


@contextlib.contextmanager
def record_layers(
    model: nn.Module, names: Sequence[str], *, clone: bool = True
) -> Iterator[dict[str, Tensor]]:
    """Record the feature maps of ``names`` on every forward pass inside the block.

    Args:
        model: any module.
        names: layer names.
        clone: store a copy, so a later in-place op (``ReLU(inplace=True)``) cannot change it.

    Yields:
        A dict that after each forward pass maps each name to that layer's output (gradients
        flow through it unless the forward ran under ``torch.no_grad``).

    Example:
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
        >>> with record_layers(net, ["0"]) as feats:
        ...     _ = net(torch.zeros(1, 3, 8, 8))
        >>> feats["0"].shape
        torch.Size([1, 4, 6, 6])
    """
    store: dict[str, Tensor] = {}

    def make(name: str) -> Callable[[nn.Module, Any, Any], None]:
        def hook(_m: nn.Module, _inp: Any, out: Any) -> None:
            t = main_tensor(out)
            store[name] = t.clone() if clone else t

        return hook

    with hook_layers(model, {n: make(n) for n in names}):
        yield store


@contextlib.contextmanager
def edit_layer(model: nn.Module, name: str, edit: Callable[[Tensor], Tensor]) -> Iterator[None]:
    """Replace the output ``x`` of layer ``name`` by ``edit(x)`` on every forward pass inside the
    block (interventions: :func:`ganscope.dissect.intervention.blend_units`)."""

    def hook(_m: nn.Module, _inp: Any, out: Any) -> Any:
        return replace_main_tensor(out, edit(main_tensor(out)))

    with hook_layers(model, {name: hook}):
        yield


@torch.no_grad()
def feature_layers(model: nn.Module, example: Tensor) -> list[tuple[str, tuple[int, ...]]]:
    """The layers that output a 4-D feature map ``(B, C, H, W)`` on ``example``, in call order.

    These are the layers that can be dissected. Each is returned with its output shape without
    the batch dimension.
    """
    found: dict[str, tuple[int, ...]] = {}

    def make(name: str) -> Callable[[nn.Module, Any, Any], None]:
        def hook(_m: nn.Module, _inp: Any, out: Any) -> None:
            try:
                t = main_tensor(out)
            except GanscopeError:
                return
            if t.dim() == 4 and name not in found:
                found[name] = tuple(t.shape[1:])

        return hook

    names = [n for n, _ in model.named_modules() if n]
    with hook_layers(model, {n: make(n) for n in names}):
        model(example)
    return list(found.items())
