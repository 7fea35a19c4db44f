"""CNN detector: separation, chance level, calibration, save/load, torchvision-compatible names."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganscope.checkpoint import load_foreign_weights
from ganscope.detectors import (
    CNNDetector,
    cnn_input,
    load_detector,
    lr_factor,
    npr_residual,
    resnet50,
    resnet_small,
    save_detector,
)
from ganscope.errors import GanscopeError
from ganscope.metrics import average_precision

FAST = dict(epochs=4, batch_size=16, crop=28, seed=0, device="cpu")


@pytest.fixture(scope="module")
def dct_detector(train_set):
    X, y = train_set
    return CNNDetector(input="dct", blur_prob=0.0, jpeg_prob=0.0, **FAST).fit(X, y)


def test_dct_cnn_separates_checkerboard(dct_detector, test_set):
    Xt, yt = test_set
    p = dct_detector.predict_proba(Xt)
    assert p.shape == (len(yt), 2)
    assert average_precision(yt, p[:, 1]) > 0.9
    assert 0.0 < dct_detector.threshold_ < 1.0
    assert dct_detector.n_val_ == 8 and dct_detector.n_train_ == 32  # 20% of each class
    assert 1 <= dct_detector.best_epoch_ <= len(dct_detector.history_)


def test_rgb_cnn_separates_checkerboard(cnn_train_set, test_set):
    det = CNNDetector(input="rgb", blur_prob=0.0, jpeg_prob=0.0, **dict(FAST, epochs=5))
    det.fit(*cnn_train_set)
    Xt, yt = test_set
    assert average_precision(yt, det.predict_proba(Xt)[:, 1]) > 0.9


def test_cnn_with_augmentation_separates(train_set, test_set):
    # Light augmentation: heavy blur erases a Nyquist-frequency pattern by design.
    det = CNNDetector(
        input="dct",
        blur_prob=0.1,
        blur_sigma=(0.0, 0.5),
        jpeg_prob=0.1,
        jpeg_quality=(95, 100),
        **FAST,
    ).fit(*train_set)
    Xt, yt = test_set
    assert average_precision(yt, det.predict_proba(Xt)[:, 1]) > 0.9
    assert det.input_std_.shape == (3,) and (det.input_std_ > 0).all()


def test_cnn_chance_on_identical_sources(identical_train, identical_test):
    det = CNNDetector(input="rgb", **dict(FAST, epochs=2)).fit(*identical_train)
    Xt, yt = identical_test
    assert abs(average_precision(yt, det.predict_proba(Xt)[:, 1]) - 0.5) < 0.12


def test_given_validation_data_early_stops_and_calibrates_on_it(train_set, test_set):
    X, y = train_set
    Xv, yv = test_set
    settings = dict(FAST, epochs=3, patience=5, calibrate="temperature")
    det = CNNDetector(input="rgb", **settings).fit(X, y, validation=(Xv, yv))
    assert det.n_train_ == len(y) and det.n_val_ == len(yv)  # every training image trains
    # The kept epoch is the one with the lowest loss on the given data, and calibrating on the
    # same data again changes nothing.
    losses = [h["val_loss"] for h in det.history_]
    assert det.best_epoch_ == 1 + int(np.argmin(losses))
    t, thr = det.temperature_, det.threshold_
    det.calibrate_on(Xv, yv)
    assert det.temperature_ == pytest.approx(t) and det.threshold_ == pytest.approx(thr)
    logits = det._logits(det.network_, torch.as_tensor(Xv).float(), torch.device("cpu"))
    target = torch.as_tensor(yv).float()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
    assert float(loss) == pytest.approx(min(losses), rel=1e-5)
    with pytest.raises(GanscopeError, match="must match"):
        CNNDetector(input="rgb", **settings).fit(X, y, validation=(Xv[:, :, :30, :30], yv))


def test_sample_weight_scales_each_image_in_the_loss(train_set):
    X, y = train_set
    settings = dict(FAST, epochs=2, val_fraction=0.0)
    plain = CNNDetector(input="rgb", **settings).fit(X, y).predict_proba(X)
    # Equal weights are normalized to 1: exactly the unweighted training.
    same = CNNDetector(input="rgb", **settings).fit(X, y, sample_weight=np.full(len(y), 3.0))
    np.testing.assert_array_equal(same.predict_proba(X), plain)
    # Weighting one class up pulls P(fake) towards it.
    mean_p = {}
    for cls in (0, 1):
        w = np.where(np.asarray(y) == cls, 20.0, 1.0)
        det = CNNDetector(input="rgb", **settings).fit(X, y, sample_weight=w)
        mean_p[cls] = det.predict_proba(X)[:, 1].mean()
    assert mean_p[1] > mean_p[0] + 0.1
    for bad in (np.ones(len(y) - 1), np.full(len(y), -1.0), np.zeros(len(y))):
        with pytest.raises(GanscopeError, match="sample_weight"):
            CNNDetector(input="rgb", **settings).fit(X, y, sample_weight=bad)


def test_lr_factor_cosine_and_constant():
    assert [lr_factor("constant", i, 10) for i in (0, 5, 10)] == [1.0, 1.0, 1.0]
    assert lr_factor("cosine", 0, 10) == 1.0
    assert lr_factor("cosine", 5, 10) == pytest.approx(0.5, abs=1e-15)
    assert lr_factor("cosine", 10, 10) == pytest.approx(0.0, abs=1e-15)
    assert lr_factor("cosine", 12, 10) == pytest.approx(0.0, abs=1e-15)  # never negative
    assert lr_factor("cosine", 3, 0) == 1.0  # no steps planned: the base rate


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_each_optimizer_step_uses_the_scheduled_lr(train_set, monkeypatch, schedule):
    X, y = train_set
    seen = []
    step = torch.optim.Adam.step

    def recording_step(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", recording_step)
    settings = dict(FAST, epochs=2, patience=5, lr=0.01, lr_schedule=schedule)
    det = CNNDetector(input="rgb", blur_prob=0.0, jpeg_prob=0.0, **settings).fit(X, y)
    per_epoch = -(-det.n_train_ // FAST["batch_size"])
    assert len(seen) == 2 * per_epoch
    expected = [0.01 * lr_factor(schedule, i, 2 * per_epoch) for i in range(len(seen))]
    np.testing.assert_allclose(seen, expected, rtol=1e-12)
    if schedule == "cosine":
        assert seen[0] == 0.01 and np.all(np.diff(seen) < 0)  # decays at every step
    assert det.get_params()["lr_schedule"] == schedule


def test_same_seed_same_model(train_set):
    X, y = train_set
    settings = dict(FAST, epochs=1)
    a = CNNDetector(input="rgb", **settings).fit(X, y).predict_proba(X)
    b = CNNDetector(input="rgb", **settings).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_save_load_identical(dct_detector, test_set, tmp_path):
    assert dct_detector.get_params()["input"] == "dct"
    save_detector(dct_detector, tmp_path / "cnn")
    again = load_detector(tmp_path / "cnn")
    assert isinstance(again, CNNDetector)
    assert again.threshold_ == dct_detector.threshold_
    assert again.get_params()["blur_sigma"] == (0.0, 3.0)  # tuples survive JSON
    Xt, _ = test_set
    np.testing.assert_array_equal(again.predict_proba(Xt), dct_detector.predict_proba(Xt))


def test_full_eval_crop_and_size_rules(dct_detector, test_set):
    Xt, _ = test_set
    assert dct_detector.input_size == (28, 28)
    big = torch.nn.functional.pad(Xt[:3], (4, 4, 4, 4), value=0.5)
    # The centre crop of the padded image is the centre crop of the original.
    np.testing.assert_allclose(
        dct_detector.predict_proba(big[..., 4:-4, 4:-4]), dct_detector.predict_proba(Xt[:3])
    )
    with pytest.raises(GanscopeError, match="smaller"):
        dct_detector.predict_proba(Xt[:2, :, :20, :20])


def test_bad_settings_raise(train_set):
    X, y = train_set
    for bad in (
        dict(arch="vgg"),
        dict(input="hsv"),
        dict(jpeg_quality=(0, 100)),
        dict(crop=64),
        dict(eval_crop="corner"),
        dict(lr_schedule="step"),
    ):
        with pytest.raises(GanscopeError):
            CNNDetector(**{**FAST, **bad}).fit(X, y)


# -- inputs -----------------------------------------------------------------------------------
def test_npr_is_zero_on_nearest_upsampled_images():
    small = torch.rand(2, 3, 8, 8, dtype=torch.float64)
    up = torch.nn.functional.interpolate(small, scale_factor=2, mode="nearest")
    assert npr_residual(up).abs().max() == 0
    x = torch.rand(2, 3, 16, 16, dtype=torch.float64)
    # Slow reference: subtract the top-left pixel of each 2x2 block.
    ref = x - x[..., ::2, ::2].repeat_interleave(2, -2).repeat_interleave(2, -1)
    torch.testing.assert_close(npr_residual(x), ref)


@pytest.mark.parametrize("kind", ["rgb", "npr", "fft", "dct"])
def test_cnn_input_shapes(kind):
    x = torch.rand(2, 3, 16, 12)
    z = cnn_input(x, kind)
    assert z.shape == x.shape and torch.isfinite(z).all()


# -- networks -----------------------------------------------------------------------------------
def test_resnet50_has_torchvision_names_and_shapes():
    sd = resnet50().state_dict()
    assert len(sd) == 320  # torchvision's resnet50 state_dict, num_batches_tracked included
    expected = {
        "conv1.weight": (64, 3, 7, 7),
        "bn1.running_mean": (64,),
        "layer1.0.conv1.weight": (64, 64, 1, 1),
        "layer1.0.downsample.0.weight": (256, 64, 1, 1),
        "layer1.0.downsample.1.running_var": (256,),
        "layer2.0.conv2.weight": (128, 128, 3, 3),
        "layer3.5.bn3.weight": (1024,),
        "layer4.2.bn3.running_var": (2048,),
        "fc.weight": (1, 2048),
        "fc.bias": (1,),
    }
    for name, shape in expected.items():
        assert tuple(sd[name].shape) == shape, name
    n_params = sum(p.numel() for p in resnet50().parameters())
    assert n_params == 23_510_081  # torchvision's 25,557,032 with a 2048 -> 1 head


def test_cnndetection_style_checkpoint_loads(tmp_path):
    # CNNDetection's published files hold {"model": state_dict, ...}; saved here from our own
    # network (same names), then read with weights_only=True.
    torch.manual_seed(0)
    source = resnet50().eval()
    path = tmp_path / "blur_jpg_prob0.5.pth"
    torch.save({"model": source.state_dict(), "total_steps": 123}, path)
    det = CNNDetector.from_weights(str(path), crop=32, device="cpu")
    x = torch.rand(2, 3, 40, 40)
    with torch.no_grad():
        ref = torch.sigmoid(source(cnn_input(x[..., 4:36, 4:36], "rgb"))).double().numpy()
    np.testing.assert_allclose(det.predict_proba(x)[:, 1], ref, rtol=1e-6)
    assert set(load_foreign_weights(path)) == set(source.state_dict())


def test_foreign_weights_of_the_wrong_arch_are_refused(tmp_path):
    path = tmp_path / "small.pth"
    torch.save(resnet_small().state_dict(), path)
    with pytest.raises(GanscopeError, match="does not fit"):
        CNNDetector.from_weights(str(path), arch="resnet50", crop=32)


@pytest.mark.parametrize("antialias", [False, True])
def test_resnet_small_any_size(antialias):
    net = resnet_small(antialias=antialias).eval()
    for size in (28, 32, 45):
        assert net(torch.rand(2, 3, size, size)).shape == (2,)
    if antialias:
        assert any(type(m).__name__ == "BlurPool2d" for m in net.modules())


def test_weights_with_zero_epochs_only_calibrate(train_set, tmp_path):
    torch.manual_seed(1)
    source = resnet_small()
    state = {k: v for k, v in source.state_dict().items() if "num_batches_tracked" not in k}
    torch.save(state, tmp_path / "old.pth")  # pre-0.4.1 style: no num_batches_tracked
    X, y = train_set
    det = CNNDetector(weights=str(tmp_path / "old.pth"), epochs=0, crop=32, device="cpu")
    det.fit(X, y)
    assert det.history_ == [] and det.n_val_ == len(y)
    for name, tensor in source.state_dict().items():
        if "num_batches_tracked" not in name:
            torch.testing.assert_close(det.network_.state_dict()[name], tensor)


def test_precise_bn_subset_is_a_uniform_draw():
    from ganscope.detectors.cnn import precise_bn_subset

    idx = np.arange(0, 20000, 2)
    a = precise_bn_subset(idx, 0, 2048)
    assert a.size == 2048 and np.all(np.diff(a) > 0) and np.isin(a, idx).all()
    np.testing.assert_array_equal(a, precise_bn_subset(idx, 0, 2048))
    assert not np.array_equal(a, precise_bn_subset(idx, 1, 2048))
    # Uniform over the indices: each quarter of them holds about a quarter of the draw.
    counts = np.histogram(a, bins=4, range=(0, 20000))[0]
    assert np.all(np.abs(counts - 512) < 80)
    np.testing.assert_array_equal(precise_bn_subset(idx[:100], 0, 2048), idx[:100])


def test_precise_bn_does_not_depend_on_the_order_of_the_data(monkeypatch):
    """The BatchNorm statistics come from a random draw of the training images, not the first
    ones: with dark images first, the first ones alone would give far darker statistics."""
    import copy

    import ganscope.detectors.cnn as cnn

    monkeypatch.setattr(cnn, "PRECISE_BN_IMAGES", 16)
    g = torch.Generator().manual_seed(0)
    X = torch.cat([0.2 * torch.rand(60, 3, 32, 32, generator=g),
                   0.8 + 0.2 * torch.rand(60, 3, 32, 32, generator=g)])  # fmt: skip
    y = np.r_[np.zeros(60, int), np.ones(60, int)]
    det = CNNDetector(input="rgb", blur_prob=0.0, jpeg_prob=0.0, **dict(FAST, epochs=1))
    det.fit(X, y)

    def first_bn_mean(images: torch.Tensor) -> torch.Tensor:
        net = copy.deepcopy(det.network_)
        det._precise_batchnorm(net, images, torch.device("cpu"))
        bn = next(m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))
        return bn.running_mean

    bn = next(m for m in det.network_.modules() if isinstance(m, torch.nn.BatchNorm2d))
    everything, first = first_bn_mean(X), first_bn_mean(X[:16])
    assert torch.linalg.norm(bn.running_mean - everything) < 0.5 * torch.linalg.norm(
        bn.running_mean - first
    )


def test_weight_average_is_the_exact_mean_of_floating_point_entries():
    from ganscope.detectors.cnn import WeightAverage

    nets = [
        torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)) for _ in range(3)
    ]
    for k, net in enumerate(nets):
        net[1].num_batches_tracked.fill_(10 * k)
    swa = WeightAverage(nets[0])
    for epoch, net in enumerate(nets, start=4):
        swa.add(net, epoch)
    target = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    target[1].num_batches_tracked.fill_(7)
    swa.apply(target)
    mean_weight = sum(n[0].weight.detach().double() for n in nets) / 3
    torch.testing.assert_close(target[0].weight.detach().double(), mean_weight)
    assert int(target[1].num_batches_tracked) == 7  # integers are not averaged
    assert (swa.count, swa.first, swa.last) == (3, 4, 6)


def test_average_from_keeps_the_mean_of_the_epochs_weights(train_set, tmp_path):
    """With ``average_from=2`` the network is the mean of the weights that ended epochs 2-4,
    whose BatchNorm statistics are recomputed for it."""
    X, y = train_set
    det = CNNDetector(input="npr", blur_prob=0.0, jpeg_prob=0.0, average_from=2,
                      **dict(FAST, patience=4))  # fmt: skip
    states = []
    original = det._precise_batchnorm

    def record(net, x_bn, device):
        original(net, x_bn, device)
        states.append({k: v.detach().clone() for k, v in net.state_dict().items()})

    det._precise_batchnorm = record
    det.fit(X, y)
    assert len(states) == 5  # four epochs and the mean's own statistics
    assert det.averaged_epochs_ == (2, 4) and det.best_epoch_ == 4
    final = det.network_.state_dict()
    for k, v in final.items():
        if v.is_floating_point() and "running" not in k:
            mean = sum(s[k].double() for s in states[1:4]) / 3
            torch.testing.assert_close(v.double(), mean, rtol=1e-5, atol=1e-6)
    bn = next(k for k in final if k.endswith("running_var"))
    torch.testing.assert_close(final[bn], states[4][bn])
    save_detector(det, tmp_path / "swa")
    assert load_detector(tmp_path / "swa").averaged_epochs_ == (2, 4)
    with pytest.raises(GanscopeError, match="average_from"):
        CNNDetector(average_from=0, **FAST).fit(X, y)


def test_members_average_the_logits_of_networks_trained_alike(train_set, test_set, tmp_path):
    """``members=2``: member 0 is exactly the single network of the seed, member 1 that of the
    next seed on the same split, and the detector's logit is their mean, calibrated as one."""
    from ganscope.detectors.networks import MeanLogit

    X, y = train_set
    Xt, _ = test_set
    settings = dict(input="npr", blur_prob=0.0, jpeg_prob=0.0, calibrate="platt", **FAST)
    single = CNNDetector(**dict(settings, epochs=2)).fit(X, y)
    pair = CNNDetector(members=2, **dict(settings, epochs=2)).fit(X, y)
    assert isinstance(pair.network_, MeanLogit) and len(pair.network_.members) == 2
    first, second = pair.network_.members
    for k, v in single.network_.state_dict().items():
        torch.testing.assert_close(first.state_dict()[k], v, rtol=0, atol=0)
    assert not torch.equal(first.conv1.weight, second.conv1.weight)
    cpu = torch.device("cpu")
    mean = (single._logits(first, Xt, cpu) + pair._logits(second, Xt, cpu)) / 2
    torch.testing.assert_close(pair._logits(pair.network_, Xt, cpu), mean)
    p = torch.sigmoid(mean.double() / pair.temperature_ + pair.bias_).numpy()
    np.testing.assert_allclose(pair.predict_proba(Xt)[:, 1], p, rtol=1e-6)
    assert [r["member"] for r in pair.history_] == [0, 0, 1, 1]
    assert len(pair.member_epochs_) == 2 and pair.best_epoch_ == pair.member_epochs_[0]
    save_detector(pair, tmp_path / "pair")
    again = load_detector(tmp_path / "pair")
    assert again.members == 2 and again.member_epochs_ == pair.member_epochs_
    np.testing.assert_array_equal(again.predict_proba(Xt), pair.predict_proba(Xt))
    with pytest.raises(GanscopeError, match="members"):
        CNNDetector(members=0, **FAST).fit(X, y)
