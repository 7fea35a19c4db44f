"""Instance-level mode collapse: layer-wise inversion of a generator (Bau et al. 2019, sec. 3.2).

The generator is read as a chain of layers ``G = G_f(g_n(...(g_1(z))))`` with representations
``r_0 = z``, ``r_i = g_i(r_{i-1})``. Small encoders invert it layer by layer: ``e_i`` maps
``r_i`` back to ``r_{i-1}``, trained on samples of the generator with

    L_L = E_z ||r_{i-1} - e_i(g_i(r_{i-1}))||_1        (the layer's input comes back)
    L_R = E_z ||r_i - g_i(e_i(r_i))||_1                (its re-encoding regenerates the output)
    e_i = argmin_e L_L + lambda_R L_R

and ``e_f`` inverts the rest of the network ``G_f`` the same way (image → ``r_n``). Composed,
``E* = e_1(e_2(...e_n(e_f(x))))`` gives a latent whose image ``G(E*(x))`` is the *encoder-only*
reconstruction. Finally the representation at layer ``n`` is optimised from there,

    r* = argmin_r l(G_f(r), x),    x' = G_f(r*),

so that ``x'`` is the closest image the generator's later layers can produce: what ``x'`` still
leaves out of ``x`` (segmented, class by class) is what the GAN cannot generate.

**Any generator.** Layers are named child modules (``G.named_modules()``); ``g_i`` and ``G_f`` are
run through forward hooks (:mod:`ganscope.dissect.hooks` style, always removed): a hook replaces the
output of layer ``i - 1`` by a given tensor and another stops the forward pass once layer ``i``
has produced its output. Whatever else the forward pass needs (a StyleGAN's styles) comes from a
*context* latent: the sampled ``z`` while training, ``E*(x)`` while inverting. So dcgan,
stylegan2 and the scene generator all work through ``load_generator`` and ``G(z)`` alone.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganscope.dissect.hooks import hook_layers, main_tensor, replace_main_tensor
from ganscope.errors import GanscopeError
from ganscope.progress import progress_bar

log = logging.getLogger("ganscope")

__all__ = [
    "EncoderTraining",
    "InversionResult",
    "LayerChain",
    "LayerwiseEncoder",
    "default_inversion_layers",
    "encoder_losses",
    "invert_images",
    "optimize_representation",
    "train_layerwise_encoder",
]


class _StopForward(Exception):  # noqa: N818 - control flow, not an error
    """Raised by a hook to end a forward pass once the wanted layer has run."""


def _is_ancestor(a: str, b: str) -> bool:
    """Whether module ``a`` contains module ``b``."""
    return b.startswith(a + ".")


@torch.no_grad()
def _layer_outputs(G: nn.Module, z: Tensor) -> list[tuple[str, tuple[int, ...]]]:
    """Every named module's 4-D output shape, in the order the modules finish on ``G(z)``."""
    seen: list[tuple[str, tuple[int, ...]]] = []
    names = {n for n, _ in G.named_modules() if n}

    def make(name: str) -> Callable[..., None]:
        def hook(_m: nn.Module, _inp: Any, out: Any) -> None:
            try:
                t = main_tensor(out)
            except GanscopeError:
                return
            if t.dim() == 4 and all(n != name for n, _ in seen):
                seen.append((name, tuple(t.shape[1:])))

        return hook

    with hook_layers(G, {n: make(n) for n in names}):
        G(z)
    return seen


def _candidate_layers(G: nn.Module, z: Tensor) -> list[tuple[str, tuple[int, ...]]]:
    """One representation per spatial resolution below the image's: at each side, the last
    module to finish among those with the most channels (so not a to-RGB skip branch), and never
    a container of an earlier pick."""
    outputs = _layer_outputs(G, z)
    if not outputs:
        raise GanscopeError("the generator has no layer with a 4-D feature map to invert through")
    image_side = outputs[-1][1][-1]
    sides: list[int] = []
    for _, shape in outputs:
        if shape[-1] < image_side and shape[-1] not in sides:
            sides.append(shape[-1])
    chosen: list[tuple[str, tuple[int, ...]]] = []
    for side in sorted(sides):
        at = [(n, s) for n, s in outputs if s[-1] == side]
        widest = max(s[0] for _, s in at)
        ok = [
            (n, s)
            for n, s in at
            if s[0] == widest and not any(_is_ancestor(n, c) for c, _ in chosen)
        ]
        if ok:
            chosen.append(ok[-1])
    return chosen


