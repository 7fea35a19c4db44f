"""The stages of the upsampling study, each a plain function with explicit inputs and outputs.

:func:`ganscope.study.run_study` calls them in order through the stage cache; each can also be
called on its own (the tests do). Images are float tensors ``(N, 3, H, W)`` in [0, 1]; results
are JSON values (they are stored in ``stages/<name>.json`` and ``results.json``).

1. :func:`prepare_real`: real train and test crops with no shared pixels.
2. :func:`train_generator` (or :func:`take_zoo_generator`), then :func:`sample_generator`.
3. :func:`ganscope.study.spectra.spectra_stage`: mean spectra per source.
4. :func:`transfer_stage`: each detector trained per generator and on all of them, tested on
   every generator (:func:`ganscope.metrics.transfer_matrix`; Wang et al. 2020, Table 2).
5. :func:`few_shot_stage`: AP by number of labelled images (Durall et al. 2020: 20 suffice).
6. :func:`robustness_stage`: JPEG and blur at test time (Wang et al. 2020).
7. :func:`quality_stage`: which generators are collapsed or unrealistic.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganscope.detectors import create_detector, load_detector, save_detector
from ganscope.detectors.augment import degrade
from ganscope.errors import GanscopeError
from ganscope.generators import TrainConfig, load_generator, sample_images, train_gan
from ganscope.generators.metrics import sliced_wasserstein_distance, spectral_distance
from ganscope.generators.quality import quality_report
from ganscope.io import iter_batches, list_images, write_builtin
from ganscope.io.writers import save_png
from ganscope.metrics import detection_metrics, robustness_sweep, transfer_matrix
from ganscope.progress import progress_bar
from ganscope.study.profiles import StudyDetector, StudyProfile, Variant
from ganscope.zoo import zoo_entries, zoo_entry

REAL = "real"
ALL = "all"
TEST_SEED_OFFSET = 1_000_000  # test fakes use other latents than training fakes


def source_folder(name: str) -> str:
    """Folder name of a source: ``transposed+specreg`` → ``transposed_specreg``."""
    return name.replace("+", "_")


def load_folder(folder: Path) -> torch.Tensor:
    """Every image of ``folder`` as one tensor (the study's folders hold one size)."""
    batches = [b.images for b in iter_batches(list_images([folder]), batch_size=256)]
    return torch.cat(batches)


# --- 1. real images ----------------------------------------------------------------------------


def prepare_real(profile: StudyProfile, data: Path, real: Path | None, seed: int) -> dict:
    """Write real train and test crops to ``data/{train,test}/real`` with no shared pixels.

    Reads ``size``, ``n_train`` and ``n_test`` of ``profile``. Without ``real`` the crops come
    from disjoint regions of the built-in photos (the test split is their right quarter);
    otherwise from ``real``'s images, shuffled with ``seed``.
    """
    train_dir, test_dir = data / "train" / REAL, data / "test" / REAL
    if real is None:
        write_builtin(train_dir, size=profile.size, count=profile.n_train, seed=seed, split="train")
        write_builtin(test_dir, size=profile.size, count=profile.n_test, seed=seed, split="test")
        return {"source": "builtin", "n_train": profile.n_train, "n_test": profile.n_test}
    files = list_images([real])
    order = np.random.default_rng(seed).permutation(len(files))
    need = profile.n_train + profile.n_test
    errors: list = []
    kept: list[np.ndarray] = []
    with progress_bar(need, "real images") as bar:
        picked = [files[i] for i in order]
        crop = (profile.size, profile.size)
        for batch in iter_batches(picked, batch_size=64, crop=crop, errors=errors):
            for img in batch.images:
                kept.append(img)
                bar.advance()
            if len(kept) >= need:
                break
    if len(kept) < 2 * 20:
        raise GanscopeError(
            f"--real {real}: only {len(kept)} usable images of at least {profile.size}x"
            f"{profile.size}; the study needs at least 40"
        )
    n_test = max(len(kept) * profile.n_test // need, 20) if len(kept) < need else profile.n_test
    for i, img in enumerate(kept[:need]):
        save_png((test_dir if i < n_test else train_dir) / f"real_{i:06d}.png", img)
    return {
        "source": str(real),
        "n_train": min(len(kept), need) - n_test,
        "n_test": n_test,
        "bad_files": [[str(p), r] for p, r in errors],
    }


# --- 2. generators -----------------------------------------------------------------------------


def generator_settings(profile: StudyProfile, variant: Variant) -> dict[str, Any]:
    """The settings :func:`train_generator` reads (its stage's cache key)."""
    read = ("size", "gan_steps", "gan_batch", "gan_ema", "gan_width")
    return {"variant": dataclasses.asdict(variant), **{k: getattr(profile, k) for k in read}}


def train_generator(
    profile: StudyProfile,
    variant: Variant,
    real_dir: Path,
    run: Path,
    seed: int,
    device: torch.device,
) -> dict:
    """Train one DCGAN on ``real_dir`` into ``run`` (resumes from its checkpoints)."""
    cfg = TrainConfig(
        data=str(real_dir),
        upsample=variant.upsample,
        size=profile.size,
        steps=profile.gan_steps,
        batch_size=profile.gan_batch,
        ema_decay=profile.gan_ema,
        width=profile.gan_width,
        spectral_reg=variant.spectral_reg,
        spectral_disc=variant.spectral_disc,
        spectral_disc_weight=variant.spectral_disc_weight,
        checkpoint_every=max(1, profile.gan_steps // 4),
        sample_every=0,
        grid_size=36,
        seed=seed,
    )
    t0 = time.perf_counter()
    train_gan(cfg, run, device=device)
    return {"run": str(run), "seconds": time.perf_counter() - t0, "config": cfg.to_json()}


def zoo_name(variant: Variant) -> str:
    """The zoo entry that stands for a study variant: ``transposed+specreg`` →
    ``dcgan-transposed-specreg`` (``scripts/make_zoo.py`` names them so)."""
    return "dcgan-" + variant.name.replace("+", "-")


def zoo_variants(profile: StudyProfile) -> tuple[list[tuple[Variant, str]], list[str]]:
    """Shipped generators for the study: one per variant that the zoo has, plus every other
    family's entries (so that families are compared too), and the variants it lacks."""
    entries = {e.name: e for e in zoo_entries() if e.size == profile.size and e.extra.get("data")}
    found, missing = [], []
    for v in profile.variants:
        if zoo_name(v) in entries:
            found.append((v, zoo_name(v)))
        else:
            missing.append(v.name)
    for name, e in entries.items():
        if e.family != "dcgan":
            found.append((Variant(name, e.upsampler), name))
    return found, missing


def take_zoo_generator(name: str) -> dict:
    """The shipped zoo generator ``name`` in place of a trained one."""
    e = zoo_entry(name)
    return {"run": str(e.path), "seconds": 0.0, "zoo": name, "config": {"family": e.family}}


def sample_generator(
    run: Path, data: Path, folder: str, n_train: int, n_test: int, device: torch.device
) -> dict:
    """Training and test fakes of the generator in ``run`` as 8-bit PNGs, like the real images
    (a float-vs-8-bit difference would be a container cue, not a generator's); test fakes come
    from other latents (seeds from :data:`TEST_SEED_OFFSET`)."""
    G, _ = load_generator(run, device=device)
    for split, n, offset in (("train", n_train, 0), ("test", n_test, TEST_SEED_OFFSET)):
        seeds = list(range(offset, offset + n))
        for start in range(0, n, 256):
            chunk = seeds[start : start + 256]
            imgs = sample_images(G, chunk, batch_size=256, device=device)
            for s, img in zip(chunk, imgs, strict=True):
                save_png(data / split / folder / f"seed{s:07d}.png", img)
    return {"train": str(data / "train" / folder), "test": str(data / "test" / folder)}


# --- 4. detectors ------------------------------------------------------------------------------


def balanced_all(fakes: Mapping[str, torch.Tensor], n: int) -> torch.Tensor:
    """``n`` fakes drawn evenly from every source (the 'train on all, balanced' setting)."""
    k = len(fakes)
    per = [n // k + (1 if i < n % k else 0) for i in range(k)]
    return torch.cat([f[:m] for f, m in zip(fakes.values(), per, strict=True)])


def training_sources(fakes_train: Mapping[str, torch.Tensor], n: int) -> dict[str, torch.Tensor]:
    """Each generator's training fakes, plus :data:`ALL` (balanced) when there are several."""
    out = dict(fakes_train)
    if len(fakes_train) > 1:
        out[ALL] = balanced_all(fakes_train, n)
    return out


def transfer_stage(
    spec: StudyDetector,
    real_train: torch.Tensor,
    sources: Mapping[str, torch.Tensor],
    real_test: torch.Tensor,
    fakes_test: Mapping[str, torch.Tensor],
    *,
    seed: int,
    device: str,
    keep: Path,
) -> dict:
    """The transfer matrix of one detector: trained on real vs each source of ``sources``
    (only on :data:`ALL` unless ``spec.per_source``), tested on real vs every test source. The
    detector trained on all (or the only) source is saved to ``keep`` for
    :func:`robustness_stage`."""
    if not spec.per_source:
        sources = {k: v for k, v in sources.items() if k == ALL or len(sources) == 1}
    kept = ALL if ALL in sources else next(iter(sources))
    settings = dict(spec.settings, seed=seed)
    if spec.detector == "cnn":
        settings["device"] = device

    def save(train_name: str, det: Any) -> None:
        if train_name == kept:
            save_detector(det, keep)

    return transfer_matrix(
        lambda: create_detector(spec.detector, **settings),
        real_train, sources, real_test, fakes_test,
        metrics=("ap", "accuracy", "roc_auc"), on_fitted=save, label=spec.name,
    )  # fmt: skip


def _ap(det: Any, real: torch.Tensor, fake: torch.Tensor) -> float | None:
    p_real, p_fake = det.predict_proba(real)[:, 1], det.predict_proba(fake)[:, 1]
    y = np.r_[np.zeros(len(p_real)), np.ones(len(p_fake))]
    thr = float(getattr(det, "threshold_", 0.5))
    return detection_metrics(y, np.r_[p_real, p_fake], threshold=thr, intervals=False)["ap"]


def few_shot_stage(
    sizes: Sequence[int],
    real_train: torch.Tensor,
    fakes_train: Mapping[str, torch.Tensor],
    real_test: torch.Tensor,
    fakes_test: Mapping[str, torch.Tensor],
    *,
    seed: int,
) -> dict[str, dict[str, float | None]]:
    """AP of the azimuthal profile + logistic regression per generator, trained on ``n`` labelled
    images (half real) for each ``n`` of ``sizes`` that the data allows, and on all of them
    (Durall et al. 2020: 20 labelled images suffice)."""
    rng = np.random.default_rng(seed)
    curve: dict[str, dict[str, float | None]] = {}
    for n in [n for n in sizes if n < 2 * len(real_train)] + ["all"]:
        row = {}
        for name, fake in fakes_train.items():
            if n == "all":
                Xr, Xf = real_train, fake
            else:
                half = int(n) // 2
                Xr = real_train[rng.choice(len(real_train), half, replace=False)]
                Xf = fake[rng.choice(len(fake), int(n) - half, replace=False)]
            det = create_detector("spectral", features="azimuthal", classifier="logreg", seed=seed)
            det.fit(torch.cat([Xr, Xf]), np.r_[np.zeros(len(Xr)), np.ones(len(Xf))].astype(int))
            row[name] = _ap(det, real_test, fakes_test[name])
        curve[str(n)] = row
    return curve


def best_spectral(transfer: Mapping[str, dict], detectors: Sequence[StudyDetector]) -> str | None:
    """The supervised spectral detector with the highest mean AP when trained on all
    generators (or on the only one); ``None`` if the study has none."""

    def score(name: str) -> float:
        row = transfer[name].get(ALL) or next(iter(transfer[name].values()))
        aps = [v["ap"] for v in row.values() if v["ap"] is not None]
        return float(np.mean(aps)) if aps else 0.0

    spectral = [d.name for d in detectors if d.detector == "spectral"]
    return max(spectral, key=score) if spectral else None


def robustness_stage(
    saved: Mapping[str, Path],
    real_test: torch.Tensor,
    fakes_test: Mapping[str, torch.Tensor],
    sweep: Mapping[str, Sequence[float]],
) -> dict[str, list[dict]]:
    """Metrics of each saved detector (name -> folder) on the test set with real and fake
    images degraded alike (JPEG, blur; Wang et al. 2020), every generator's fakes pooled."""
    all_fake = torch.cat(list(fakes_test.values()))
    return {
        name: robustness_sweep(load_detector(folder), real_test, all_fake, degrade=degrade,
                               sweep=sweep)
        for name, folder in saved.items()
    }  # fmt: skip


# --- 7. quality --------------------------------------------------------------------------------


def quality_stage(
    real_train: torch.Tensor,
    real_test: torch.Tensor,
    fakes_test: Mapping[str, torch.Tensor],
    *,
    seed: int,
) -> dict[str, dict]:
    """Quality of each generator (:func:`ganscope.generators.quality.quality_report`): collapsed
    or unrealistic generators are flagged, so that no finding rests on a broken generator without
    saying so; SWD and spectral distance show what the spectral fixes cost."""
    q = {}
    spectral_real = float(spectral_distance(real_test, real_train))  # two real sets
    for name, fake in fakes_test.items():
        swd = sliced_wasserstein_distance(real_test, fake, seed=seed)
        report = quality_report(fake, real_test, real_train, seed=seed).as_dict()
        q[name] = {
            **report,
            # SWD as the study always stored it (not x1e3), real-vs-real alike.
            "swd": float(swd.mean),
            "swd_real": report["swd_real"] / 1e3,
            "spectral_distance": float(spectral_distance(real_test, fake)),
            "spectral_distance_real": spectral_real,
        }
    return q
