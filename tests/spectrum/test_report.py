import numpy as np
import pytest
from PIL import Image

from ganscope.report.spectra import (
    difference_figure,
    profile_figure,
    save_figure,
    spectra_grid_figure,
    spectrum_overview_figure,
)


def _inputs(n_sources=3, size=(16, 16)):
    rng = np.random.default_rng(0)
    names = [f"s{i}" for i in range(n_sources)]
    freqs = np.linspace(0, 0.7, 12)
    stats = {n: (rng.normal(size=12), rng.random(12)) for n in names}
    spectra = {n: rng.normal(size=size) for n in names}
    return [("azimuthal", freqs)], stats, spectra


@pytest.mark.parametrize("n_sources", [1, 2, 5])
@pytest.mark.parametrize("domain", ["fft", "dct"])
def test_overview_figure_is_saved_atomically(tmp_path, n_sources, domain):
    segments, stats, spectra = _inputs(n_sources)
    fig = spectrum_overview_figure(
        segments=segments,
        stats=stats,
        spectra=spectra,
        reference="s0",
        domain=domain,
        ylabel="y",
        spectrum_label="z",
        title="t",
    )
    n_axes = len([a for a in fig.get_axes() if a.get_visible()])
    colorbars = 1 + (n_sources > 1)
    assert n_axes == 1 + n_sources + (n_sources - 1) + colorbars
    out = save_figure(fig, tmp_path / "out" / "spectra.png")
    with Image.open(out) as img:
        assert img.format == "PNG" and img.size[0] > 300
    assert [p.name for p in out.parent.iterdir()] == ["spectra.png"]


def test_axes_are_in_cycles_per_pixel_and_single_figures(tmp_path):
    segments, stats, spectra = _inputs(2, size=(8, 10))
    fig = spectra_grid_figure(spectra)
    left, right, bottom, top = fig.get_axes()[0].get_images()[0].get_extent()
    assert (left, right) == pytest.approx((-0.55, 0.45)) and (bottom, top) == pytest.approx(
        (-0.5625, 0.4375)
    )
    assert "cycles/pixel" in profile_figure(segments, stats, ylabel="y").get_axes()[0].get_xlabel()
    save_figure(difference_figure(spectra, "s0"), tmp_path / "d.svg")
    assert (tmp_path / "d.svg").read_text().lstrip().startswith("<?xml")
    with pytest.raises(ValueError):
        difference_figure({"s0": spectra["s0"]}, "s0")
    with pytest.raises(ValueError):
        spectrum_overview_figure()
