"""Anti-alias any off-the-shelf network: ``antialias(model)`` (Zhang, ICML 2019, sec. 3.2 / Fig. 4).

Zhang, "Making Convolutional Networks Shift-Invariant Again", ICML 2019: every downsampling layer
is a dense operation followed by naive subsampling, and the subsampling aliases. The fix keeps the
dense operation and low-pass filters before subsampling (``BlurPool``):

- ``MaxPool(stride s)`` → ``Max(stride 1)`` + ``BlurPool(stride s)``;
- ``Conv(stride s)`` + ReLU → ``Conv(stride 1)`` + ReLU + ``BlurPool(stride s)`` (the blur comes
  *after* the nonlinearity: blurring before it would equal downsampling the input first);
- ``AvgPool(stride s)`` → ``BlurPool(stride s)``.

The placement follows the reference code (``antialiased_cnns``, Zhang's package), so a converted
torchvision-style ResNet or VGG has the same module tree and ``state_dict`` keys as Zhang's own
anti-aliased model:

- in an ``nn.Sequential`` (VGG, AlexNet) the BlurPool is inserted right after the activation or
  the dense max, as a sibling; a max-pool held as an attribute becomes
  ``Sequential(Max, BlurPool)``;
- where the activation is a shared module called from ``forward`` (ResNet blocks), the BlurPool is
  put in front of the module that consumes it: ``conv2`` becomes ``Sequential(BlurPool, conv2)``;
- a strided 1x1 conv with no nonlinearity after it (a ResNet shortcut) gets the BlurPool *in front*
  (``BlurPool`` + ``conv1x1``): blur and a 1x1 conv commute, and the front is cheaper.

The data flow between modules is read with ``torch.fx``; a model that cannot be traced is handled
from its module tree alone (``nn.Sequential`` siblings), and a strided conv whose activation cannot
be found then gets its BlurPool right after the conv, with a warning.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganscope.errors import GanscopeError
from ganscope.layers import BlurPool2d

__all__ = ["antialias", "downsampling_layers"]

log = logging.getLogger("ganscope")

_NORMS: tuple[type[nn.Module], ...] = (
    nn.BatchNorm2d,
    nn.SyncBatchNorm,
    nn.GroupNorm,
    nn.InstanceNorm2d,
)
_ACTIVATIONS: tuple[type[nn.Module], ...] = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.RReLU,
    nn.ELU,
    nn.CELU,
    nn.SELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Hardswish,
    nn.Hardtanh,
    nn.Softplus,
    nn.Tanh,
    nn.Sigmoid,
)
_PASSIVE: tuple[type[nn.Module], ...] = (nn.Identity, nn.Dropout, nn.Dropout2d)
_ACTIVATION_FUNCTIONS: tuple[Callable[..., Any], ...] = (
    F.relu,
    F.relu_,
    F.relu6,
    F.leaky_relu,
    F.elu,
    F.gelu,
    F.silu,
    F.mish,
    F.hardswish,
    torch.relu,
    torch.relu_,
    torch.tanh,
    torch.sigmoid,
)
_ACTIVATION_METHODS = ("relu", "relu_", "tanh", "sigmoid")


def _pair(v: int | tuple[int, ...] | None) -> tuple[int, int]:
    if v is None:
        return (1, 1)
    if isinstance(v, int):
        return (v, v)
    return (int(v[0]), int(v[-1]))


def _stride(m: nn.Module) -> int | None:
    """The (square) stride of a downsampling layer, ``None`` if it does not downsample."""
    if isinstance(m, nn.Conv2d):
        s = _pair(m.stride)
    elif isinstance(m, nn.MaxPool2d | nn.AvgPool2d):
        s = _pair(m.stride if m.stride is not None else m.kernel_size)
    else:
        return None
    if s == (1, 1):
        return None
    if s[0] != s[1]:
        log.warning("%s has unequal strides %s; left as it is", type(m).__name__, s)
        return None
    return s[0]


def downsampling_layers(model: nn.Module) -> list[str]:
    """Names of the layers :func:`antialias` converts: strided ``Conv2d``, ``MaxPool2d`` and
    ``AvgPool2d`` (square strides > 1), in module order."""
    return [name for name, m in model.named_modules() if name and _stride(m) is not None]


@dataclass
class _Edit:
    """One planned change. ``kind``: ``pool`` (replace a pool), ``after`` / ``before`` (insert a
    BlurPool after / before module ``target``); ``source`` is the downsampling layer."""

    kind: str
    source: str
    target: str
    channels: int
    stride: int


def _is_pointwise(m: nn.Module) -> bool:
    return isinstance(m, _NORMS + _ACTIVATIONS + _PASSIVE)


def _trace(model: nn.Module) -> Any:
    try:
        import torch.fx

        return torch.fx.symbolic_trace(model).graph
    except Exception as err:  # fx raises many types on untraceable Python control flow
        log.debug("torch.fx could not trace %s (%s); using the module tree", type(model), err)
        return None


def _node_is_activation(node: Any, modules: dict[str, nn.Module]) -> bool:
    if node.op == "call_module":
        return isinstance(modules[node.target], _ACTIVATIONS)
    if node.op == "call_function":
        return node.target in _ACTIVATION_FUNCTIONS
    if node.op == "call_method":
        return node.target in _ACTIVATION_METHODS
    return False


def _node_is_pointwise(node: Any, modules: dict[str, nn.Module]) -> bool:
    if node.op == "call_module":
        return _is_pointwise(modules[node.target])
    return _node_is_activation(node, modules)


def _parent(model: nn.Module, name: str) -> tuple[nn.Module, str]:
    if "." in name:
        head, key = name.rsplit(".", 1)
        return model.get_submodule(head), key
    return model, name


def _plan_conv_graph(
    model: nn.Module, graph: Any, name: str, conv: nn.Conv2d, stride: int, calls: dict[str, int]
) -> _Edit | None:
    """Where the BlurPool of strided conv ``name`` goes, read from the fx graph."""
    modules = dict(model.named_modules())
    nodes = [n for n in graph.nodes if n.op == "call_module" and n.target == name]
    if len(nodes) != 1:
        return None
    cur, saw_activation = nodes[0], False
    # Follow the chain of per-pixel layers (norm, activation) that only this conv feeds.
    while len(cur.users) == 1:
        nxt = next(iter(cur.users))
        if not (_node_is_pointwise(nxt, modules) and nxt.args and nxt.args[0] is cur):
            break
        cur = nxt
        saw_activation |= _node_is_activation(cur, modules)
    if not saw_activation:
        return _linear_edit(name, conv, stride)
    end = cur
    channels = conv.out_channels
    if end.op == "call_module" and calls.get(end.target, 0) == 1:
        parent, _ = _parent(model, end.target)
        if isinstance(parent, nn.Sequential):
            return _Edit("after", name, end.target, channels, stride)
    if len(end.users) == 1:
        user = next(iter(end.users))
        if (
            user.op == "call_module"
            and calls.get(user.target, 0) == 1
            and len(user.args) == 1
            and user.args[0] is end
            and not user.kwargs
        ):
            return _Edit("before", name, user.target, channels, stride)
    if end.op == "call_module" and calls.get(end.target, 0) == 1:
        return _Edit("after", name, end.target, channels, stride)
    return None


def _plan_conv_tree(model: nn.Module, name: str, conv: nn.Conv2d, stride: int) -> _Edit | None:
    """Where the BlurPool of strided conv ``name`` goes, from ``nn.Sequential`` siblings only."""
    parent, key = _parent(model, name)
    if not isinstance(parent, nn.Sequential):
        return None
    keys = list(parent._modules)
    last, saw_activation = name, False
    for k in keys[keys.index(key) + 1 :]:
        m = parent._modules[k]
        if m is None or not _is_pointwise(m):
            break
        last = f"{name.rsplit('.', 1)[0]}.{k}" if "." in name else k
        saw_activation |= isinstance(m, _ACTIVATIONS)
    if not saw_activation:
        return _linear_edit(name, conv, stride)
    return _Edit("after", name, last, conv.out_channels, stride)


def _linear_edit(name: str, conv: nn.Conv2d, stride: int) -> _Edit:
    # No nonlinearity follows: blur commutes with the conv's per-pixel successors. A 1x1 conv
    # without padding commutes with the blur too, so the cheaper order (blur first) is exact
    # (antialiased_cnns' ResNet shortcut: BlurPool + conv1x1).
    if _pair(conv.kernel_size) == (1, 1) and _pair(conv.padding) == (0, 0):
        return _Edit("before", name, name, conv.in_channels, stride)
    return _Edit("after", name, name, conv.out_channels, stride)


@torch.no_grad()
def _probe(model: nn.Module, example: Tensor | None) -> tuple[dict[str, int], dict[str, int]]:
    """Run ``model`` once in eval mode: input channels of every pool, and call counts."""
    if example is None:
        convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
        if not convs:
            raise GanscopeError("antialias needs example_input for a model without a Conv2d")
        ref = next(model.parameters())
        example = torch.zeros(1, convs[0].in_channels, 64, 64, device=ref.device, dtype=ref.dtype)
    channels: dict[str, int] = {}
    calls: dict[str, int] = {}
    handles = []

    def make(name: str) -> Callable[[nn.Module, Any, Any], None]:
        def hook(_m: nn.Module, inputs: Any, _out: Any) -> None:
            calls[name] = calls.get(name, 0) + 1
            if inputs and isinstance(inputs[0], Tensor) and inputs[0].dim() == 4:
                channels[name] = int(inputs[0].shape[1])

        return hook

    was_training = model.training
    try:
        for name, m in model.named_modules(remove_duplicate=False):
            if name:
                handles.append(m.register_forward_hook(make(name)))
        model.eval()
        try:
            model(example)
        except Exception as err:
            raise GanscopeError(
                f"antialias could not run the model on an example of shape "
                f"{tuple(example.shape)} ({type(err).__name__}: {err}); pass example_input="
            ) from err
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return channels, calls


def _new_blurpool(channels: int, filter_size: int, stride: int, pad_type: str, ref: Tensor | None):
    pool = BlurPool2d(channels, filt_size=filter_size, stride=stride, pad_type=pad_type)
    return pool.to(device=ref.device, dtype=ref.dtype) if ref is not None else pool


def _insert(seq: nn.Sequential, index: int, module: nn.Module) -> None:
    """Insert ``module`` at ``index`` of ``seq`` in place (renumbering a plain Sequential, as
    Zhang's hand-written models number theirs)."""
    items = list(seq._modules.items())
    if all(k.isdigit() for k, _ in items):
        mods = [m for _, m in items]
        mods.insert(index, module)
        new = [(str(i), m) for i, m in enumerate(mods)]
    else:
        base = f"{items[index - 1][0]}_blurpool" if index > 0 else "blurpool"
        key, n = base, 1
        while key in seq._modules:
            key, n = f"{base}{n}", n + 1
        new = [*items[:index], (key, module), *items[index:]]
    seq._modules.clear()
    seq._modules.update(new)


def _locate(model: nn.Module, target: nn.Module) -> tuple[nn.Module, str]:
    for _, parent in model.named_modules():
        for key, child in parent._modules.items():
            if child is target:
                return parent, key
    raise AssertionError("module not found in the model")  # pragma: no cover


def antialias(
    model: nn.Module,
    filter_size: int = 4,
    *,
    pad_type: str = "reflect",
    skip: Collection[str] = (),
    max_kernel_size: int | None = None,
    example_input: Tensor | None = None,
) -> nn.Module:
    """A copy of ``model`` with every downsampling layer anti-aliased (Zhang, ICML 2019).

    ``MaxPool(stride s)`` becomes ``Max(stride 1)`` + :class:`~ganscope.layers.BlurPool2d`, a
    strided conv becomes ``conv(stride 1)`` (+ its norm and ReLU) + ``BlurPool2d``, and a strided
    ``AvgPool`` becomes ``BlurPool2d``. Weights are kept (the copy's convs, norms and linears hold
    the original values), so a trained model can be converted and fine-tuned. The model itself
    is not changed. Module placement follows Zhang's ``antialiased_cnns`` (see the module
    docstring): a converted torchvision ResNet or VGG has the same modules and ``state_dict`` keys
    as his anti-aliased one.

    Args:
        model: any ``nn.Module`` (not TorchScript).
        filter_size: binomial taps per side of the blur, 1..7 (Zhang's "Tri-3", "Bin-5" are 3, 5;
            his released models use 4).
        pad_type: padding of the blur, ``reflect`` (Zhang's default), ``replicate`` or ``zero``.
        skip: names of layers to leave as they are; e.g. ``{"conv1"}`` reproduces
            ``antialiased_cnns``' ``pool_only=True`` ResNets (the costly first conv stays strided).
        max_kernel_size: kernel of the dense ``Max(stride 1)``; ``None`` keeps the pool's own
            kernel and padding (Zhang's VGG and AlexNet, timm). ``antialiased_cnns``' ResNets turn
            ``MaxPool(3, stride 2, padding 1)`` into ``Max(2, stride 1)``: pass ``2`` (padding
            is then 0).
        example_input: one input batch for a forward pass that counts the channels entering each
            pool; default zeros ``(1, C, 64, 64)`` with ``C`` the first conv's input channels.

    Returns:
        The anti-aliased copy, in the mode (train/eval) of ``model``.

    Raises:
        GanscopeError: a TorchScript module, an unknown ``skip`` name, a bad ``filter_size``.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        >>> antialias(net, filter_size=3)
        Sequential(
          (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
          (1): ReLU()
          (2): MaxPool2d(kernel_size=2, stride=1, padding=0, dilation=1, ceil_mode=False)
          (3): BlurPool2d(8, filt_size=3, stride=2, pad_type='reflect')
        )
    """
    if isinstance(model, torch.jit.ScriptModule):
        raise GanscopeError("antialias needs the Python model; a TorchScript module is frozen")
    if not 1 <= filter_size <= 7:
        raise GanscopeError(f"filter_size must be in 1..7, not {filter_size}")
    if max_kernel_size is not None and max_kernel_size < 1:
        raise GanscopeError(f"max_kernel_size must be at least 1, not {max_kernel_size}")
    model = copy.deepcopy(model)
    names = dict(model.named_modules())
    unknown = sorted(set(skip) - set(names))
    if unknown:
        raise GanscopeError(f"skip names no layer of the model: {', '.join(unknown)}")

    def skipped(name: str) -> bool:
        return any(name == s or name.startswith(s + ".") for s in skip)

    targets = [n for n in downsampling_layers(model) if not skipped(n)]
    if not targets:
        return model
    ref = next(iter(model.parameters()), None)
    channels, calls = _probe(model, example_input)
    graph = None
    if any(isinstance(names[n], nn.Conv2d) for n in targets):
        graph = _trace(model)

    edits: list[_Edit] = []
    for name in targets:
        m = names[name]
        stride = _stride(m)
        assert stride is not None
        if isinstance(m, nn.MaxPool2d | nn.AvgPool2d):
            if name not in channels:
                log.warning("%s was not called on the example input; left as it is", name)
                continue
            if isinstance(m, nn.MaxPool2d) and m.return_indices:
                log.warning("%s returns indices; left as it is", name)
                continue
            edits.append(_Edit("pool", name, name, channels[name], stride))
            continue
        assert isinstance(m, nn.Conv2d)
        edit = None
        if graph is not None:
            edit = _plan_conv_graph(model, graph, name, m, stride, calls)
        if edit is None:
            edit = _plan_conv_tree(model, name, m, stride)
        if edit is None:
            log.warning(
                "could not find the activation after %s; its BlurPool goes right after the conv",
                name,
            )
            edit = _Edit("after", name, name, m.out_channels, stride)
        edits.append(edit)

    # Resolve names to module objects first: inserting into a Sequential renumbers its children.
    objects = {n: names[n] for e in edits for n in (e.target, e.source)}
    created: set[int] = set()
    for e in edits:  # pools first, so that a BlurPool put in front of a pool joins its Sequential
        if e.kind != "pool":
            continue
        old = objects[e.target]
        blur = _new_blurpool(e.channels, filter_size, e.stride, pad_type, ref)
        parent, key = _locate(model, old)
        if isinstance(old, nn.MaxPool2d):
            k = old.kernel_size if max_kernel_size is None else max_kernel_size
            p = old.padding if max_kernel_size is None else 0
            dense = nn.MaxPool2d(kernel_size=k, stride=1, padding=p, dilation=old.dilation)
            if isinstance(parent, nn.Sequential):  # flat, as in Zhang's VGG and AlexNet
                parent._modules[key] = dense
                _insert(parent, list(parent._modules).index(key) + 1, blur)
                objects[e.target] = dense
                continue
            new: nn.Module = nn.Sequential(dense, blur)  # Zhang's ResNet: maxpool.0, maxpool.1
            created.add(id(new))
        else:
            new = blur
        parent._modules[key] = new
        objects[e.target] = new
    for e in edits:
        if e.kind == "pool":
            continue
        conv = objects[e.source]
        assert isinstance(conv, nn.Conv2d)
        conv.stride = (1, 1)
        blur = _new_blurpool(e.channels, filter_size, e.stride, pad_type, ref)
        target = objects[e.target]
        if e.kind == "before" and id(target) in created:
            _insert(target, 0, blur)  # type: ignore[arg-type]
            continue
        parent, key = _locate(model, target)
        if isinstance(parent, nn.Sequential):
            index = list(parent._modules).index(key) + (1 if e.kind == "after" else 0)
            _insert(parent, index, blur)
        else:
            pair = [target, blur] if e.kind == "after" else [blur, target]
            wrapped = nn.Sequential(*pair)
            created.add(id(wrapped))
            parent._modules[key] = wrapped
    return model