def default_inversion_layers(G: nn.Module, *, layer: str | None = None) -> list[str]:
    """The chain of layers ``g_1 .. g_n`` inverted by default.

    One layer per resolution (see the module docstring), up to ``layer`` or, without it, to the
    first resolution at least ``image side / 32``: Bau et al. optimise ``r`` at layer 4 of a
    256-pixel Progressive GAN, an 8x8 representation, so ``G_f`` keeps most of the generator.
    """
    dim = getattr(G, "latent_dim", None)
    if not isinstance(dim, int):
        raise GanscopeError("the generator does not say its latent_dim")
    p = next(G.parameters())
    z = torch.zeros(1, dim, device=p.device)
    was_training = G.training
    G.eval()
    try:
        cands = _candidate_layers(G, z)
        with torch.no_grad():
            side = G(z).shape[-1]
    finally:
        G.train(was_training)
    names = [n for n, _ in cands]
    if layer is not None:
        if layer not in names:
            raise GanscopeError(
                f"--layer {layer!r} is not an invertible layer; choose one of {', '.join(names)}"
            )
        return names[: names.index(layer) + 1]
    for i, (_, shape) in enumerate(cands):
        if shape[-1] >= side / 32:
            return names[: i + 1]
    return names


class LayerChain:
    """A generator seen as ``G_f(g_n(...(g_1(z))))`` through hooks on named layers.

    Args:
        G: a generator with ``latent_dim`` whose ``forward(z)`` returns images in [-1, 1].
        layers: the names of ``g_1 .. g_n`` in forward order (outputs ``r_1 .. r_n``).
    """

    def __init__(self, G: nn.Module, layers: Sequence[str]) -> None:
        if not layers:
            raise GanscopeError("invert through at least one layer")
        for a in layers:
            for b in layers:
                if _is_ancestor(a, b):
                    raise GanscopeError(f"layer {a!r} contains layer {b!r}; pick one of them")
        self.G = G
        self.layers = list(layers)
        self.latent_dim = int(G.latent_dim)  # type: ignore[arg-type]
        p = next(G.parameters())
        with torch.no_grad():
            z = torch.zeros(1, self.latent_dim, device=p.device)
            rs = [self.forward_to(i, z) for i in range(1, len(self.layers) + 1)]
            x = G(z)
        #: shapes without the batch: ``r_0 = z``, ``r_1 .. r_n``, then the image.
        self.shapes: list[tuple[int, ...]] = [
            (self.latent_dim,),
            *[tuple(r.shape[1:]) for r in rs],
            tuple(x.shape[1:]),
        ]

    @property
    def n(self) -> int:
        return len(self.layers)

    def forward_to(self, i: int, z: Tensor) -> Tensor:
        """``r_i = g_i(...(g_1(z)))`` (``r_0 = z``)."""
        if i == 0:
            return z
        return self._run(z, replace=None, stop=self.layers[i - 1])

    def step(self, i: int, r_prev: Tensor, z_ctx: Tensor | None = None) -> Tensor:
        """``g_i(r_{i-1})`` for ``i`` in ``1 .. n``; ``z_ctx`` feeds whatever else the forward pass
        reads (default: zeros, or ``r_prev`` itself when ``i == 1``)."""
        if i == 1:
            return self.forward_to(1, r_prev)
        return self._run(self._ctx(z_ctx, r_prev), (self.layers[i - 2], r_prev), self.layers[i - 1])

    def tail(self, r_n: Tensor, z_ctx: Tensor | None = None) -> Tensor:
        """``G_f(r_n)``: the image in [-1, 1] that the layers after ``g_n`` make from ``r_n``."""
        return self._run(self._ctx(z_ctx, r_n), (self.layers[-1], r_n), None)

    def _ctx(self, z_ctx: Tensor | None, like: Tensor) -> Tensor:
        if z_ctx is not None:
            return z_ctx
        return torch.zeros(like.shape[0], self.latent_dim, device=like.device, dtype=like.dtype)

    def _run(self, z: Tensor, replace: tuple[str, Tensor] | None, stop: str | None) -> Tensor:
        caught: list[Tensor] = []
        hooks: dict[str, Callable[..., Any]] = {}
        if replace is not None:
            name, r = replace
            done = [False]

            def put(_m: nn.Module, _inp: Any, out: Any) -> Any:
                if done[0]:
                    return None
                done[0] = True
                old = main_tensor(out)
                if old.shape != r.shape:
                    raise GanscopeError(
                        f"layer {name!r} outputs {tuple(old.shape)}, given {tuple(r.shape)}"
                    )
                # A copy, so an in-place op of the next layer (ReLU(inplace=True)) cannot touch
                # the caller's tensor (or a leaf that requires grad).
                return replace_main_tensor(out, r.clone())

            hooks[name] = put
        if stop is not None:

            def grab(_m: nn.Module, _inp: Any, out: Any) -> None:
                caught.append(main_tensor(out))
                raise _StopForward

            hooks[stop] = grab
        with hook_layers(self.G, hooks):
            try:
                x = self.G(z)
            except _StopForward:
                return caught[0]
        if stop is not None:
            raise GanscopeError(f"layer {stop!r} did not run in the generator's forward pass")
        return x


