import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ganscope.spectrum import SpectrumStats, difference_spectrum


@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 7), min_size=1, max_size=6),
    seed=st.integers(0, 2**16),
)
def test_streamed_moments_equal_the_one_shot_moments(sizes, seed):
    g = torch.Generator().manual_seed(seed)
    data = torch.randn(sum(sizes), 3, 4, generator=g, dtype=torch.float64) * 5 + 100
    stats = SpectrumStats()
    for chunk in data.split(sizes):
        stats.update(chunk)
    assert stats.count == data.shape[0]
    torch.testing.assert_close(stats.mean, data.mean(0), rtol=1e-12, atol=1e-10)
    if data.shape[0] > 1:
        torch.testing.assert_close(stats.std, data.std(0), rtol=1e-9, atol=1e-10)
        torch.testing.assert_close(stats.var(ddof=0), data.var(0, correction=0))


def test_single_sample_empty_and_mismatch():
    stats = SpectrumStats()
    with pytest.raises(ValueError):
        _ = stats.mean
    stats.update(torch.empty(0, 3))
    stats.update(torch.tensor([[1.0, 2.0, 3.0]]))
    torch.testing.assert_close(stats.std, torch.zeros(3, dtype=torch.float64))
    with pytest.raises(ValueError):
        stats.update(torch.ones(2, 4))


def test_difference_spectrum():
    fake, real = torch.tensor([3.0, 1.0]), torch.tensor([1.0, 2.0])
    torch.testing.assert_close(difference_spectrum(fake, real), torch.tensor([2.0, -1.0]))
    with pytest.raises(ValueError):
        difference_spectrum(fake, torch.ones(3))
