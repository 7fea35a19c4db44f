"""The training loop: exact resume after an interruption, determinism, run-folder contract."""

from __future__ import annotations

import contextlib
import csv
import json

import pytest
import torch
from safetensors.torch import load_file

from ganscope import progress
from ganscope.errors import GanscopeError
from ganscope.generators import TrainConfig, load_generator, sample_images, train_gan
from ganscope.generators.train import CHECKPOINT_NAME, _checkpoint_step


def _config(data, **kw) -> TrainConfig:
    base = dict(
        data=str(data),
        upsample="bilinear",
        size=16,
        steps=6,
        batch_size=8,
        width=4,
        latent_dim=8,
        checkpoint_every=2,
        sample_every=3,
        grid_size=4,
    )
    base.update(kw)
    return TrainConfig(**base)


class _KilledError(Exception):
    pass


def _interrupt_after(monkeypatch, n_steps: int) -> None:
    """Make the progress bar raise after ``n_steps`` completed steps (a kill mid-run)."""
    real = progress.progress_bar

    @contextlib.contextmanager
    def bar(total, description, *, completed=0):
        with real(total, description, completed=completed) as inner:
            if not description.startswith("gan"):
                yield inner
                return
            count = {"n": 0}

            class Killing:
                def advance(self, n=1, **fields):
                    count["n"] += n
                    if count["n"] >= n_steps:
                        raise _KilledError

            yield Killing()

    monkeypatch.setattr(progress, "progress_bar", bar)


def _state(run):
    return load_file(str(run / CHECKPOINT_NAME))


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"loss": "wgan-gp", "spectral_reg": 0.5, "spectral_disc": True, "upsample": "pixelshuffle"},
        {"loss": "hinge", "upsample": "transposed", "d_antialias": True},
    ],
    ids=["ns", "wgan-gp+spectral", "hinge+blurpool-D"],
)
def test_resumed_run_ends_with_the_same_weights(tiny_data, tmp_path, monkeypatch, extra):
    cfg = _config(tiny_data, **extra)
    straight = train_gan(cfg, tmp_path / "a")
    assert straight.step == 6 and not straight.resumed

    with monkeypatch.context() as m:
        _interrupt_after(m, 3)  # killed after step 3; last checkpoint is step 2
        with pytest.raises(_KilledError):
            train_gan(cfg, tmp_path / "b")
    assert _checkpoint_step(tmp_path / "b" / CHECKPOINT_NAME) == 2  # step 3 was lost
    resumed = train_gan(cfg, tmp_path / "b")
    assert resumed.resumed and resumed.start_step == 2 and resumed.step == 6

    a, b = _state(tmp_path / "a"), _state(tmp_path / "b")
    assert a.keys() == b.keys()
    assert any(k.startswith("opt_d.") for k in a) and any(k.startswith("G_ema.") for k in a)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    ga = load_file(str(tmp_path / "a" / "generator" / "model.safetensors"))
    gb = load_file(str(tmp_path / "b" / "generator" / "model.safetensors"))
    assert all(torch.equal(ga[k], gb[k]) for k in ga)
    rows_a = (tmp_path / "a" / "losses.csv").read_text()
    rows_b = (tmp_path / "b" / "losses.csv").read_text()
    assert rows_a == rows_b


def test_run_folder_contract(tiny_data, tmp_path):
    run = tmp_path / "run"
    train_gan(_config(tiny_data), run)
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["upsample"] == "bilinear" and cfg["seed"] == 0 and "ganscope_version" in cfg
    with open(run / "losses.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert all(float(r["d_loss"]) > 0 for r in rows)
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "step000003.png",
        "step000006.png",
    ]
    G, gcfg = load_generator(run)
    assert not G.training and gcfg["step"] == 6 and gcfg["settings"]["upsample"] == "bilinear"
    assert sample_images(G, [0, 1]).shape == (2, 3, 16, 16)


def test_same_seed_same_weights_and_global_rng_untouched(tiny_data, tmp_path):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    cfg = _config(tiny_data, steps=2, sample_every=0)
    train_gan(cfg, tmp_path / "x")
    assert torch.equal(torch.get_rng_state(), before)
    train_gan(cfg, tmp_path / "y")
    x, y = _state(tmp_path / "x"), _state(tmp_path / "y")
    assert all(torch.equal(x[k], y[k]) for k in x)
    train_gan(_config(tiny_data, steps=2, sample_every=0, seed=1), tmp_path / "z")
    z = _state(tmp_path / "z")
    assert not torch.equal(x["G.project.weight"], z["G.project.weight"])


def test_complete_run_is_not_retrained_and_can_be_extended(tiny_data, tmp_path):
    cfg = _config(tiny_data, steps=2, sample_every=0)
    train_gan(cfg, tmp_path / "r")
    again = train_gan(cfg, tmp_path / "r")
    assert again.already_complete and again.step == 2
    longer = train_gan(_config(tiny_data, steps=4, sample_every=0), tmp_path / "r")
    assert longer.resumed and longer.start_step == 2 and longer.step == 4


def test_other_settings_or_foreign_folder_are_refused(tiny_data, tmp_path):
    cfg = _config(tiny_data, steps=2, sample_every=0)
    train_gan(cfg, tmp_path / "r")
    with pytest.raises(GanscopeError, match="upsample"):
        train_gan(_config(tiny_data, steps=2, upsample="nearest"), tmp_path / "r")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(GanscopeError, match="not a ganscope run"):
        train_gan(cfg, tmp_path / "other")


def test_bad_settings_and_data(tiny_data, tmp_path):
    with pytest.raises(GanscopeError, match="unknown upsampler"):
        train_gan(_config(tiny_data, upsample="lanczos"), tmp_path / "r")
    with pytest.raises(GanscopeError, match="loss"):
        train_gan(_config(tiny_data, loss="lsgan"), tmp_path / "r")
    with pytest.raises(GanscopeError, match="training images"):
        train_gan(_config(tiny_data, size=32), tmp_path / "r")  # 20x20 images, 32x32 crops
    with pytest.raises(GanscopeError):
        load_generator(tmp_path / "nothing")