def _down_blocks(cin: int, hidden: int, factor: int) -> list[nn.Module]:
    mods: list[nn.Module] = [nn.Conv2d(cin, hidden, 3, padding=1), nn.LeakyReLU(0.2)]
    for _ in range(round(math.log2(factor))):
        mods += [nn.Conv2d(hidden, hidden, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
    return mods


class _Encoder(nn.Sequential):
    """Convolutions from a ``(C, H, W)`` representation to ``(C', H', W')`` (or a vector)."""

    def __init__(self, in_shape: Sequence[int], out_shape: Sequence[int], hidden: int) -> None:
        cin, h, w = in_shape
        if len(out_shape) == 3:
            cout, ho, wo = out_shape
            if h % ho or w % wo or h // ho != w // wo or (h // ho) & (h // ho - 1):
                raise GanscopeError(
                    f"cannot encode {tuple(in_shape)} to {tuple(out_shape)}: sides must shrink "
                    "by a power of two"
                )
            super().__init__(*_down_blocks(cin, hidden, h // ho), nn.Conv2d(hidden, cout, 3, 1, 1))
        else:
            factor = max(1, h // 4)
            if h % factor or w % factor:
                raise GanscopeError(f"cannot encode {tuple(in_shape)} to a vector")
            super().__init__(
                *_down_blocks(cin, hidden, factor),
                nn.Flatten(),
                nn.Linear(hidden * (h // factor) * (w // factor), out_shape[0]),
            )


class LayerwiseEncoder(nn.Module):
    """``E* = e_1(e_2(...e_n(e_f(x))))`` (Bau et al. 2019, sec. 3.2).

    Args:
        shapes: ``LayerChain.shapes``: ``r_0 = z``, ``r_1 .. r_n``, image.
        hidden: channels inside every encoder.

    Shape:
        - Input: :math:`(B, 3, H, W)` in [-1, 1]
        - Output: :math:`(B, \\text{latent\\_dim})`
    """

    def __init__(self, shapes: Sequence[Sequence[int]], *, hidden: int = 64) -> None:
        super().__init__()
        self.shapes = [list(s) for s in shapes]
        self.hidden = hidden
        n = len(shapes) - 2
        #: ``e[i - 1]`` maps ``r_i`` to ``r_{i-1}``.
        self.e = nn.ModuleList(_Encoder(shapes[i], shapes[i - 1], hidden) for i in range(1, n + 1))
        self.e_f = _Encoder(shapes[-1], shapes[-2], hidden)

    def settings(self) -> dict[str, Any]:
        return {"shapes": self.shapes, "hidden": self.hidden}

    def encode_to(self, x: Tensor, i: int) -> Tensor:
        """``r_i`` estimated from the image: ``e_{i+1}(...e_n(e_f(x)))``."""
        r = self.e_f(x)
        for j in range(len(self.e), i, -1):
            r = self.e[j - 1](r)
        return r

    def forward(self, x: Tensor) -> Tensor:
        return self.encode_to(x, 0)


@dataclass
class EncoderTraining:
    """Settings of :func:`train_layerwise_encoder`.

    Attributes:
        steps: Adam steps of every layer encoder.
        batch_size: latents per step.
        lr: Adam learning rate.
        lambda_r: ``lambda_R``, the weight of ``L_R``.
        hidden: channels inside every encoder.
        seed: seeds the encoders' initial weights and the latents.
        joint_steps: steps of the final end-to-end fine-tuning of ``E*`` (default: ``steps``).
    """

    steps: int = 500
    batch_size: int = 32
    lr: float = 1e-3
    lambda_r: float = 1.0
    hidden: int = 64
    seed: int = 0
    joint_steps: int | None = None


def _layer_losses(chain: LayerChain, e: nn.Module, i: int, z: Tensor) -> tuple[Tensor, Tensor]:
    """``(L_L, L_R)`` of encoder ``e`` inverting layer ``i`` (``n + 1``: ``G_f``) on ``z``."""
    with torch.no_grad():
        r_prev = chain.forward_to(i - 1, z)
        r_out = chain.tail(r_prev, z) if i > chain.n else chain.step(i, r_prev, z)
    guess = e(r_out)
    l_l = F.l1_loss(guess, r_prev)  # L_L: the layer's input comes back
    regen = chain.tail(guess, z) if i > chain.n else chain.step(i, guess, z)
    l_r = F.l1_loss(regen, r_out)  # L_R: the re-encoding regenerates the output
    return l_l, l_r


def _joint_losses(chain: LayerChain, enc: LayerwiseEncoder, z: Tensor) -> tuple[Tensor, Tensor]:
    """``L_L`` and ``L_R`` of the composed ``E*`` against the whole generator."""
    with torch.no_grad():
        x = chain.G(z)
    guess = enc(x)
    return F.l1_loss(guess, z), F.l1_loss(chain.G(guess), x)


def encoder_losses(
    chain: LayerChain, encoder: LayerwiseEncoder, z: Tensor
) -> dict[str, tuple[float, float]]:
    """``(L_L, L_R)`` of every encoder (``e1 .. en``, ``ef``) on the latents ``z``."""
    out = {}
    with torch.no_grad():
        for i in range(1, chain.n + 2):
            e = encoder.e_f if i > chain.n else encoder.e[i - 1]
            l_l, l_r = _layer_losses(chain, e, i, z)
            out["ef" if i > chain.n else f"e{i}"] = (l_l.item(), l_r.item())
        l_l, l_r = _joint_losses(chain, encoder, z)
        out["E*"] = (l_l.item(), l_r.item())
    return out


def train_layerwise_encoder(
    chain: LayerChain, settings: EncoderTraining | None = None
) -> tuple[LayerwiseEncoder, dict[str, list[float]]]:
    """Train ``e_1 .. e_n`` and ``e_f``, one after the other, on the generator's own samples,
    then fine-tune their composition ``E*`` end to end.

    Each encoder minimises ``L_L + lambda_R L_R`` (L1, Bau et al. 2019) on fresh latents
    ``z ~ N(0, I)`` every step (from a ``torch.Generator`` seeded with ``seed``); the generator
    is frozen and in eval mode. Encoders trained apart make small errors that compound when
    composed (``e_1`` never saw ``e_f``'s estimates of ``r_1``), so ``E*`` is then trained as a
    whole with the same two losses against the whole generator:
    ``||z - E*(G(z))||_1 + lambda_R ||G(z) - G(E*(G(z)))||_1``. This joint stage is ganscope's
    addition (``joint_steps=0`` switches it off): without it, ``G(E*(x))`` of a 32-pixel scene
    GAN was a saturated texture.

    Returns:
        ``(E*, losses)`` where ``losses[name]`` is the final-100-step mean of ``L_L`` and
        ``L_R`` for each stage (``e1 .. en``, ``ef``, then ``E*``).
    """
    s = settings or EncoderTraining()
    G = chain.G.eval()
    for p in G.parameters():
        p.requires_grad_(False)
    device = next(G.parameters()).device
    g = torch.Generator().manual_seed(s.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(s.seed)
        enc = LayerwiseEncoder(chain.shapes, hidden=s.hidden).to(device)
    history: dict[str, list[float]] = {}
    targets = [(f"e{i}", i, enc.e[i - 1]) for i in range(1, chain.n + 1)]
    targets.append(("ef", chain.n + 1, enc.e_f))
    joint = s.steps if s.joint_steps is None else s.joint_steps
    if joint:
        targets.append(("E*", 0, enc))
    with progress_bar(s.steps * (len(targets) - 1) + joint, "training encoders") as bar:
        for name, i, e in targets:
            opt = torch.optim.Adam(e.parameters(), lr=s.lr, betas=(0.9, 0.999))
            ll_hist, lr_hist = [], []
            for _ in range(joint if i == 0 else s.steps):
                z = torch.randn(s.batch_size, chain.latent_dim, generator=g).to(device)
                if i == 0:
                    l_l, l_r = _joint_losses(chain, enc, z)
                else:
                    l_l, l_r = _layer_losses(chain, e, i, z)
                loss = l_l + s.lambda_r * l_r
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                ll_hist.append(l_l.item())
                lr_hist.append(l_r.item())
                bar.advance(1, enc=name, L_L=ll_hist[-1], L_R=lr_hist[-1])
            history[name] = [
                sum(ll_hist[-100:]) / len(ll_hist[-100:]),
                sum(lr_hist[-100:]) / len(lr_hist[-100:]),
            ]
            log.info("encoder %s: L_L %.4f, L_R %.4f", name, *history[name])
    return enc.eval(), history


def optimize_representation(
    chain: LayerChain,
    x: Tensor,
    r0: Tensor,
    z_ctx: Tensor,
    *,
    steps: int = 300,
    lr: float = 0.05,
) -> Tensor:
    """``r* = argmin_r l(G_f(r), x)`` from ``r0`` with Adam (Bau et al. 2019, sec. 3.2).

    ``l`` is the summed per-image mean squared error in [-1, 1], so every image of the batch is
    optimised independently (Adam is per coordinate). Returns ``r*`` (detached).
    """
    r = r0.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([r], lr=lr)
    for _ in range(steps):
        err = (chain.tail(r, z_ctx) - x).pow(2).flatten(1).mean(1).sum()
        opt.zero_grad(set_to_none=True)
        err.backward()
        opt.step()
    return r.detach()


@dataclass
class InversionResult:
    """Reconstructions of a batch of real images, all ``(B, 3, H, W)`` in [0, 1]."""

    real: Tensor
    encoder: Tensor
    optimized: Tensor

    def errors(self) -> dict[str, Tensor]:
        """Per-image mean squared and mean absolute errors (in [0, 1] units)."""
        out = {}
        for name, rec in (("encoder", self.encoder), ("optimized", self.optimized)):
            d = (rec - self.real).flatten(1)
            out[f"mse_{name}"] = d.pow(2).mean(1)
            out[f"l1_{name}"] = d.abs().mean(1)
        return out


def invert_images(
    chain: LayerChain,
    encoder: LayerwiseEncoder,
    images: Tensor,
    *,
    steps: int = 300,
    lr: float = 0.05,
) -> InversionResult:
    """Encoder-only and optimised reconstructions of real ``images`` in [0, 1].

    ``z0 = E*(x)`` and ``r0 = r_n(z0)``, so the encoder-only reconstruction ``G(z0) = G_f(r0)``
    is where the optimisation of ``r`` starts.
    """
    device = next(chain.G.parameters()).device
    x = images.to(device) * 2 - 1
    if tuple(x.shape[1:]) != chain.shapes[-1]:
        raise GanscopeError(
            f"images are {tuple(images.shape[1:])}, the generator makes {chain.shapes[-1]}"
        )
    with torch.no_grad():
        z0 = encoder(x)
        r0 = chain.forward_to(chain.n, z0)
        x_enc = chain.tail(r0, z0)
    r_star = optimize_representation(chain, x, r0, z0, steps=steps, lr=lr)
    with torch.no_grad():
        x_opt = chain.tail(r_star, z0)

    def to01(t: Tensor) -> Tensor:
        return ((t + 1) / 2).clamp(0, 1).float().cpu()

    return InversionResult(to01(x), to01(x_enc), to01(x_opt))
