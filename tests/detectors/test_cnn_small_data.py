"""The CNN detector on small training sets (issue 12): augmentation policies, data-size dependent
defaults, the validation AP and its near-chance warning."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from ganscope.cli import load_commands, main
from ganscope.detectors import CNNDetector, gaussian_blur, load_detector, save_detector
from ganscope.detectors.augment import (
    AUGMENTATIONS,
    SMALL_TRAINING_SET,
    random_dihedral,
    resolve_augment,
)
from ganscope.errors import GanscopeError
from ganscope.metrics import average_precision


def _textures(n: int, size: int, seed: int) -> torch.Tensor:
    """Sharp random textures: noise with a little structure, in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(n, 3, size, size, generator=g)
    ramp = torch.linspace(0, 1, size)[None, None, :, None] * torch.rand(n, 3, 1, 1, generator=g)
    return (0.7 * base + 0.3 * ramp).clamp(0, 1)


def _blur_like_set(n: int, size: int, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    """Reals: sharp textures. Fakes: other textures, smoothed as an autoencoder's output is
    (a Gaussian of sigma 0.8) and rounded to 8 bits like a saved PNG."""
    real = _textures(n, size, seed)
    fake = gaussian_blur(_textures(n, size, seed + 1000), 0.8)
    fake = (fake * 255).round() / 255
    return torch.cat([real, fake]), np.r_[np.zeros(n), np.ones(n)].astype(np.int64)


def test_policies_and_auto_by_data_size():
    assert resolve_augment("auto", SMALL_TRAINING_SET - 1) == "dihedral"
    assert resolve_augment("auto", SMALL_TRAINING_SET) == "blur+jpeg"
    assert resolve_augment("none", 10) == "none"
    with pytest.raises(GanscopeError, match="choose from"):
        resolve_augment("blurry", 10)
    app = load_commands("detector")
    help_text = CliRunner().invoke(app, ["detector", "train", "--help"], terminal_width=200).output
    assert f"--augment <{'|'.join(AUGMENTATIONS)}>" in help_text  # the library's names


def test_random_dihedral_gives_each_of_the_8_symmetries():
    x = torch.arange(2 * 16, dtype=torch.float32).reshape(1, 2, 4, 4).repeat(400, 1, 1, 1)
    out = random_dihedral(x, generator=torch.Generator().manual_seed(0))
    symmetries = []
    for k in range(8):
        v = x[0].transpose(-2, -1) if k >= 4 else x[0]
        symmetries.append(torch.rot90(v, k % 4, dims=(-2, -1)))
    seen = [next(i for i, s in enumerate(symmetries) if torch.equal(o, s)) for o in out]
    counts = np.bincount(seen, minlength=8)
    assert (counts > 25).all()  # each of 8 about 50 times in 400
    again = random_dihedral(x, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    with pytest.raises(GanscopeError, match="square"):
        random_dihedral(torch.zeros(1, 1, 4, 5), generator=torch.Generator())


def test_epoch_budget_by_data_size():
    det = CNNDetector()
    det._resolve_budget(240)  # 8 steps per epoch: 63 epochs for 500 steps
    assert (det.augment_, det.epochs_, det.patience_) == ("dihedral", 63, 15)
    det._resolve_budget(10_000)  # 313 steps per epoch: the floor of 20 epochs
    assert (det.augment_, det.epochs_, det.patience_) == ("blur+jpeg", 20, 5)
    det = CNNDetector(epochs=7, patience=2, augment="flip")
    det._resolve_budget(240)
    assert (det.augment_, det.epochs_, det.patience_) == ("flip", 7, 2)


def test_defaults_learn_a_blur_like_difference_from_a_small_set(tmp_path):
    # 40 + 40 training images of 16x16: the defaults pick the dihedral augmentation; the CNN must
    # separate unseen reals and fakes as a spectral model would (20 epochs keep the test short)
    torch.set_num_threads(1)
    X, y = _blur_like_set(40, 16, seed=0)
    Xt, yt = _blur_like_set(32, 16, seed=1)
    det = CNNDetector(device="cpu", seed=0, epochs=20).fit(X, y)
    assert det.augment_ == "dihedral"
    assert average_precision(yt, det.predict_proba(Xt)[:, 1]) >= 0.9
    assert det.val_ap_ >= 0.9 and det.val_chance_ == 0.5 and not det.near_chance()
    save_detector(det, tmp_path / "m")
    back = load_detector(tmp_path / "m")
    assert (back.val_ap_, back.augment_, back.epochs_) == (det.val_ap_, "dihedral", 20)
    np.testing.assert_allclose(back.predict_proba(Xt), det.predict_proba(Xt), atol=1e-6)


def test_near_chance_is_flagged_when_nothing_can_be_learnt():
    # the same distribution labelled both ways: the validation AP stays near 0.5
    X = _textures(64, 16, seed=3)
    y = np.r_[np.zeros(32), np.ones(32)].astype(np.int64)
    det = CNNDetector(device="cpu", seed=0, epochs=2, augment="none").fit(X, y)
    assert not math.isnan(det.val_ap_)
    assert det.val_ap_ < det.val_chance_ + 0.35
    det.val_ap_ = det.val_chance_ + 0.05
    assert det.near_chance()
    det.val_ap_ = math.nan
    assert not det.near_chance()


def _save_folder(folder, images: torch.Tensor) -> None:
    folder.mkdir(parents=True)
    arr = (images.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    for i, a in enumerate(arr):
        Image.fromarray(a).save(folder / f"{i:03d}.png")


def test_cli_prints_the_validation_ap_and_warns_near_chance(tmp_path, capsys):
    same = _textures(40, 16, seed=5)
    _save_folder(tmp_path / "real", same[:20])
    _save_folder(tmp_path / "fake", same[20:])
    argv = ["-q", "detector", "train", "--real", str(tmp_path / "real"), "--fake"]
    argv += [str(tmp_path / "fake"), "--method", "cnn", "--out", str(tmp_path / "m")]
    argv += ["--epochs", "1", "--augment", "none", "--device", "cpu"]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    captured = capsys.readouterr()
    assert "validation AP" in captured.out and "(augment none)" in captured.out
    warned = [line for line in captured.err.splitlines() if "near chance" in line]
    det = load_detector(tmp_path / "m")
    assert (len(warned) == 1) == det.near_chance()
    with pytest.raises(SystemExit) as exc:
        main([*argv[:-3], "blurry", "--device", "cpu"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "dihedral" in err and "blur+jpeg" in err and len(err.strip().splitlines()) == 1


def test_cli_explicit_blur_or_jpeg_probability_means_wang_augmentation(tmp_path, capsys):
    # scripts/make_default_detector.sh trains with --blur-prob 0.5 --jpeg-prob 0.5 and no
    # --augment: that still means Wang et al.'s recipe, whatever the data size
    X, _ = _blur_like_set(12, 16, seed=7)
    _save_folder(tmp_path / "real", X[:12])
    _save_folder(tmp_path / "fake", X[12:])
    argv = ["-q", "detector", "train", "--real", str(tmp_path / "real"), "--fake"]
    argv += [str(tmp_path / "fake"), "--method", "cnn", "--epochs", "1", "--device", "cpu"]
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--blur-prob", "0.5", "--out", str(tmp_path / "a")])
    assert exc.value.code == 0
    assert "(augment blur+jpeg)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--out", str(tmp_path / "b")])
    assert exc.value.code == 0
    assert "(augment dihedral)" in capsys.readouterr().out
