"""The re-rendering autoencoder (content-aligned fakes): any size in, the same size out, for every
registered upsampler; training lowers the error and is seeded; tiles equal whole images; save and
load without pickle; a reconstruction does not depend on its batch."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganscope.errors import GanscopeError
from ganscope.generators import (
    ConvAutoencoder,
    load_rerender,
    rerender,
    save_rerender,
    train_rerender,
)
from ganscope.io import load_image
from ganscope.layers import UPSAMPLERS


def _blobs(n: int, size: int, seed: int) -> torch.Tensor:
    """Smooth colour blobs on grey, ``(n, 3, size, size)`` in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(float(size)), torch.arange(float(size)), indexing="ij")
    out = []
    for _ in range(n):
        cy, cx, r = (torch.rand(3, generator=g) * torch.tensor([size, size, size / 3])).tolist()
        blob = torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (r + 2) ** 2))
        colour = torch.rand(3, 1, 1, generator=g)
        out.append(0.2 + 0.7 * blob * colour)
    return torch.stack(out)


def _model(upsample: str = "transposed", seed: int = 0, **kw) -> ConvAutoencoder:
    torch.manual_seed(seed)
    return ConvAutoencoder(upsample=upsample, width=kw.pop("width", 4), **kw).eval()


@pytest.mark.parametrize("upsample", list(UPSAMPLERS))
@pytest.mark.parametrize("hw", [(13, 21), (1, 1), (2, 9), (17, 8)])
def test_every_upsampler_keeps_any_size(upsample, hw):
    x = torch.rand(2, 3, *hw)
    y = rerender(_model(upsample), x)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert y.min() >= 0 and y.max() <= 1


@pytest.mark.parametrize("upsample", list(UPSAMPLERS))
def test_latent_is_at_one_eighth(upsample):
    model = _model(upsample, latent_channels=5)
    z = model.encode(torch.rand(1, 3, 24, 40))
    assert z.shape == (1, 5, 3, 5)
    assert model.decode(z).shape == (1, 3, 24, 40)


@pytest.mark.parametrize("upsample", list(UPSAMPLERS))
def test_context_covers_the_receptive_field(upsample):
    """``model.context`` bounds how far an output pixel sees. Image ``k`` of the batch asks for
    the input gradient of output pixel ``(96 + k, 96 + k)``, so the 8 images cover every phase of
    the stride-8 grid along both axes; the gradient is exactly zero beyond the receptive field
    (float64)."""
    model = _model(upsample, width=2, latent_channels=2).double()
    x = torch.rand(8, 3, 192, 192, dtype=torch.float64, requires_grad=True)
    k = torch.arange(8)
    model(x)[k, :, 96 + k, 96 + k].sum().backward()
    reach = 0
    for i in range(8):
        rows, cols = (x.grad[i].abs().sum(0) > 0).nonzero().unbind(1)
        reach = max(reach, (rows - 96 - i).abs().max().item(), (cols - 96 - i).abs().max().item())
    assert 8 <= reach <= model.context  # measured 38 (bednails) to 66 (bicubic); context 80


@pytest.mark.parametrize("upsample", list(UPSAMPLERS))
def test_tiles_equal_the_whole_image(upsample):
    # The image is wider than a tile plus twice the context, so inner tiles see only part of it;
    # in float64 a context of 32 px instead of 80 already changes pixels by 1e-7.
    model = _model(upsample, width=2, latent_channels=2).double()
    x = torch.rand(1, 3, 2 * model.context + 50, 2 * model.context + 43, dtype=torch.float64)
    whole = rerender(model, x)
    tiled = rerender(model, x, tile=24)
    torch.testing.assert_close(tiled, whole, atol=1e-12, rtol=0)


def test_batch_independence():
    model = _model("bilinear")
    x = torch.rand(4, 3, 19, 26)
    together = rerender(model, x)
    for i in range(4):
        torch.testing.assert_close(
            rerender(model, x[i : i + 1]), together[i : i + 1], atol=1e-6, rtol=0
        )


