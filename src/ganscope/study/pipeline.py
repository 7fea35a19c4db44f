"""The upsampling study: does spectral detection work for every upsampler, and what transfers?

It answers the lab task of seed 002 (Durall, Keuper & Keuper) end to end: train one generator per
registered upsampler (plus the anti-aliased and spectrally fixed variants) on the same real
images, sample them, compare their spectra with the real images', and train every detector per
upsampler and on all upsamplers (balanced), evaluating each against every upsampler's held-out
fakes versus held-out real images: the transfer matrices. Wang et al. (2020) add per-generator AP
and robustness to blur and JPEG at test time.

The stages are the functions of :mod:`ganscope.study.stages`; :func:`run_study` runs them through
the :class:`~ganscope.study.cache.StageCache`, naming for each the settings it reads and the
stages it follows, so a rerun recomputes only what a changed setting touches, and GAN training
itself resumes from its checkpoints: an interrupted study continues where it stopped.
"""

from __future__ import annotations

import dataclasses
import logging
import platform
import time
from functools import partial
from pathlib import Path
from typing import Any

import torch

from ganscope import __version__
from ganscope.errors import GanscopeError
from ganscope.io import write_json
from ganscope.io.locks import run_lock
from ganscope.io.writers import remove_stale_temp_files
from ganscope.study.cache import StageCache
from ganscope.study.profiles import StudyProfile, get_profile
from ganscope.study.report import build_report
from ganscope.study.spectra import spectra_stage
from ganscope.study.stages import (
    REAL,
    best_spectral,
    few_shot_stage,
    generator_settings,
    load_folder,
    prepare_real,
    quality_stage,
    robustness_stage,
    sample_generator,
    source_folder,
    take_zoo_generator,
    train_generator,
    training_sources,
    transfer_stage,
    zoo_variants,
)

log = logging.getLogger("ganscope")


@dataclasses.dataclass(frozen=True)
class StudySettings:
    """What ``ganscope study`` asks of :func:`run_study` (see :func:`run_configured_study`).

    Attributes:
        profile: quick (about 10 min on 2 cores), full (hours) or tiny (a test).
        real: folder of real images instead of the built-in corpus.
        retrain: train every generator instead of taking the shipped zoo's.
        seed: the study's seed (real crops, training, sampling); the same seed gives the same
            output.
    """

    profile: str = "quick"
    real: Path | None = None
    retrain: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        get_profile(self.profile)  # an unknown name is one line naming the profiles


def run_configured_study(
    settings: StudySettings, out: str | Path, *, device: torch.device | str = "cpu"
) -> dict[str, Any]:
    """``ganscope study``: :func:`run_study` with ``settings``; returns ``results.json``'s
    content."""
    return run_study(
        settings.profile,
        out,
        real=settings.real,
        seed=settings.seed,
        device=device,
        retrain=settings.retrain,
    )


def study_summary(results: dict[str, Any], out: str | Path) -> str:
    """The line ``ganscope study`` prints for :func:`run_study`'s results."""
    out = Path(out)
    return (
        f"study ({results['profile']}) done in {results['seconds_this_run']:.0f} s: "
        f"{out / 'report.html'}, {out / 'results.json'}"
    )


