"""Anti-aliasing: the shift-equivariance testbed, consistency and ``antialias(model)``.

Zhang, "Making Convolutional Networks Shift-Invariant Again", ICML 2019.
"""

from ganscope.antialias.convert import antialias, downsampling_layers

__all__ = ["antialias", "downsampling_layers"]
