"""Scoring a whole image with a detector trained on small crops: tiles that cover every pixel.

A CNN detector learns on ``t x t`` crops; an image of any size ``>= t`` is scored as the mean of
the logits of ``t x t`` tiles laid over it, so every pixel takes part (issue 11; Wang et al.'s
CNNDetection scores whole images by global pooling, Tan et al.'s NPR likewise: the mean of tile
logits is that, with the network seeing exactly the view it was trained on).

**Even grid.** Up-sampling traces repeat with period 2 (a nearest or transposed 2x block), and
the NPR residual (Tan et al. 2024) compares pixels within aligned 2x2 blocks. Every tile
therefore starts at an even row and column, so its 2x2 blocks are the image's own. The tiles are
the regular grid ``0, t, 2t, ...`` plus, where the grid falls short of the edge, one last row or
column of tiles flush with it (moved up to one pixel inward when that would start on an odd
offset: the last row or column of an odd-sized image is then the only one left out).
"""

from __future__ import annotations

import torch

from ganscope.errors import GanscopeError


def tile_starts(length: int, tile: int) -> list[int]:
    """Even start offsets of ``tile``-long windows covering ``[0, length)`` (see module doc).

    Example:
        >>> tile_starts(70, 32)
        [0, 32, 38]
        >>> tile_starts(32, 32)
        [0]
    """
    if tile < 2 or tile % 2:
        raise GanscopeError(f"the tile side must be even and >= 2, not {tile}")
    if length < tile:
        raise GanscopeError(f"a side of {length} pixels is smaller than the tile {tile}")
    starts = list(range(0, length - tile + 1, tile))
    if starts[-1] + tile < length:
        last = (length - tile) // 2 * 2
        if last > starts[-1]:
            starts.append(last)
    return starts


def tile_count(height: int, width: int, tile: int) -> int:
    """How many tiles :func:`tile_images` cuts from one ``height x width`` image."""
    return len(tile_starts(height, tile)) * len(tile_starts(width, tile))


def tile_images(images: torch.Tensor, tile: int) -> torch.Tensor:
    """Cut a batch into its tiles: ``(B, C, H, W)`` to ``(B * T, C, tile, tile)``.

    The tiles of image ``b`` are rows ``b * T .. (b + 1) * T - 1`` (``T`` = :func:`tile_count`),
    in row-major order of their positions.
    """
    B, C, H, W = images.shape
    rows, cols = tile_starts(H, tile), tile_starts(W, tile)
    if len(rows) == 1 and len(cols) == 1:
        return images[..., :tile, :tile]
    pieces = [images[:, :, y : y + tile, x : x + tile] for y in rows for x in cols]
    return torch.stack(pieces, dim=1).reshape(B * len(pieces), C, tile, tile)