def test_reflect_padding_matches_numpy():
    """An image is padded by mirror reflection (numpy's ``reflect``), even past its own size."""
    from ganscope.generators.rerender import _pad_to

    x = torch.arange(2 * 3 * 3 * 2, dtype=torch.float32).view(2, 3, 3, 2)
    ref = np.pad(x.numpy(), ((0, 0), (0, 0), (0, 5), (0, 6)), mode="reflect")
    np.testing.assert_array_equal(_pad_to(x, 8, 8).numpy(), ref)
    one = torch.rand(1, 3, 1, 1)
    assert torch.equal(_pad_to(one, 8, 8), one.expand(1, 3, 8, 8))


def test_training_lowers_the_error_and_is_seeded():
    images = _blobs(12, 40, seed=1)
    held_out = _blobs(4, 40, seed=2)
    kw = dict(upsample="nearest", batch_size=8, crop=24, width=8, progress=False)
    untrained = train_rerender(images, steps=0, **kw)
    trained = train_rerender(images, steps=80, **kw)
    before = (rerender(untrained, held_out) - held_out).abs().mean()
    after = (rerender(trained, held_out) - held_out).abs().mean()
    assert after < 0.5 * before, (before, after)  # measured: 0.215 → 0.079
    assert not trained.training

    state = torch.get_rng_state()
    again = train_rerender(images, steps=80, **kw)
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is left alone
    for (k, a), b in zip(trained.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    other = train_rerender(images, steps=2, **{**kw, "progress": True}, seed=1)
    assert not torch.equal(other.to_rgb.weight, trained.to_rgb.weight)


def test_bad_training_input_raises():
    with pytest.raises(GanscopeError, match="multiple of 8"):
        train_rerender(torch.rand(2, 3, 32, 32), upsample="nearest", steps=1, crop=12)
    with pytest.raises(GanscopeError, match="smaller than crop"):
        train_rerender(torch.rand(2, 3, 16, 40), upsample="nearest", steps=1, crop=32)
    with pytest.raises(GanscopeError, match="unknown upsampler"):
        ConvAutoencoder(upsample="lanczos")
    with pytest.raises(GanscopeError, match=r"\(B, 3, H, W\)"):
        rerender(_model(), torch.rand(3, 8, 8))


@pytest.mark.parametrize("upsample", ["pixelshuffle", "blur"])  # an ICNR init, a filter buffer
def test_save_load_round_trip(tmp_path, upsample):
    model = _model(upsample, latent_channels=3, depth=2)
    save_rerender(model, tmp_path / "ae", info={"steps": 0})
    config = json.loads((tmp_path / "ae" / "config.json").read_text())
    assert config["format"] == "ganscope-rerender-1"
    assert config["settings"] == model.settings() and config["info"] == {"steps": 0}
    loaded = load_rerender(tmp_path / "ae")
    assert loaded.settings() == model.settings() and not loaded.training
    x = torch.rand(2, 3, 11, 14)
    assert torch.equal(rerender(loaded, x), rerender(model, x))


def test_load_refuses_other_folders(tmp_path):
    save_rerender(_model(), tmp_path / "ae")
    config = json.loads((tmp_path / "ae" / "config.json").read_text())
    (tmp_path / "ae" / "config.json").write_text(json.dumps({**config, "format": "other"}))
    with pytest.raises(GanscopeError, match="not a re-rendering autoencoder"):
        load_rerender(tmp_path / "ae")
    save_rerender(_model(width=6), tmp_path / "wide")
    (tmp_path / "wide" / "config.json").write_text(json.dumps(config))
    with pytest.raises(GanscopeError, match="do not match"):
        load_rerender(tmp_path / "wide")


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_image_file_keeps_its_size(tmp_path, suffix):
    rng = np.random.default_rng(0)
    arr = (rng.random((27, 35, 3)) * 255).astype(np.uint8)
    Image.fromarray(arr).save(tmp_path / f"photo{suffix}")
    x = load_image(tmp_path / f"photo{suffix}")
    y = rerender(_model(), x[None])
    assert y.shape == (1, 3, 27, 35)
