"""The dissection page: self-contained HTML (:class:`ganscope.report.html.HtmlReport`), images
inlined as base64 PNG, opens offline.

Per layer: how many units match each concept (the "comparing layers" summary of Bau et al.,
fig. 4), then per unit its label, IoU with bootstrap interval, threshold, and its top activating
samples with the thresholded region outlined in yellow.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganscope.dissect.dissection import DissectionResult, upsample_features
from ganscope.dissect.hooks import record_layers
from ganscope.generators.forward import generator_latent_dim, module_device, run_generator
from ganscope.generators.sample import latents_for_seeds
from ganscope.report.html import Html, HtmlReport, PngLike, bar_tag, code, image_tag

__all__ = ["outline_regions", "render_report", "top_sample_strips", "write_report"]

_OUTLINE = torch.tensor([1.0, 0.9, 0.0])  # yellow
_SCALE = 2  # samples are shown enlarged, pixelated


def outline_regions(images: Tensor, masks: Tensor, color: Tensor = _OUTLINE) -> Tensor:
    """Draw the boundary of boolean ``masks (B, H, W)`` onto ``images (B, 3, H, W)``.

    A boundary pixel is in the mask with a 4-neighbour outside it (a morphological gradient).
    """
    m = masks.float()[:, None]
    eroded = -F.max_pool2d(-F.pad(m, (1, 1, 1, 1), value=0.0), 3, 1)
    edge = (m - eroded).clamp(min=0) > 0  # (B, 1, H, W)
    return torch.where(edge, color.to(images)[None, :, None, None], images)


@torch.no_grad()
def top_sample_strips(
    G: nn.Module,
    result: DissectionResult,
    units: Sequence[int],
    *,
    k: int = 4,
    latent_dim: int | None = None,
    value_range: tuple[float, float] = (0.0, 1.0),
    batch_size: int = 32,
) -> dict[int, Tensor]:
    """For each unit, its ``k`` top samples side by side with the thresholded region outlined:
    ``{unit: (3, H, k * W)}``. Each needed seed is generated once."""
    dim = generator_latent_dim(G, latent_dim)
    device = module_device(G)
    G.eval()
    need = sorted({int(s) for u in units for s in result.top_seeds[u, :k]})
    images: dict[int, Tensor] = {}
    feats: dict[int, Tensor] = {}
    unit_idx = torch.tensor(list(units), dtype=torch.int64)
    with record_layers(G, [result.layer]) as store:
        for i in range(0, len(need), batch_size):
            chunk = need[i : i + batch_size]
            z = latents_for_seeds(chunk, dim).to(device)
            img = run_generator(G, z, value_range).float().cpu()
            f = store[result.layer].float()[:, unit_idx.to(device)]
            up = upsample_features(f, img.shape[-2:]).cpu()  # (B, n_units, H, W)
            for s, im, fu in zip(chunk, img, up, strict=True):
                images[s], feats[s] = im, fu
    strips = {}
    for j, u in enumerate(units):
        seeds = [int(s) for s in result.top_seeds[u, :k]]
        if not seeds:
            continue
        ims = torch.stack([images[s] for s in seeds])
        masks = torch.stack([feats[s][j] > result.thresholds[u] for s in seeds])
        drawn = outline_regions(ims, masks)
        strips[u] = torch.cat(list(drawn), dim=-1)
    return strips


def render_report(
    results: Sequence[DissectionResult],
    strips: dict[str, dict[int, Tensor]],
    *,
    title: str,
    min_iou: float = 0.04,
    notes: Sequence[str] = (),
    figures: Sequence[tuple[str, PngLike]] = (),
) -> str:
    """The HTML text: a summary of units per concept and layer, optional ``figures`` (caption,
    PNG bytes or file, or an image ``(3, H, W)`` in [0, 1], shown enlarged), then a section per
    layer with the units of ``strips`` (``{layer: {unit: image}}``)."""
    page = HtmlReport(title)
    for note in notes:
        page.paragraph(note, css_class="muted")
    # Comparing layers: units whose best concept is c with IoU > min_iou.
    page.heading(f"Units per concept (best match, IoU > {min_iou})")
    summaries = [r.summary(min_iou=min_iou) for r in results]
    top = max([max(s.values(), default=0) for s in summaries], default=0) or 1
    labels = list(results[0].labels) if results else []
    rows = [[c, *(bar_tag(s.get(c, 0) / top, str(s.get(c, 0))) for s in summaries)] for c in labels]
    page.table(["concept", *(r.layer for r in results)], rows, css_class="left")
    for caption, image in figures:
        page.figure(image, caption, scale=_SCALE)
    for r in results:
        page.heading(Html(f"Layer {code(r.layer)}: {r.n_units} units"))
        page.paragraph(
            f"Threshold: each unit's {r.quantile} quantile over all upsampled pixels of "
            f"{len(r.seeds)} samples ({r.settings.get('estimator', '')}). IoU pooled over the "
            "samples; interval: 95% bootstrap over samples."
        )
        idx, best = r.best_concept()
        layer_strips = strips.get(r.layer, {})
        rows = []
        for u in torch.argsort(best, descending=True, stable=True).tolist():
            if u not in layer_strips:
                continue
            k = int(idx[u])
            rows.append(
                [
                    u,
                    r.labels[k] if r.labels and best[u] > min_iou else "—",
                    f"{float(best[u]):.3f}",
                    f"{r.iou_low[u, k]:.3f}–{r.iou_high[u, k]:.3f}" if r.labels else "",
                    f"{float(r.thresholds[u]):.3g}",
                    image_tag(layer_strips[u], alt=f"unit {u}", scale=_SCALE),
                ]
            )
        header = ["unit", "label", "IoU", "95% interval", "threshold"]
        page.table([*header, "top samples (region outlined)"], rows, css_class="left")
        if len(layer_strips) < r.n_units:
            page.paragraph(
                f"{len(layer_strips)} of {r.n_units} units shown (highest IoU first); "
                "all are in results.json.",
                css_class="muted",
            )
    return page.render()


def write_report(
    path: str | Path,
    G: nn.Module,
    results: Sequence[DissectionResult],
    *,
    title: str,
    max_units: int = 64,
    k: int = 4,
    min_iou: float = 0.04,
    latent_dim: int | None = None,
    value_range: tuple[float, float] = (0.0, 1.0),
    notes: Sequence[str] = (),
    figures: Sequence[tuple[str, PngLike]] = (),
) -> Path:
    """Render the top samples of the ``max_units`` best-matching units per layer and write the
    page atomically."""
    from ganscope.io import write_text

    strips = {}
    for r in results:
        _, best = r.best_concept()
        units = torch.argsort(best, descending=True, stable=True)[:max_units].tolist()
        strips[r.layer] = top_sample_strips(
            G, r, units, k=k, latent_dim=latent_dim, value_range=value_range
        )
    page = render_report(
        results, strips, title=title, min_iou=min_iou, notes=notes, figures=figures
    )
    write_text(path, page)
    return Path(path)
