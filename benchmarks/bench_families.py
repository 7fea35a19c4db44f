"""Training throughput of every generator family against a plain PyTorch loop of the same size.

Run from the repository root::

    python benchmarks/bench_families.py [--rounds 5] [--steps 6] [--threads 2] [--width 32]

For each registered family, ganscope's training step (``_Trainer.train_step``: seeded batches,
DiffAugment, the family's own losses, EMA) and a textbook step written in plain PyTorch on the
*same* generator and discriminator modules are timed in interleaved rounds, so that load from
other processes hits both alike; the ratio of median step times is reported. ganscope is timed
with the recipe's DiffAugment on and off: off measures the framework's overhead, on the
recipe's. Prints a Markdown section (also written to ``benchmarks/RESULTS-families.md``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ganscope.generators import GENERATORS, TrainConfig
from ganscope.generators.train import _DataOrder, _Trainer
from ganscope.io import write_builtin

ROOT = Path(__file__).resolve().parent


class PlainStep:
    """A textbook non-saturating GAN step (PyTorch DCGAN tutorial) on given modules; for
    reconstructing families, an L1 + adversarial autoencoder step."""

    def __init__(self, G: torch.nn.Module, D: torch.nn.Module, data: torch.Tensor, batch: int):
        self.G, self.D, self.batch = G, D, batch
        self.data = data.float() / 127.5 - 1
        self.opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def fake(self, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if getattr(self.G, "reconstructs", False):
            code = self.G.encoder(real)[:, : self.G.latent_dim]
            out = self.G(code)
            return out, 10 * (out - real).abs().mean()
        return self.G(torch.randn(self.batch, self.G.latent_dim)), torch.zeros(())

    def __call__(self) -> None:
        real = self.data[torch.randint(len(self.data), (self.batch,))]
        fake, extra = self.fake(real)
        ones, zeros = torch.ones(self.batch), torch.zeros(self.batch)
        self.opt_d.zero_grad()
        d_loss = F.binary_cross_entropy_with_logits(self.D(real), ones)
        d_loss = d_loss + F.binary_cross_entropy_with_logits(self.D(fake.detach()), zeros)
        d_loss.backward()
        self.opt_d.step()
        self.opt_g.zero_grad()
        (F.binary_cross_entropy_with_logits(self.D(fake), ones) + extra).backward()
        self.opt_g.step()


def _median_step(fn, steps: int) -> float:
    t = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - t) / steps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp())
    write_builtin(work / "data", size=32, count=512, seed=0, split="train")
    rows = []
    for family in GENERATORS:
        upsample = "blur" if family == "stylegan2" else "transposed"
        timings: dict[str, list[float]] = {"plain": [], "ours": [], "ours+aug": []}
        trainers = {}
        for key, augment in (("ours", "none"), ("ours+aug", "color,translation,cutout")):
            cfg = TrainConfig(
                data=str(work / "data"), family=family, upsample=upsample, size=32,
                batch_size=args.batch, width=args.width, augment=augment,
            )  # fmt: skip
            tr = _Trainer(cfg, work / f"{family}-{key}", torch.device("cpu"))
            from ganscope.generators.train import load_training_images

            data, _, _ = load_training_images(cfg.data, 32)
            order = _DataOrder(len(data), 0)
            trainers[key] = (tr, data, order)
        ref, data, _ = trainers["ours"]
        ref2 = _Trainer(ref.cfg, work / f"{family}-plain", torch.device("cpu"))
        plain = PlainStep(ref2.G, ref2.D, data, args.batch)
        for _ in range(args.rounds):
            timings["plain"].append(_median_step(plain, args.steps))
            for key in ("ours", "ours+aug"):
                tr, data, order = trainers[key]
                step = lambda tr=tr, data=data, order=order: tr.train_step(data, order)  # noqa: E731
                timings[key].append(_median_step(step, args.steps))
        med = {k: statistics.median(v) for k, v in timings.items()}
        n_params = sum(p.numel() for p in ref.G.parameters())
        rows.append(
            (family, upsample, n_params, 1 / med["plain"], 1 / med["ours"], 1 / med["ours+aug"])
        )
        print(rows[-1], flush=True)
    lines = [
        "# Generator families: training throughput (`benchmarks/bench_families.py`)",
        "",
        f"32x32, batch {args.batch}, width {args.width} (G and D), {args.threads} threads, "
        f"median of {args.rounds} interleaved rounds of {args.steps} steps. Plain: a textbook "
        "PyTorch step on the same modules (non-saturating loss; L1 + adversarial for the "
        "autoencoders). ganscope's step adds seeded data order, the family's own losses and "
        "the EMA; `+aug` adds the recipe's DiffAugment.",
        "",
        "| family | upsampler | G params | plain steps/s | ganscope steps/s (ratio) "
        "| ganscope + DiffAugment steps/s (ratio) |",
        "|---|---|---|---|---|---|",
    ]
    for fam, up, n, p, o, oa in rows:
        lines.append(
            f"| {fam} | {up} | {n / 1e6:.2f} M | {p:.2f} | {o:.2f} ({o / p:.2f}x) "
            f"| {oa:.2f} ({oa / p:.2f}x) |"
        )
    text = "\n".join(lines) + "\n"
    (ROOT / "RESULTS-families.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
