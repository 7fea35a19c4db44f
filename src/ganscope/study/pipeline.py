"""The upsampling study: does spectral detection work for every upsampler, and what transfers?

It answers the lab task of seed 002 (Durall, Keuper & Keuper) end to end: train one generator per
registered upsampler (plus the anti-aliased and spectrally fixed variants) on the same real
images, sample them, compare their spectra with the real images', and train every detector per
upsampler and on all upsamplers (balanced), evaluating each against every upsampler's held-out
fakes versus held-out real images: the transfer matrices. Wang et al. (2020) add per-generator AP
and robustness to blur and JPEG at test time.

Every stage is cached in the output folder (:class:`~ganscope.study.cache.StageCache`), and GAN
training itself resumes from its checkpoints, so an interrupted study continues where it stopped.
"""

from __future__ import annotations

import dataclasses
import logging
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganscope import __version__
from ganscope.errors import GanscopeError
from ganscope.io import iter_batches, list_images, write_builtin, write_json
from ganscope.io.writers import save_png
from ganscope.progress import progress_bar
from ganscope.study.cache import StageCache
from ganscope.study.profiles import StudyProfile, Variant

log = logging.getLogger("ganscope")

REAL = "real"
ALL = "all"
TEST_SEED_OFFSET = 1_000_000  # test fakes use other latents than training fakes


def _folder(name: str) -> str:
    """Folder name of a source: ``transposed+specreg`` → ``transposed_specreg``."""
    return name.replace("+", "_")


# --- data --------------------------------------------------------------------------------------


def _prepare_real(profile: StudyProfile, data: Path, real: Path | None, seed: int) -> dict:
    """Real train and test folders with no shared pixels."""
    train_dir, test_dir = data / "train" / REAL, data / "test" / REAL
    if real is None:
        # Disjoint regions of every bundled photo (the test split is the right quarter).
        write_builtin(train_dir, size=profile.size, count=profile.n_train, seed=seed, split="train")
        write_builtin(test_dir, size=profile.size, count=profile.n_test, seed=seed, split="test")
        return {"source": "builtin", "n_train": profile.n_train, "n_test": profile.n_test}
    files = list_images([real])
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(files))
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
        folder = test_dir if i < n_test else train_dir
        save_png(folder / f"real_{i:06d}.png", img)
    return {
        "source": str(real),
        "n_train": min(len(kept), need) - n_test,
        "n_test": n_test,
        "bad_files": [[str(p), r] for p, r in errors],
    }


def _load_folder(folder: Path) -> torch.Tensor:
    batches = [b.images for b in iter_batches(list_images([folder]), batch_size=256)]
    return torch.cat(batches)


# --- generators --------------------------------------------------------------------------------


