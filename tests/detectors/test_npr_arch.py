"""Tan et al.'s published NPR network: their parameter names load, and the outputs equal a
functional transcription of their forward (``networks/resnet.py``: NPR by nearest interpolation
with ``scale_factor``, times 2/3, ResNet-50 stem and stages 1-2, ``fc1``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ganscope.cli import main
from ganscope.detectors import load_detector
from ganscope.detectors.networks import NPRNet

MEAN = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
STD = torch.tensor([0.229, 0.224, 0.225])[:, None, None]


def _bn(h, sd, key):
    return F.batch_norm(h, sd[f"{key}.running_mean"], sd[f"{key}.running_var"],
                        sd[f"{key}.weight"], sd[f"{key}.bias"], False, 0.0, 1e-5)  # fmt: skip


def _bottleneck(h, sd, key, stride):
    out = F.relu(_bn(F.conv2d(h, sd[f"{key}.conv1.weight"]), sd, f"{key}.bn1"))
    out = F.conv2d(out, sd[f"{key}.conv2.weight"], stride=stride, padding=1)
    out = F.relu(_bn(out, sd, f"{key}.bn2"))
    out = _bn(F.conv2d(out, sd[f"{key}.conv3.weight"]), sd, f"{key}.bn3")
    if f"{key}.downsample.0.weight" in sd:
        h = _bn(F.conv2d(h, sd[f"{key}.downsample.0.weight"], stride=stride), sd,
                f"{key}.downsample.1")  # fmt: skip
    return F.relu(out + h)


def _reference(sd, images):
    x = (images - MEAN) / STD  # their test transform: ToTensor + ImageNet Normalize
    down = F.interpolate(x, scale_factor=0.5, mode="nearest", recompute_scale_factor=True)
    up = F.interpolate(down, scale_factor=2.0, mode="nearest", recompute_scale_factor=True)
    h = F.conv2d((x - up) * 2.0 / 3.0, sd["conv1.weight"], stride=2, padding=1)
    h = F.max_pool2d(F.relu(_bn(h, sd, "bn1")), 3, 2, 1)
    for layer, n, stride in (("layer1", 3, 1), ("layer2", 4, 2)):
        for b in range(n):
            h = _bottleneck(h, sd, f"{layer}.{b}", stride if b == 0 else 1)
    return F.linear(h.mean(dim=(2, 3)), sd["fc1.weight"], sd["fc1.bias"]).squeeze(1)


def test_npr_network_matches_their_forward(tmp_path, capsys):
    torch.manual_seed(0)
    net = NPRNet()
    sd = {}
    for k, v in net.state_dict().items():  # random weights and statistics, their names
        if k.endswith("num_batches_tracked"):
            sd[k] = v
        elif k.endswith("running_var"):
            sd[k] = torch.rand_like(v) + 0.5
        else:
            sd[k] = torch.randn_like(v) * (0.1 if v.ndim > 1 else 0.5)
    assert {"conv1.weight", "fc1.weight", "layer2.3.bn3.running_var"} <= set(sd)
    weights = tmp_path / "NPR.pth"
    torch.save(sd, weights)
    model = tmp_path / "npr-model"
    with pytest.raises(SystemExit) as exc:
        main(["detector", "train", "--method", "cnn", "--arch", "npr", "--weights", str(weights),
              "--epochs", "0", "--crop", "32", "--device", "cpu", "--out", str(model)])  # fmt: skip
    assert exc.value.code == 0, capsys.readouterr().err
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(3)]
    for i, a in enumerate(arrays):
        Image.fromarray(a).save(tmp_path / f"img{i}.png")
    images = torch.stack([torch.from_numpy(a).permute(2, 0, 1).float() / 255 for a in arrays])
    det = load_detector(model)
    ours = torch.as_tensor(det.predict_proba(images)[:, 1]).double()
    ref = torch.sigmoid(_reference({k: v.double() for k, v in sd.items()}, images.double()))
    torch.testing.assert_close(ours, ref, atol=1e-4, rtol=0)


def test_npr_arch_refuses_other_inputs(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["detector", "train", "--method", "cnn", "--arch", "npr", "--features", "rgb",
              "--weights", str(tmp_path / "x.pth"), "--epochs", "0", "--out",
              str(tmp_path / "m")])  # fmt: skip
    assert exc.value.code == 2 and "--features npr" in capsys.readouterr().err
