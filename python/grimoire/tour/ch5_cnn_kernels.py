"""Tour, primer 5.2.1-5.2.2: the kernels of a CNN, convolution and pooling."""

from __future__ import annotations

import numpy as np

from grimoire.kernels import (
    avg_pool2d,
    avg_pool2d_backward,
    conv2d,
    conv2d_backward,
    max_pool2d,
    max_pool2d_backward,
)
from grimoire.linalg import convolve2d

from . import Tour, section


def _img(a) -> np.ndarray:
    """A 2-D matrix as a batch of one single-channel image (1, 1, H, W), float32."""
    return np.asarray(a, dtype=np.float32)[None, None]


@section("5.2.1", "Convolutions", "grimoire.kernels.conv2d")
def convolutions(t: Tour) -> None:
    t.say("A CNN layer slides each filter over the image and takes a dot product at every position:",
          "y[o, i, j] = b[o] + sum_{c,p,q} w[o, c, p, q] * x[c, i*stride + p - pad, j*stride + q - pad].",
          "That is cross-correlation: the filter is NOT flipped (PyTorch's conv2d does the same).")
    # Figure 26: two 3x3 filters over a 5x5 image give two feature maps.
    image = np.zeros((5, 5), np.float32)
    image[:, 2:] = 1.0  # dark left, bright right: one vertical edge
    image[3:, :] += 2.0  # and a horizontal one lower down
    filters = np.array([[[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],    # responds to vertical edges
                        [[-1, -1, -1], [0, 0, 0], [1, 1, 1]]],   # responds to horizontal edges
                       np.float32)[:, None]
    t.show("5x5 input image", image)
    t.show("two 3x3 filters (vertical-edge, horizontal-edge)", filters[:, 0])
    maps = conv2d(_img(image), filters)
    t.show("conv2d(image, filters): two 3x3 feature maps (no padding, stride 1)", maps[0])
    t.say(f"with padding=1 the maps keep the 5x5 size: {conv2d(_img(image), filters, padding=1).shape[2:]}; "
          f"stride=2 halves them: {conv2d(_img(image), filters, padding=1, stride=2).shape[2:]}")

    # Primer 2.2.6: true convolution flips the kernel first.
    m = np.array([[0, 0, 0, 0], [0, 1, 2, 0], [0, 3, 4, 0], [0, 0, 0, 0]], np.float32)
    k = np.array([[1, 0], [0, -1]], np.float32)
    t.show("primer 2.2.6: M (zero-padded)", m)
    t.show("K", k)
    t.show("conv2d(M, K): cross-correlation, K as it is", conv2d(_img(m), _img(k))[0, 0])
    t.show("conv2d(M, flip(K)): the true convolution M * K of 2.2.6 (primer: [[1 2 0] [3 3 -2] [0 -3 -4]])",
           conv2d(_img(m), _img(k[::-1, ::-1].copy()))[0, 0])
    t.show("grimoire.linalg.convolve2d(M, K): the true convolution, computed by linear algebra",
           convolve2d(m, k))
    t.say("For a learned filter the flip does not matter (the network learns the flipped weights),",
          "so CNN layers skip it and compute cross-correlation.")

    # Backward: what training needs.
    dy = np.ones_like(maps)
    gx, gw, gb = conv2d_backward(dy, _img(image), filters)
    t.show("backward with dL/dy = 1: dL/db (one per filter = number of output pixels)", gb)
    t.show("dL/dw of the vertical-edge filter (sum of the image patches it saw)", gw[0, 0])
    t.show("dL/dx: how many times each pixel was used, weighted by the filters", gx[0, 0])


@section("5.2.2", "Pooling layers", "grimoire.kernels.max_pool2d, avg_pool2d")
def pooling(t: Tour) -> None:
    fmap = np.array([[1, 3, 2, 5], [5, 8, 4, 7], [2, 6, 9, 1], [4, 3, 2, 6]], np.float32)
    t.show("input feature map (primer Figure 27)", fmap)
    out, idx = max_pool2d(_img(fmap), kernel_size=2)
    t.show("2x2 max pooling, stride 2 (primer: [[8 7] [6 9]])", out[0, 0])
    t.show("where each maximum came from (flat index i*4 + j)", idx[0, 0])
    avg = avg_pool2d(_img(fmap), kernel_size=2)
    t.show("2x2 average (mean) pooling", avg[0, 0])
    g = np.ones_like(out)
    t.show("max pooling backward: the gradient flows only to each window's maximum",
           max_pool2d_backward(g, idx, (1, 1, 4, 4))[0, 0])
    t.show("average pooling backward: each window shares its gradient equally",
           avg_pool2d_backward(g, (1, 1, 4, 4), kernel_size=2)[0, 0])
    t.say("Both shrink 4x4 to 2x2: a quarter of the values for the next layer, and a small shift of",
          "a feature inside a window leaves the max unchanged (some translation invariance).")
