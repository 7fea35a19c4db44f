"""`render_scenes(..., without=...)`: the scene world with an object removed."""

from __future__ import annotations

import pytest
import torch

from ganscope.dissect.scenes import SCENE_LABELS, SCENE_OBJECTS, render_scenes
from ganscope.errors import GanscopeError


def test_removing_houses_removes_their_labels_and_nothing_else():
    seeds = list(range(40))
    full = render_scenes(seeds, size=32)
    free = render_scenes(seeds, size=32, without=["house"])
    house_ids = [SCENE_LABELS.index(n) for n in SCENE_OBJECTS["house"]]
    assert not torch.isin(free.labels, torch.tensor(house_ids)).any()
    had = torch.isin(full.labels, torch.tensor(house_ids))
    assert had.any()
    # Every scene draws the same random numbers: outside the houses (and the trees painted in
    # front of them, which stay) the scene is unchanged.
    assert torch.equal(full.labels[~had], free.labels[~had])
    no_house = ~had.flatten(1).any(1)
    assert no_house.any()
    assert torch.equal(full.images[no_house], free.images[no_house])


def test_default_is_unchanged_and_unknown_objects_are_refused():
    a = render_scenes([3, 4], size=16)
    b = render_scenes([3, 4], size=16, without=())
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    with pytest.raises(GanscopeError, match="removable"):
        render_scenes([0], size=16, without=["car"])
