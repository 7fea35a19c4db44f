"""A self-contained HTML page per dissection: images inlined as base64 PNG, opens offline.

Per layer: how many units match each concept (the "comparing layers" summary of Bau et al.,
fig. 4), then per unit its label, IoU with bootstrap interval, threshold, and its top activating
samples with the thresholded region outlined in yellow.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn

from ganscope.dissect.dissection import (
    DissectionResult,
    generator_latent_dim,
    module_device,
    run_generator,
    upsample_features,
)
from ganscope.dissect.hooks import record_layers
from ganscope.generators.sample import latents_for_seeds

__all__ = ["outline_regions", "png_data_uri", "render_report", "top_sample_strips", "write_report"]

_OUTLINE = torch.tensor([1.0, 0.9, 0.0])  # yellow


def png_data_uri(image: Tensor, *, scale: int = 1) -> str:
    """``(3, H, W)`` in [0, 1] → ``data:image/png;base64,...`` (nearest-neighbour ``scale``)."""
    arr = (image.detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
    img = Image.fromarray(arr)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


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


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:1em 0}td,th{padding:3px 8px;border-bottom:1px solid #ddd;
text-align:left}th{background:#f4f4f4}.bar{background:#4a7bd0;height:12px;display:inline-block}
.unit img{image-rendering:pixelated;vertical-align:middle}.muted{color:#888}code{background:#f4f4f4}
"""


def render_report(
    results: Sequence[DissectionResult],
    strips: dict[str, dict[int, Tensor]],
    *,
    title: str,
    min_iou: float = 0.04,
    notes: Sequence[str] = (),
    figures: Sequence[tuple[str, Tensor]] = (),
) -> str:
    """The HTML text: a summary of units per concept and layer, optional ``figures`` (title,
    ``(3, H, W)`` image), then a section per layer."""
    esc = html.escape
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>",
        f"<style>{_CSS}</style></head><body><h1>{esc(title)}</h1>",
    ]
    for note in notes:
        parts.append(f"<p class='muted'>{esc(note)}</p>")
    labels = list(results[0].labels) if results else []
    # Comparing layers: units whose best concept is c with IoU > min_iou.
    parts.append(
        f"<h2>Units per concept (best match, IoU &gt; {min_iou})</h2><table><tr><th>concept</th>"
    )
    parts += [f"<th>{esc(r.layer)}</th>" for r in results]
    parts.append("</tr>")
    summaries = [r.summary(min_iou=min_iou) for r in results]
    top = max([max(s.values(), default=0) for s in summaries], default=0) or 1
    for c in labels:
        parts.append(f"<tr><td>{esc(c)}</td>")
        for s in summaries:
            n = s.get(c, 0)
            parts.append(
                f"<td><span class='bar' style='width:{int(120 * n / top)}px'></span> {n}</td>"
            )
        parts.append("</tr>")
    parts.append("</table>")
    for caption, image in figures:
        parts.append(f"<h2>{esc(caption)}</h2><p><img src='{png_data_uri(image, scale=2)}'></p>")
    for r in results:
        idx, best = r.best_concept()
        order = torch.argsort(best, descending=True, stable=True).tolist()
        parts.append(f"<h2>Layer <code>{esc(r.layer)}</code>: {r.n_units} units</h2>")
        parts.append(
            f"<p>Threshold: each unit's {r.quantile} quantile over all upsampled pixels of "
            f"{len(r.seeds)} samples ({esc(str(r.settings.get('estimator', '')))}). "
            "IoU pooled over "
            "the samples; interval: 95% bootstrap over samples.</p>"
        )
        parts.append(
            "<table><tr><th>unit</th><th>label</th><th>IoU</th><th>95% interval</th>"
            "<th>threshold</th><th>top samples (region outlined)</th></tr>"
        )
        layer_strips = strips.get(r.layer, {})
        for u in order:
            if u not in layer_strips:
                continue
            k = int(idx[u])
            label = r.labels[k] if r.labels and best[u] > min_iou else "—"
            interval = f"{r.iou_low[u, k]:.3f}–{r.iou_high[u, k]:.3f}" if r.labels else ""
            img = f"<img src='{png_data_uri(layer_strips[u], scale=2)}'>"
            parts.append(
                f"<tr class='unit'><td>{u}</td><td>{esc(label)}</td><td>{float(best[u]):.3f}</td>"
                f"<td>{interval}</td><td>{float(r.thresholds[u]):.3g}</td><td>{img}</td></tr>"
            )
        shown = len(layer_strips)
        parts.append("</table>")
        if shown < r.n_units:
            parts.append(
                f"<p class='muted'>{shown} of {r.n_units} units shown (highest IoU first); "
                "all are in results.json.</p>"
            )
    parts.append("</body></html>")
    return "".join(parts)


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
    figures: Sequence[tuple[str, Tensor]] = (),
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
