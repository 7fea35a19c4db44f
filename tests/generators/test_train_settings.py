"""Run folders keep resuming when TrainConfig grows a setting; other settings are refused."""

from __future__ import annotations

import json

import pytest

from ganscope.errors import GanscopeError
from ganscope.generators import TrainConfig, train_gan


def _cfg(data, **kw):
    return TrainConfig(data=str(data), size=16, batch_size=8, width=4, sample_every=0,
                       grid_size=4, checkpoint_every=2, **kw)  # fmt: skip


def test_setting_added_later_takes_its_default(tiny_data, tmp_path):
    run = tmp_path / "run"
    train_gan(_cfg(tiny_data, steps=2), run)
    saved = json.loads((run / "config.json").read_text())
    for key in ("d_mbstd", "augment", "n_dis", "r1_gamma", "d_lr", "family_settings"):
        saved.pop(key)  # as written by a ganscope that did not know these settings
    (run / "config.json").write_text(json.dumps(saved))
    result = train_gan(_cfg(tiny_data, steps=4), run)
    assert result.resumed and result.step == 4
    with pytest.raises(GanscopeError, match="augment"):
        train_gan(_cfg(tiny_data, steps=6, augment="cutout"), run)
