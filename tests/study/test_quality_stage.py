"""The study's quality stage: every number beside the same number between two real sets."""


def test_quality_stage_gives_each_number_beside_two_real_sets() -> None:
    import torch

    from ganscope.generators.metrics import spectral_distance
    from ganscope.study.stages import quality_stage

    g = torch.Generator().manual_seed(0)
    train, test = torch.rand(40, 3, 16, 16, generator=g), torch.rand(24, 3, 16, 16, generator=g)
    fake = (torch.rand(24, 3, 16, 16, generator=g) * 0.2).add_(0.4)  # flat, low contrast
    (q,) = quality_stage(train, test, {"flat": fake}, seed=0).values()
    assert q["spectral_distance_real"] == spectral_distance(test, train)
    assert q["spectral_distance"] > 5 * q["spectral_distance_real"]
    assert q["swd"] > q["swd_real"]
