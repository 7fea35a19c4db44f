"""The study draws its spectra with ganscope.report.spectra (one figure layer)."""

from __future__ import annotations

import numpy as np
import torch

from ganscope.report.spectra import profile_figure
from ganscope.study.figures import spectra_figures
from ganscope.study.spectra import spectra_stage


def test_spectra_figures_come_from_the_report_layer():
    g = torch.Generator().manual_seed(0)
    real = torch.rand(4, 3, 16, 16, generator=g)
    spec = spectra_stage(real, {"a": real.flip(-1), "b": (real * 0.5)})
    figs = spectra_figures(spec)
    assert list(figs) == ["azimuthal", "projections", "spectra_2d", "spectra_diff", "dct_diff"]
    az = figs["azimuthal"][0].get_axes()[0]
    assert "cycles/pixel" in az.get_xlabel()
    real_line = next(line for line in az.get_lines() if line.get_label() == "real")
    assert real_line.get_color() == "black" and real_line.get_linewidth() > 2
    assert len(figs["projections"][0].get_axes()) == 2
    # differences: one panel per fake source, against real
    titles = [a.get_title() for a in figs["spectra_diff"][0].get_axes() if a.get_title()]
    assert titles == ["a − real", "b − real"]


def test_many_sources_share_one_legend():
    segments = [("horizontal", np.linspace(0, 0.5, 5)), ("vertical", np.linspace(0, 0.5, 5))]
    stats = {f"s{i}": (np.zeros(10), np.ones(10)) for i in range(6)}
    fig = profile_figure(segments, stats, ylabel="y", reference="s0")
    legends = [ax.get_legend() for ax in fig.get_axes()]
    assert legends[0] is None and legends[1] is not None
    few = profile_figure(segments, dict(list(stats.items())[:2]), ylabel="y")
    assert all(ax.get_legend() is not None for ax in few.get_axes())
