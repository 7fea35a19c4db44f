"""ganscope: look into generated images and into the generators that make them.

Subpackages follow the data flow of ``DESIGN.md``: ``io`` (images in) → ``spectrum`` (features)
→ ``generators`` / ``detectors`` (models) → ``metrics`` (numbers) → ``report`` (pictures).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ganscope")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
