"""Generator quality without downloaded weights, each number beside its real-vs-real value.

A GAN that collapses makes few distinct images; a GAN that blurs makes images that look like no
real patch; a GAN that memorises copies its training set. Each failure has a number here, and
each number is reported next to the same number computed between two real sets, so "0.4" reads
as "0.4 where real data scores 1.0":

- **diversity**: mean pairwise L2 distance between samples ÷ the same between held-out real
  images (1 = as varied as real data; collapse → 0);
- **near-duplicate rate**: the fraction of sample pairs closer than ``dup_fraction`` (default
  0.1) × the median real pairwise distance, beside the real set's own rate;
- **memorisation** (``nn_ratio``): the median L2 distance of a sample to its nearest *training*
  image ÷ the same for held-out real images. About 1 is healthy; ≪ 1 means copies, ≫ 1 means
  images unlike any real patch (blobs);
- **precision / recall** (Kynkäänniemi, Karras, Laine, Lehtinen & Aila, "Improved Precision and
  Recall Metric for Assessing Generative Models", NeurIPS 2019): k-NN balls (k = 3) around each
  embedded real (fake) image approximate its manifold; precision is the fraction of fakes inside
  the real manifold, recall the fraction of reals inside the fake manifold. The embedding is a
  fixed, seeded random convolutional network (:func:`random_features`): random CNN features are
  known to carry enough image statistics for k-NN metrics (Naeem et al. 2020, "Reliable
  Fidelity and Diversity Metrics", Sec. 5), and it needs no downloaded weights;
- **SWD** (:func:`ganscope.generators.metrics.sliced_wasserstein_distance`), real-vs-real as
  training images against held-out images.

All distances are in pixel space on [0, 1] images unless stated; every function is batched.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ganscope.errors import GanscopeError
from ganscope.generators.metrics import sliced_wasserstein_distance
from ganscope.generators.sample import sample_images
from ganscope.generators.train import load_generator, load_training_images
from ganscope.io.builtin import iter_builtin
from ganscope.io.paths import require_dirs, writable_parent
from ganscope.io.writers import write_json
from ganscope.settings import positive

__all__ = [
    "QualityReport",
    "QualitySettings",
    "diversity",
    "evaluate_generator",
    "evaluate_run",
    "near_duplicate_rate",
    "nearest_neighbour_distances",
    "precision_recall",
    "quality_report",
    "quality_samples",
    "random_features",
]


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(x.shape[0], -1).double()


def _pairwise(x: torch.Tensor) -> torch.Tensor:
    """Distances of all unordered pairs ``i < j`` of the rows of ``x`` (flattened)."""
    d = torch.cdist(_flat(x), _flat(x))
    iu = torch.triu_indices(len(x), len(x), offset=1)
    return d[iu[0], iu[1]]


def diversity(fake: torch.Tensor, real: torch.Tensor) -> float:
    """Mean pairwise L2 distance among ``fake`` ÷ the same among ``real`` (images ``(N, C, H, W)``).

    Example:
        >>> x = torch.rand(20, 3, 8, 8)
        >>> round(diversity(x, x), 6)
        1.0
    """
    if len(fake) < 2 or len(real) < 2:
        raise GanscopeError("diversity needs at least two images per set")
    return float(_pairwise(fake).mean() / _pairwise(real).mean())


def near_duplicate_rate(images: torch.Tensor, threshold: float) -> float:
    """Fraction of the pairs of ``images`` whose L2 distance is below ``threshold``."""
    return float((_pairwise(images) < threshold).double().mean())


def nearest_neighbour_distances(
    query: torch.Tensor, reference: torch.Tensor, *, chunk: int = 512
) -> torch.Tensor:
    """L2 distance from each ``query`` image to its nearest ``reference`` image, ``(N,)``."""
    ref = _flat(reference)
    out = [torch.cdist(_flat(q), ref).min(dim=1).values for q in query.split(chunk)]
    return torch.cat(out)


def _random_net(seed: int, device: torch.device) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    shapes = [(32, 3, 3, 3), (64, 32, 3, 3), (128, 64, 3, 3)]
    # He-normal weights: activations keep their scale through the ReLUs.
    return [
        (torch.randn(*s, generator=g) * (2.0 / (s[1] * s[2] * s[3])) ** 0.5).to(device)
        for s in shapes
    ]


@torch.no_grad()
def random_features(images: torch.Tensor, *, seed: int = 0, batch_size: int = 256) -> torch.Tensor:
    """Embed images ``(N, 3, H, W)`` in [0, 1] with a fixed random CNN → ``(N, 448)``.

    Three 3x3 conv + ReLU stages (32, 64, 128 channels, 2x average pooling between them); the
    embedding concatenates the spatial mean and standard deviation of every stage's channels
    (first and second order texture statistics, as in Gatys et al.'s style features), each
    standardised, so that colour, edges and texture all count.
    """
    weights = _random_net(seed, images.device)
    feats = []
    for x in images.split(batch_size):
        h = x.float() * 2 - 1
        parts = []
        for i, w in enumerate(weights):
            if i:
                h = F.avg_pool2d(h, 2) if min(h.shape[-2:]) >= 2 else h
            h = F.relu(F.conv2d(h, w, padding=1))
            parts += [h.mean(dim=(2, 3)), h.std(dim=(2, 3), correction=0)]
        feats.append(torch.cat(parts, dim=1))
    return torch.cat(feats)


def _kth_radius(feats: torch.Tensor, k: int) -> torch.Tensor:
    d = torch.cdist(feats, feats)
    # k-th nearest *other* point: index k after the point itself at distance 0.
    return d.kthvalue(k + 1, dim=1).values


def precision_recall(
    real_feats: torch.Tensor, fake_feats: torch.Tensor, *, k: int = 3
) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019, eqs. 1–2) of feature sets.

    A fake is "precise" if it lies within the k-NN radius of some real feature; a real is
    "recalled" if it lies within the k-NN radius of some fake feature.

    Example:
        >>> f = torch.randn(50, 4)
        >>> precision_recall(f, f)
        (1.0, 1.0)
    """
    if len(real_feats) <= k or len(fake_feats) <= k:
        raise GanscopeError(f"precision/recall needs more than k={k} images per set")
    real_feats, fake_feats = real_feats.double(), fake_feats.double()
    r_real, r_fake = _kth_radius(real_feats, k), _kth_radius(fake_feats, k)
    d = torch.cdist(fake_feats, real_feats)  # (N_fake, N_real)
    precision = (d <= r_real[None, :]).any(dim=1).double().mean()
    recall = (d <= r_fake[:, None]).any(dim=0).double().mean()
    return float(precision), float(recall)


@dataclass
class QualityReport:
    """Quality numbers of a sample set, each beside its real-vs-real value (``*_real``).

    Attributes:
        n_fake, n_real: images compared (samples; held-out real images).
        diversity: pairwise-distance ratio fake / held-out real (real-vs-real: 1 by definition).
        near_duplicates, near_duplicates_real: pair rates below the duplicate threshold.
        nn_ratio: median nearest-training distance of samples ÷ that of held-out real images.
        nn_ratio_real: the same for one half of the held-out set against the other half's
            reference value (≈ 1; shows the noise of the ratio).
        precision, recall: k-NN precision and recall against the held-out set.
        precision_real, recall_real: the same between the training and held-out real sets.
        swd, swd_real: sliced Wasserstein distance (x1e3) to the held-out set, and training
            set vs held-out set.
        collapsed: diversity < 0.5 or near-duplicates > 5%.
        unrealistic: nn_ratio > 1.5 (samples far from every real patch).
    """

    n_fake: int
    n_real: int
    diversity: float
    near_duplicates: float
    near_duplicates_real: float
    nn_ratio: float
    nn_ratio_real: float
    precision: float
    recall: float
    precision_real: float
    recall_real: float
    swd: float
    swd_real: float
    collapsed: bool
    unrealistic: bool

    def as_dict(self) -> dict[str, float | int | bool]:
        """Plain JSON-able dict (with ``healthy``)."""
        return {**dataclasses.asdict(self), "healthy": self.healthy}

    def table(self) -> str:
        """The numbers as a text table beside their real-vs-real values, and the verdict."""
        rows = [
            ("diversity", self.diversity, 1.0),
            ("near-duplicate pairs", self.near_duplicates, self.near_duplicates_real),
            ("nearest-training distance ratio", self.nn_ratio, self.nn_ratio_real),
            ("precision", self.precision, self.precision_real),
            ("recall", self.recall, self.recall_real),
            ("SWD x1e3", self.swd, self.swd_real),
        ]
        lines = [f"{'':34s}{'generator':>12s}{'real-vs-real':>14s}"]
        lines += [f"{name:34s}{ours:12.3f}{real:14.3f}" for name, ours, real in rows]
        verdict = "healthy" if self.healthy else "collapsed" if self.collapsed else "unhealthy"
        lines.append(f"verdict: {verdict} (on {self.n_fake} samples, {self.n_real} real images)")
        return "\n".join(lines)

    @property
    def healthy(self) -> bool:
        """Meets the zoo's bar: diversity ≥ 0.7, ≤ 1% near-duplicates, nn_ratio in [0.7, 1.3]."""
        return (
            self.diversity >= 0.7 and self.near_duplicates <= 0.01 and 0.7 <= self.nn_ratio <= 1.3
        )


@dataclass
class RealReference:
    """The real-side half of :func:`quality_report`, computed once per pair of real sets (the
    study compares many generators against the same real images)."""

    key: tuple
    threshold: float
    mean_pair_distance: float
    near_duplicates: float
    nn_median: float
    nn_ratio: float
    test_features: torch.Tensor
    feature_mean: torch.Tensor
    feature_std: torch.Tensor
    precision: float
    recall: float
    swd: float


_REFERENCES: dict[tuple, RealReference] = {}


def _key(real_test: torch.Tensor, real_train: torch.Tensor, *settings: float) -> tuple:
    # Identity, shape and a cheap content checksum: the same tensors give the same key.
    return (
        id(real_test), tuple(real_test.shape), float(real_test.double().sum()),
        id(real_train), tuple(real_train.shape), float(real_train.double().sum()), *settings,
    )  # fmt: skip


def real_reference(
    real_test: torch.Tensor,
    real_train: torch.Tensor,
    *,
    dup_fraction: float = 0.1,
    k: int = 3,
    seed: int = 0,
) -> RealReference:
    """Real-vs-real numbers and the statistics the generated set is compared with (cached for
    the last pair of real sets)."""

    key = _key(real_test, real_train, dup_fraction, k, seed)
    if key in _REFERENCES:
        return _REFERENCES[key]
    real_pairs = _pairwise(real_test)
    threshold = float(dup_fraction * real_pairs.median())
    nn_real_all = nearest_neighbour_distances(real_test, real_train)
    half = len(real_test) // 2
    f_train, f_test = random_features(real_train, seed=seed), random_features(real_test, seed=seed)
    # Standardise every feature by the real test set's statistics (scale-free distances).
    mu, sd = f_test.mean(0), f_test.std(0).clamp_min(1e-8)
    f_train, f_test = (f_train - mu) / sd, (f_test - mu) / sd
    n = min(len(f_train), len(f_test))
    p_real, r_real = precision_recall(f_test[:n], f_train[:n], k=k)
    ref = RealReference(
        key=key,
        threshold=threshold,
        mean_pair_distance=float(real_pairs.mean()),
        near_duplicates=float((real_pairs < threshold).double().mean()),
        nn_median=float(nn_real_all.median()),
        nn_ratio=float(nn_real_all[:half].median() / nn_real_all[half:].median()),
        test_features=f_test,
        feature_mean=mu,
        feature_std=sd,
        precision=p_real,
        recall=r_real,
        swd=sliced_wasserstein_distance(real_test, real_train, seed=seed).mean * 1e3,
    )
    _REFERENCES.clear()  # keep one: the real sets of the current comparison
    _REFERENCES[key] = ref
    return ref


def quality_report(
    fake: torch.Tensor,
    real_test: torch.Tensor,
    real_train: torch.Tensor,
    *,
    dup_fraction: float = 0.1,
    k: int = 3,
    seed: int = 0,
) -> QualityReport:
    """All quality numbers of ``fake`` against held-out ``real_test`` and ``real_train``.

    Args:
        fake: generated images ``(N, 3, H, W)`` in [0, 1].
        real_test: held-out real images of the same size (not seen in training).
        real_train: the training images (or a random subset of them).
        dup_fraction: near-duplicate threshold as a fraction of the median real pair distance.
        k: neighbourhood size of precision and recall.
        seed: seed of the SWD projections and the random feature network.

    Returns:
        :class:`QualityReport`.
    """

    if fake.shape[1:] != real_test.shape[1:] or real_train.shape[1:] != real_test.shape[1:]:
        raise GanscopeError(
            f"image sizes differ: generated {tuple(fake.shape[1:])}, held-out "
            f"{tuple(real_test.shape[1:])}, training {tuple(real_train.shape[1:])}"
        )
    if len(real_test) < 8 or len(fake) < 8:
        raise GanscopeError("quality needs at least 8 generated and 8 held-out real images")
    ref = real_reference(real_test, real_train, dup_fraction=dup_fraction, k=k, seed=seed)
    nn_fake = nearest_neighbour_distances(fake, real_train).median()
    f_fake = (random_features(fake, seed=seed) - ref.feature_mean) / ref.feature_std
    p, r = precision_recall(ref.test_features, f_fake, k=k)
    swd = sliced_wasserstein_distance(real_test, fake, seed=seed).mean * 1e3
    div = float(_pairwise(fake).mean() / ref.mean_pair_distance)
    dups = near_duplicate_rate(fake, ref.threshold)
    nn_ratio = float(nn_fake / ref.nn_median)
    real_pairs_rate, nn_ratio_real = ref.near_duplicates, ref.nn_ratio
    p_real, r_real, swd_real = ref.precision, ref.recall, ref.swd
    return QualityReport(
        n_fake=len(fake),
        n_real=len(real_test),
        diversity=div,
        near_duplicates=dups,
        near_duplicates_real=real_pairs_rate,
        nn_ratio=nn_ratio,
        nn_ratio_real=nn_ratio_real,
        precision=p,
        recall=r,
        precision_real=p_real,
        recall_real=r_real,
        swd=swd,
        swd_real=swd_real,
        collapsed=div < 0.5 or dups > 0.05,
        unrealistic=nn_ratio > 1.5,
    )


@torch.no_grad()
def quality_samples(G: torch.nn.Module, n: int, real_test: torch.Tensor) -> torch.Tensor:
    """What a generator's quality is measured on: ``n`` samples on seeds ``0 .. n-1``, or, for
    an autoencoder that cannot sample a prior, its reconstructions of ``real_test[:n]``."""

    if getattr(G, "reconstructs", False) and not getattr(G, "samples_prior", True):
        device = next(G.parameters()).device
        out = [G.reconstruct(x.to(device)).cpu() for x in real_test[:n].split(128)]
        return torch.cat(out)
    return sample_images(G, list(range(n)))


def _images_from(source: str | dict, size: int, limit: int) -> torch.Tensor:
    if isinstance(source, dict):  # a built-in corpus recipe recorded by the zoo
        import numpy as np

        pairs = iter_builtin(**{**source, "count": min(int(source["count"]), limit)})
        arr = np.stack([a for _, a in pairs])  # (N, S, S, 3) uint8
        return torch.from_numpy(arr).permute(0, 3, 1, 2).float() / 255
    images, _, _ = load_training_images(source, size)
    return images[:limit].float() / 255


def evaluate_generator(
    G: torch.nn.Module,
    config: dict,
    *,
    real: str | dict,
    train: str | dict | None = None,
    n: int = 500,
    n_train: int = 4000,
    seed: int = 0,
) -> QualityReport:
    """Quality of a loaded generator against a held-out real folder (``gan quality``).

    Args:
        G: the generator (:func:`ganscope.generators.load_generator`).
        config: its ``config.json`` (gives the training data when ``train`` is not given:
            the run's ``train_config.data`` folder, or the zoo's built-in corpus recipe).
        real: folder of held-out real images (centre-cropped to the generator's size), or a
            built-in corpus recipe ``{"size", "count", "seed", "split"}``.
        train: folder (or recipe) of the training images, for the memorisation number.
        n: samples (and at most this many held-out images).
        n_train: at most this many training images.
        seed: seed of SWD and of the feature network.

    Raises:
        GanscopeError: no usable images, or no training images known.
    """
    size = int(config["settings"]["size"])
    if train is None:
        zoo_data = config.get("zoo", {}).get("data")
        run_data = config.get("train_config", {}).get("data")
        if zoo_data is not None:
            train = zoo_data
        elif run_data and Path(run_data).is_dir():
            train = run_data
        else:
            raise GanscopeError(
                "the generator's training images are not at hand; pass them with --train DIR"
            )
    real_test = _images_from(real, size, n)
    real_train = _images_from(train, size, n_train)
    fake = quality_samples(G, n, real_test)
    return quality_report(fake, real_test, real_train, seed=seed)


@dataclass(frozen=True)
class QualitySettings:
    """Settings of :func:`evaluate_run` (``ganscope gan quality``), checked when made.

    Attributes:
        n: samples to measure.
        json: write the numbers here.
        seed: random seed; the same seed gives the same output.
    """

    n: int = 500
    json: Path | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        positive(self.n, "--n", minimum=8)  # fewer are too few for the k-NN metrics


def evaluate_run(
    run: str | Path,
    settings: QualitySettings | None = None,
    *,
    real: Path,
    train: Path | None = None,
    device: torch.device | str = "cpu",
) -> QualityReport:
    """``gan quality``: :func:`evaluate_generator` on the generator of a run folder or
    ``zoo:NAME``, with the numbers written to ``settings.json`` (``{"generator": run, ...}``) when
    given. The folders and ``settings.json`` are checked before the generator loads.

    Raises:
        GanscopeError: a folder not found, an output that cannot be written, or see
            :func:`evaluate_generator`.
    """
    s = settings or QualitySettings()
    require_dirs([real] + ([train] if train else []))
    if s.json is not None:
        writable_parent(s.json, folder=False)
    G, config = load_generator(run, device=device)
    report = evaluate_generator(
        G, config, real=str(real), train=str(train) if train else None, n=s.n, seed=s.seed
    )
    if s.json is not None:
        write_json(s.json, {"generator": str(run), **report.as_dict()})
    return report
