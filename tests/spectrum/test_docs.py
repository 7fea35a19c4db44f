import doctest
import importlib

import pytest

MODULES = [
    "ganscope.spectrum.color",
    "ganscope.spectrum.fourier",
    "ganscope.spectrum.azimuthal",
    "ganscope.spectrum.dct",
    "ganscope.spectrum.features",
    "ganscope.spectrum.stats",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), verbose=False)
    assert result.attempted > 0 and result.failed == 0