def _train_variant(
    profile: StudyProfile, variant: Variant, data: Path, run: Path, seed: int, device: torch.device
) -> dict:
    from ganscope.generators import TrainConfig, train_gan

    cfg = TrainConfig(
        data=str(data / "train" / REAL),
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


def _zoo_variants(profile: StudyProfile) -> tuple[list[tuple[Variant, str]], list[str]]:
    """Shipped generators for the study: one per variant that the zoo has, plus every other
    family's entries (so that families are compared too), and the variants it lacks."""
    from ganscope.zoo import zoo_entries

    entries = {e.name: e for e in zoo_entries() if e.size == profile.size and e.extra.get("data")}
    found, missing = [], []
    for v in profile.variants:
        name = zoo_name(v)
        if name in entries:
            found.append((v, name))
        else:
            missing.append(v.name)
    for name, e in entries.items():
        if e.family != "dcgan":
            found.append((Variant(name, e.upsampler), name))
    return found, missing


def _zoo_variant(name: str) -> dict:
    from ganscope.zoo import zoo_entry

    e = zoo_entry(name)
    return {"run": str(e.path), "seconds": 0.0, "zoo": name, "config": {"family": e.family}}


def _sample_variant(
    profile: StudyProfile, run: Path, data: Path, folder: str, device: torch.device
) -> dict:
    """Training and test fakes as 8-bit PNGs, like the real images (a float-vs-8-bit difference
    would be a container cue, not a generator's)."""
    from ganscope.generators import load_generator, sample_images

    G, _ = load_generator(run, device=device)
    for split, n, offset in (
        ("train", profile.n_train, 0),
        ("test", profile.n_test, TEST_SEED_OFFSET),
    ):
        seeds = list(range(offset, offset + n))
        for start in range(0, n, 256):
            chunk = seeds[start : start + 256]
            imgs = sample_images(G, chunk, batch_size=256, device=device)
            for s, img in zip(chunk, imgs, strict=True):
                save_png(data / split / folder / f"seed{s:07d}.png", img)
    return {"train": str(data / "train" / folder), "test": str(data / "test" / folder)}


# --- detectors ---------------------------------------------------------------------------------


def _balanced_all(fakes: dict[str, torch.Tensor], n: int) -> torch.Tensor:
    """``n`` fakes drawn evenly from every source (the 'train on all, balanced' setting)."""
    k = len(fakes)
    per = [n // k + (1 if i < n % k else 0) for i in range(k)]
    return torch.cat([f[:m] for f, m in zip(fakes.values(), per, strict=True)])


def _detector_factories(profile: StudyProfile, seed: int, device: str) -> dict[str, Callable]:
    from ganscope.detectors import CNNDetector, SpectralDetector, SpectralKMeans

    out: dict[str, Callable] = {}
    for feat in profile.features:
        for clf in profile.classifiers:
            out[f"{feat}+{clf}"] = lambda feat=feat, clf=clf: SpectralDetector(
                features=feat, classifier=clf, seed=seed
            )
    out["azimuthal+kmeans"] = lambda: SpectralKMeans(features="azimuthal", seed=seed)
    for inp in profile.cnn_inputs:
        out[f"cnn-{inp}"] = lambda inp=inp: CNNDetector(
            arch="resnet-small",
            input=inp,
            epochs=profile.cnn_epochs,
            blur_prob=0.1,
            jpeg_prob=0.1,
            seed=seed,
            device=device,
        )
    return out


def _evaluate(det: Any, real_test: torch.Tensor, fakes_test: dict[str, torch.Tensor]) -> dict:
    from ganscope.metrics import detection_metrics

    thr = float(getattr(det, "threshold_", 0.5))
    p_real = det.predict_proba(real_test)[:, 1]
    row = {}
    for name, fake in fakes_test.items():
        p_fake = det.predict_proba(fake)[:, 1]
        y = np.r_[np.zeros(len(p_real)), np.ones(len(p_fake))]
        m = detection_metrics(y, np.r_[p_real, p_fake], threshold=thr, intervals=False)
        row[name] = {"ap": m["ap"], "accuracy": m["accuracy"], "roc_auc": m["roc_auc"]}
    return row


# --- the study ---------------------------------------------------------------------------------


def run_study(
    profile: StudyProfile,
    out: str | Path,
    *,
    real: str | Path | None = None,
    seed: int = 0,
    device: torch.device | str = "cpu",
    retrain: bool = False,
) -> dict[str, Any]:
    """Run (or resume) the study into ``out``; returns the contents of ``results.json``.

    A profile with ``use_zoo`` (``quick``) takes the shipped zoo's generators, trained on the
    built-in corpus with the default recipe, instead of training its own, and adds the zoo's
    other families (``stylegan2-*``, ``vae-*``) as sources; ``retrain=True`` or ``real`` (the
    zoo was not trained on it) train every generator from scratch.

    Writes ``out/results.json``, ``out/report.html`` and ``out/figures/*.png``; intermediate
    data (real crops, generator runs, samples, stage results) stay in ``out`` so that a rerun
    after an interruption continues where it stopped.
    """
    from ganscope.detectors import save_detector
    from ganscope.detectors.augment import degrade
    from ganscope.generators.metrics import sliced_wasserstein_distance, spectral_distance
    from ganscope.metrics import robustness_sweep
    from ganscope.study.report import build_report

    t_start = time.perf_counter()
    out = Path(out)
    device = torch.device(device)
    real_path = Path(real) if real is not None else None
    if real_path is not None and not real_path.exists():
        raise GanscopeError(f"--real folder not found: {real_path}")
    zoo: list[tuple[Variant, str]] = []
    if profile.use_zoo and not retrain and real_path is None:
        zoo, missing = _zoo_variants(profile)
        if missing:
            log.info("the zoo lacks %s: training them (scripts/make_zoo.py ships them)", missing)
    zoo_by_name = {v.name: name for v, name in zoo}
    variants = [v for v in profile.variants if v.name not in zoo_by_name]
    variants += [v for v, _ in zoo]
    profile = dataclasses.replace(profile, variants=tuple(variants))
    settings = {
        "profile": profile.to_json(),
        "real": str(real_path) if real_path else None,
        "seed": seed,
        "zoo": zoo_by_name,
    }
    cache = StageCache(out, settings)
    if cache.resumed:
        log.info("resuming the study in %s (finished stages are reused)", out)
    data = out / "data"
    timings: dict[str, float] = cache.load("timings") if cache.done("timings") else {}

    def stage(name: str, fn: Callable[[], Any]) -> Any:
        if cache.done(name):
            return cache.load(name)
        t0 = time.perf_counter()
        result = cache.run(name, fn)
        timings[name] = time.perf_counter() - t0
        cache.save("timings", timings)
        return result

    # 1. Real images, split with no shared crops.
    real_info = stage("real", lambda: _prepare_real(profile, data, real_path, seed))

    # 2-3. One generator per variant, then its samples.
    gan_info = {}
    for i, v in enumerate(profile.variants):
        log.info("generator %d/%d: %s", i + 1, len(profile.variants), v.name)
        run = out / "gans" / _folder(v.name)
        if v.name in zoo_by_name:
            gan_info[v.name] = stage(f"gan-{v.name}", lambda v=v: _zoo_variant(zoo_by_name[v.name]))
            run = Path(gan_info[v.name]["run"])
        else:
            gan_info[v.name] = stage(
                f"gan-{v.name}",
                lambda v=v, run=run: _train_variant(profile, v, data, run, seed, device),
            )
        stage(
            f"samples-{v.name}",
            lambda run=run, v=v: _sample_variant(profile, run, data, _folder(v.name), device),
        )

    real_train = _load_folder(data / "train" / REAL)
    real_test = _load_folder(data / "test" / REAL)
    fakes_train = {v.name: _load_folder(data / "train" / _folder(v.name)) for v in profile.variants}
    fakes_test = {v.name: _load_folder(data / "test" / _folder(v.name)) for v in profile.variants}
    train_sources = dict(fakes_train)
    if len(fakes_train) > 1:
        train_sources[ALL] = _balanced_all(fakes_train, len(real_train))

    # 4. Spectra (figures are drawn by the report from these numbers).
    from ganscope.study.spectra import spectra_stage

    spectra = stage("spectra", lambda: spectra_stage(real_test, fakes_test))

    # 5. Detectors: transfer matrices.
    factories = _detector_factories(profile, seed, str(device))
    transfer: dict[str, dict] = {}
    for det_name, make in factories.items():
        is_cnn = det_name.startswith("cnn-")
        sources = (
            train_sources
            if (not is_cnn or profile.cnn_per_source)
            else {k: v for k, v in train_sources.items() if k == ALL or len(train_sources) == 1}
        )

        def fit_all(make=make, sources=sources, det_name=det_name) -> dict:
            keep = ALL if ALL in sources else next(iter(sources))
            table = {}
            with progress_bar(len(sources), det_name) as bar:
                for train_name, fake in sources.items():
                    X = torch.cat([real_train, fake])
                    y = np.r_[np.zeros(len(real_train)), np.ones(len(fake))].astype(np.int64)
                    det = make().fit(X, y)
                    table[train_name] = _evaluate(det, real_test, fakes_test)
                    if train_name == keep:  # kept for the robustness stage
                        save_detector(det, out / "detectors" / _folder(det_name))
                    bar.advance()
            return table

        transfer[det_name] = stage(f"transfer-{det_name}", fit_all)

    # 6. Few-shot curve of the spectral detector (Durall et al.: 20 labelled images suffice).
    def few_shot() -> dict:
        from ganscope.detectors import SpectralDetector

        rng = np.random.default_rng(seed)
        curve: dict[str, dict[str, float]] = {}
        sizes = [n for n in profile.few_shot if n < 2 * len(real_train)] + ["all"]
        for n in sizes:
            row = {}
            for name, fake in fakes_train.items():
                if n == "all":
                    Xr, Xf = real_train, fake
                else:
                    half = int(n) // 2
                    Xr = real_train[rng.choice(len(real_train), half, replace=False)]
                    Xf = fake[rng.choice(len(fake), int(n) - half, replace=False)]
                det = SpectralDetector(features="azimuthal", classifier="logreg", seed=seed)
                det.fit(torch.cat([Xr, Xf]), np.r_[np.zeros(len(Xr)), np.ones(len(Xf))].astype(int))
                row[name] = _evaluate(det, real_test, {name: fakes_test[name]})[name]["ap"]
            curve[str(n)] = row
        return curve

    fewshot = stage("few-shot", few_shot)

    # 7. Robustness at test time (Wang et al. 2020): degrade real and fake test images alike.
    def robustness() -> dict:
        from ganscope.detectors import load_detector

        best = _best_spectral(transfer)
        names = [best] + [n for n in transfer if n.startswith("cnn-")]
        all_fake = torch.cat(list(fakes_test.values()))
        sweep = {"jpeg": profile.jpeg_qualities, "blur": profile.blur_sigmas}
        res = {}
        for name in names:
            det = load_detector(out / "detectors" / _folder(name))
            res[name] = robustness_sweep(det, real_test, all_fake, degrade=degrade, sweep=sweep)
        return res

    robust = stage("robustness", robustness)

    # 8. Quality of each generator: collapsed or unrealistic generators are flagged, so that no
    # finding rests on a broken generator without saying so; what the spectral fixes cost.
    def quality() -> dict:
        from ganscope.generators.quality import quality_report

        q = {}
        for name, fake in fakes_test.items():
            swd = sliced_wasserstein_distance(real_test, fake, seed=seed)
            report = quality_report(fake, real_test, real_train, seed=seed).as_dict()
            q[name] = {
                **report,
                # SWD as the study always stored it (not x1e3), real-vs-real alike.
                "swd": float(swd.mean),
                "swd_real": report["swd_real"] / 1e3,
                "spectral_distance": float(spectral_distance(real_test, fake)),
            }
        return q

    quality_res = stage("quality", quality)

    results: dict[str, Any] = {
        "ganscope_version": __version__,
        "profile": profile.name,
        "settings": settings,
        "upsamplers": profile.upsamplers,
        "real": real_info,
        "generators": {
            k: {"seconds": v["seconds"], "config": v["config"], "zoo": v.get("zoo")}
            for k, v in gan_info.items()
        },
        "spectra": spectra,
        "transfer": transfer,
        "few_shot": fewshot,
        "robustness": robust,
        "quality": quality_res,
        "timings": timings,
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "platform": platform.platform(),
            "threads": torch.get_num_threads(),
            "device": str(device),
        },
    }
    results["seconds_this_run"] = time.perf_counter() - t_start
    results["figures"] = build_report(results, out)
    write_json(out / "results.json", results)
    return results


def _best_spectral(transfer: dict[str, dict]) -> str:
    """The spectral detector with the highest mean AP when trained on all generators."""

    def score(name: str) -> float:
        row = transfer[name].get(ALL) or next(iter(transfer[name].values()))
        aps = [v["ap"] for v in row.values() if v["ap"] is not None]
        return float(np.mean(aps)) if aps else 0.0

    spectral = [n for n in transfer if not n.startswith("cnn-") and "kmeans" not in n]
    return max(spectral, key=score)
