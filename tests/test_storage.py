"""Tensor storage in an array-API namespace (issue 9): devices, moves, and CPU arrays that are not
NumPy reaching the kernels zero-copy through DLPack (require_ndarray in cpp/bindings/checks.h)."""

import array_api_strict as xs
import numpy as np
import pytest
import torch
from grimoire import Tensor, _array, kernels, manual_seed, nn, optim
from grimoire import train as T


def test_kernels_take_cpu_dlpack_arrays_zero_copy():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal((3, 4)).astype(np.float32)
    c = xs.zeros((5, 4), dtype=xs.float32)
    out = kernels.gemm(xs.asarray(a), xs.asarray(b), c)  # c written in place through the DLPack view
    np.testing.assert_allclose(np.asarray(c), a @ b, rtol=1e-5, atol=1e-6)
    assert np.shares_memory(out, np.from_dlpack(c))
    t = kernels.gemm(torch.from_numpy(a), torch.from_numpy(b))  # a CPU torch tensor, too
    np.testing.assert_allclose(t, a @ b, rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match="a must be an array on the CPU that exports DLPack.*, got list"):
        kernels.gemm(a.tolist(), b)


def test_tensor_in_a_namespace_keeps_it():
    x = Tensor(xs.asarray([[1.0, -2.0], [3.0, 4.0]]), requires_grad=True)
    assert x.device == "cpu" and x.to("cpu") is x and x.cpu() is x
    y = (x.relu() * 2.0).sum()
    y.backward()
    assert type(x.grad) is type(x.data)  # the gradient lives where the data does
    np.testing.assert_array_equal(np.asarray(x.grad), [[2.0, 0.0], [2.0, 2.0]])
    assert x.to(np.float64).numpy().dtype == np.float64
    with pytest.raises(ValueError, match="device must be 'cpu', 'cuda' or 'cuda:N', got 'tpu'"):
        _array.to_device(x.data, "tpu")


def test_module_to_and_fit_device_cpu_match_the_plain_run():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)

    def run(device):
        manual_seed(0)
        m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        assert m.to("cpu") is m
        opt = optim.Adam(m.parameters(), lr=1e-2)
        h = T.fit(m, nn.CrossEntropyLoss(), opt, X, y, epochs=3, batch_size=16, verbose=False, device=device)
        return h, m

    (h0, m0), (h1, m1) = run(None), run("cpu")
    assert h0.records["loss"] == h1.records["loss"]
    for p, q in zip(m0.parameters(), m1.parameters(), strict=True):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
