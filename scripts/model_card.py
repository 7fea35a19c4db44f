"""Write the default detector's model card from ``detector eval --json`` output and its config.

Usage: python scripts/model_card.py EVAL.json MODEL/config.json > MODEL_CARD.md
"""

from __future__ import annotations

import json
import sys


def _ci(m: dict, key: str) -> str:
    iv = (m.get("intervals") or {}).get(key)
    value = m.get(key)
    if value is None:
        return "n/a"
    return f"{value:.3f}" + (f" [{iv[0]:.3f}, {iv[1]:.3f}]" if iv else "")


def main(eval_path: str, config_path: str) -> None:
    with open(eval_path, encoding="utf-8") as fh:
        ev = json.load(fh)
    with open(config_path, encoding="utf-8") as fh:
        cfg = json.load(fh)
    settings = cfg.get("settings", {})
    rows = [("all generators", ev["overall"]), *ev["per_source"].items()]
    lines = [
        "# Model card: ganscope's default detector",
        "",
        "`ganscope detect` uses this model when `--model` is not given. It was produced by",
        "`bash scripts/make_default_detector.sh` (about 10 minutes on 2 CPU cores), which runs",
        "`ganscope study --profile quick`, `ganscope data builtin`, `ganscope detector train` and",
        "`ganscope detector eval`; every number below comes from that last command.",
        "",
        "## What it is",
        "",
        f"- A `{settings.get('arch')}` ResNet (about 78k parameters) on "
        f"`{settings.get('input')}` input: Tan et al. (CVPR 2024)'s neighbouring-pixel residual "
        "`x - up(down(x))`, which exposes upsampling traces.",
        f"- Trained on {settings.get('crop') or 32}x{settings.get('crop') or 32} crops with Wang et "
        f"al. (CVPR 2020)'s augmentation: Gaussian blur (sigma in {settings.get('blur_sigma')}) with "
        f"probability {settings.get('blur_prob')} and JPEG (quality in "
        f"{settings.get('jpeg_quality')}) with probability {settings.get('jpeg_prob')}; random crop "
        "and flip; early stopping and a decision threshold calibrated on a held-out validation split.",
        "- Real images: 3600 crops of the nine colour photographs bundled with scikit-image and "
        "scikit-learn (train region). Fake images: samples of nine small 32x32 DCGANs trained on "
        "those photographs by the quick study, one per upsampler (transposed, nearest, bilinear, "
        "bicubic, pixelshuffle, bed of nails, anti-aliased blur) plus transposed convolution with "
        "spectral regularization and with a spectral discriminator.",
        "- Scoring: every image is centre-cropped to 32x32 and scored once.",
        "",
        "## Measured (held-out images: the test region of the photos, unseen latents)",
        "",
        f"Decision threshold P(fake) > {ev['overall'].get('threshold', 0.5):.4f}, calibrated on the "
        "validation split for balanced accuracy. The scores rank images well but are not calibrated "
        "probabilities: on these generators they crowd near 1, so compare images by score and use "
        "the threshold, not 0.5. 95% bootstrap intervals in brackets.",
        "",
        "| test source | n real | n fake | AP | ROC-AUC | accuracy | real acc. | fake acc. |",
        "|---|---:|---:|---|---|---|---|---|",
    ]
    for name, m in rows:
        lines.append(
            f"| {name} | {m['n_real']} | {m['n_fake']} | {_ci(m, 'ap')} | {_ci(m, 'roc_auc')} | "
            f"{_ci(m, 'accuracy')} | {_ci(m, 'real_accuracy')} | {_ci(m, 'fake_accuracy')} |"
        )
    lines += [
        "",
        "## Do not trust it for",
        "",
        "- **Real-world decisions about real-world images.** It has seen nine photographs and nine",
        "  tiny GANs. Modern generators (StyleGAN, diffusion models, commercial image services) and",
        "  ordinary camera pipelines are outside its training data; its scores there are not",
        "  calibrated and may be no better than chance.",
        "- **Large images.** It looks at the central 32x32 pixels only. A verdict on a 1024x1024",
        "  photo is a verdict on a thumbnail-sized patch.",
        "- **Resized, re-encoded or screenshotted images.** Resampling destroys or imitates the",
        "  upsampling traces it keys on; heavy JPEG was part of training but not every platform's",
        "  processing is.",
        "- **Evidence about a person.** Never use a score from this model to accuse anyone.",
        "",
        "It is a demonstration that runs offline and a baseline to beat. For research, train your",
        "own with `ganscope detector train` on data that matches your question, or load",
        "CNNDetection's published weights with `--arch resnet50 --weights FILE.pth`.",
        "",
    ]
    sys.stdout.write("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
