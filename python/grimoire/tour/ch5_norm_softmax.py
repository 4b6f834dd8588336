"""Tour, primer 5.2.4 (softmax) and 6.5.2 (batch normalization): the core's softmax and norm kernels."""

from __future__ import annotations

import numpy as np

from grimoire.kernels import batch_norm, cross_entropy, layer_norm, softmax

from . import Tour, section


@section("5.2.4", "Softmax", "grimoire.kernels.softmax")
def softmax_section(t: Tour) -> None:
    z = np.array([-2.4, 0.5, 1.7], dtype=np.float32)
    p = softmax(z)
    t.show("raw scores z", z)
    t.show("softmax(z) = exp(z_i) / sum_j exp(z_j)  (the primer: [0.01 0.23 0.76])",
           np.round(p.astype(np.float64), 2))
    t.show("sum of the probabilities", float(p.sum(dtype=np.float64)))
    big = np.array([1000, 1001, 1002], dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(big) / np.exp(big).sum()
    t.show("naive exp(z)/sum exp(z) on [1000 1001 1002] (exp overflows float32)", naive)
    t.show("grimoire softmax subtracts the max first: softmax([1000 1001 1002]) = softmax([0 1 2])",
           softmax(big))
    logits = np.array([[-2.4, 0.5, 1.7], [1e4, -1e4, 0.0]], dtype=np.float32)
    loss, grad = cross_entropy(logits, np.array([2, 0]), return_grad=True)
    t.show("cross-entropy of those rows against classes [2, 0] (stable at logits of 1e4)", round(loss, 4))
    t.show("its gradient (softmax - onehot) / N, from the same pass", np.round(grad, 4))


@section("6.5.2", "Batch normalization", "grimoire.kernels.norm")
def batch_norm_section(t: Tour) -> None:
    rng = np.random.default_rng(0)
    # A mini-batch of 8 examples with 3 features on very different scales.
    x = (rng.standard_normal((8, 3)) * [1.0, 50.0, 0.1] + [5.0, -200.0, 0.3]).astype(np.float32)
    t.show("mini-batch x (8 examples x 3 features)", np.round(x, 3))
    gamma, beta = np.ones(3, np.float32), np.zeros(3, np.float32)
    running_mean, running_var = np.zeros(3, np.float32), np.ones(3, np.float32)
    y, mu, rstd = batch_norm(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1)
    t.show("mu_B (batch mean per feature)", mu)
    t.show("BatchNorm(x) = gamma (x - mu_B) / sqrt(sigma_B^2 + eps) + beta", np.round(y, 3))
    t.show("per-feature mean of the output (0)", np.round(y.mean(0, dtype=np.float64), 6) + 0.0)
    t.show("per-feature variance of the output (1, up to eps)", np.round(y.var(0, dtype=np.float64), 4))
    for _ in range(99):  # more training batches from the same distribution
        xb = (rng.standard_normal((8, 3)) * [1.0, 50.0, 0.1] + [5.0, -200.0, 0.3]).astype(np.float32)
        batch_norm(xb, gamma, beta, running_mean, running_var, training=True, momentum=0.1)
    t.show("running mean after 100 batches (momentum 0.1; the data's mean is [5 -200 0.3])", running_mean)
    t.show("running variance (unbiased; the data's is [1 2500 0.01])", running_var)
    test = np.array([[5.0, -200.0, 0.3], [6.0, -150.0, 0.4]], dtype=np.float32)
    y_test, _, _ = batch_norm(test, gamma, beta, running_mean, running_var, training=False)
    t.show("inference on [[5 -200 0.3] [6 -150 0.4]] uses the running statistics", np.round(y_test, 3))
    row = np.array([[1.0, 2.0, 3.0, 4.0]], dtype=np.float32)
    t.show("Layer Norm instead normalises each example over its features: layer_norm([1 2 3 4])",
           np.round(layer_norm(row)[0], 4))