def run_study(
    profile: StudyProfile | str,
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
    continues where an interrupted one stopped and recomputes only the stages whose settings
    changed. Holds ``out``'s run lock, and first removes the temporary files a killed run left.
    """
    t_start = time.perf_counter()
    out = Path(out)
    profile = get_profile(profile) if isinstance(profile, str) else profile
    with run_lock(out):
        for tmp in remove_stale_temp_files(out):
            log.debug("removed %s, left by an interrupted run", tmp)
        real_path = Path(real) if real is not None else None
        if real_path is not None and not real_path.exists():
            raise GanscopeError(f"--real folder not found: {real_path}")
        results = _run_stages(profile, out, real_path, seed, torch.device(device), retrain)
        results["figures"] = build_report(results, out)
        results["seconds_this_run"] = time.perf_counter() - t_start  # the report included
        write_json(out / "results.json", results)
    return results


def _run_stages(
    profile: StudyProfile,
    out: Path,
    real: Path | None,
    seed: int,
    device: torch.device,
    retrain: bool,
) -> dict[str, Any]:
    """Every stage, each cached under the settings it reads; returns the results."""
    zoo: dict[str, str] = {}
    if profile.use_zoo and not retrain and real is None:
        found, missing = zoo_variants(profile)
        if missing:
            log.info("the zoo lacks %s: training them (scripts/make_zoo.py ships them)", missing)
        zoo = {v.name: name for v, name in found}
        variants = [v for v in profile.variants if v.name not in zoo] + [v for v, _ in found]
        profile = dataclasses.replace(profile, variants=tuple(variants))
    settings = {"profile": profile.to_json(), "real": str(real) if real else None, "seed": seed,
                "zoo": zoo}  # fmt: skip
    cache = StageCache(out)
    data = out / "data"
    real_dirs = [data / "train" / REAL, data / "test" / REAL]

    # 1. Real images, split with no shared crops.
    real_info = cache.run(
        "real", partial(prepare_real, profile, data, real, seed),
        settings={"size": profile.size, "n_train": profile.n_train, "n_test": profile.n_test,
                  "real": settings["real"], "seed": seed},
        outputs=real_dirs,
    )  # fmt: skip

    # 2. One generator per variant (trained, or the zoo's), then its samples.
    gan_info: dict[str, dict] = {}
    for i, v in enumerate(profile.variants):
        log.info("generator %d/%d: %s", i + 1, len(profile.variants), v.name)
        folder, run = source_folder(v.name), out / "gans" / source_folder(v.name)
        if v.name in zoo:
            make = partial(take_zoo_generator, zoo[v.name])
            gan_info[v.name] = cache.run(f"gan-{v.name}", make, settings={"zoo": zoo[v.name]})
        else:
            make = partial(train_generator, profile, v, real_dirs[0], run, seed, device)
            gan_info[v.name] = cache.run(
                f"gan-{v.name}", make, settings={**generator_settings(profile, v), "seed": seed},
                after=["real"], outputs=[run],
            )  # fmt: skip
        cache.run(
            f"samples-{v.name}",
            partial(sample_generator, Path(gan_info[v.name]["run"]), data, folder,
                    profile.n_train, profile.n_test, device),
            settings={"n_train": profile.n_train, "n_test": profile.n_test},
            after=[f"gan-{v.name}"],
            outputs=[data / "train" / folder, data / "test" / folder],
        )  # fmt: skip

    images = ["real", *(f"samples-{v.name}" for v in profile.variants)]
    real_train, real_test = load_folder(real_dirs[0]), load_folder(real_dirs[1])
    fakes_train = {v.name: load_folder(data / "train" / source_folder(v.name))
                   for v in profile.variants}  # fmt: skip
    fakes_test = {v.name: load_folder(data / "test" / source_folder(v.name))
                  for v in profile.variants}  # fmt: skip

    # 3. Spectra (figures are drawn by the report from these numbers).
    spectra = cache.run("spectra", partial(spectra_stage, real_test, fakes_test), after=images)

    # 4. Detectors: transfer matrices.
    sources = training_sources(fakes_train, len(real_train))
    saved = {d.name: out / "detectors" / source_folder(d.name) for d in profile.detectors}
    transfer = {
        d.name: cache.run(
            f"transfer-{d.name}",
            partial(
                transfer_stage,
                d,
                real_train,
                sources,
                real_test,
                fakes_test,
                seed=seed,
                device=str(device),
                keep=saved[d.name],
            ),
            settings={
                "detector": d.detector,
                **d.settings,
                "per_source": d.per_source,
                "seed": seed,
            },
            after=images,
            outputs=[saved[d.name]],
        )
        for d in profile.detectors
    }

    # 5. Few-shot curve of the spectral detector (Durall et al.: 20 labelled images suffice).
    fewshot = cache.run(
        "few-shot",
        partial(few_shot_stage, profile.few_shot, real_train, fakes_train, real_test, fakes_test,
                seed=seed),
        settings={"few_shot": profile.few_shot, "seed": seed},
        after=images,
    )  # fmt: skip

    # 6. Robustness at test time (Wang et al. 2020) of the best spectral detector and the CNNs.
    best = best_spectral(transfer, profile.detectors)
    names = ([best] if best else []) + [d.name for d in profile.detectors if d.detector == "cnn"]
    sweep = {"jpeg": profile.jpeg_qualities, "blur": profile.blur_sigmas}
    robust = cache.run(
        "robustness",
        partial(robustness_stage, {n: saved[n] for n in names}, real_test, fakes_test, sweep),
        settings={"sweep": sweep, "detectors": names},
        after=[f"transfer-{n}" for n in names],
    )

    # 7. Quality of each generator: collapsed or unrealistic generators are flagged.
    quality = cache.run(
        "quality", partial(quality_stage, real_train, real_test, fakes_test, seed=seed),
        settings={"seed": seed}, after=images,
    )  # fmt: skip
    log.info(
        "stages: %d computed, %d reused from %s",
        len(cache.computed), len(cache.keys) - len(cache.computed), cache.stages,
    )  # fmt: skip
    return {
        "ganscope_version": __version__,
        "profile": profile.name,
        "settings": settings,
        "upsamplers": profile.variant_names,
        "real": real_info,
        "generators": {
            k: {"seconds": v["seconds"], "config": v["config"], "zoo": v.get("zoo")}
            for k, v in gan_info.items()
        },
        "detectors": {
            d.name: {"detector": d.detector, **d.settings, "per_source": d.per_source}
            for d in profile.detectors
        },
        "spectra": spectra,
        "transfer": transfer,
        "few_shot": fewshot,
        "robustness": robust,
        "quality": quality,
        "timings": cache.timings(),
        "stages_computed": cache.computed,
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "platform": platform.platform(),
            "threads": torch.get_num_threads(),
            "device": str(device),
        },
    }
