"""Kernels take any CPU array that exports DLPack or the buffer protocol, without a copy, and
refuse everything else by name; grimoire.from_dlpack shares memory. PyTorch is the oracle."""

import array

import grimoire
import numpy as np
import pytest
import torch
from grimoire.kernels import gemm, layer_norm, pairwise_distances, softmax
from hypothesis import given, settings
from hypothesis import strategies as st


def test_gemm_on_torch_tensors_writes_into_their_memory():
    a, b = torch.randn(5, 3), torch.randn(3, 4)
    c = torch.full((5, 4), float("nan"))
    out = gemm(a, b, c)  # beta = 0: c is written, not read
    torch.testing.assert_close(c, a @ b)  # the result is in the torch tensor's own memory
    assert np.shares_memory(out, c.numpy())
    c.zero_()  # and a write through torch is seen through the returned array
    assert not out.any()


def test_the_dispatch_views_host_arrays_without_a_copy():
    from grimoire.kernels._device import host_array

    x = torch.randn(6, 8)[:, ::2]  # strided: still a view
    view = host_array(x, "x")
    assert np.shares_memory(view, x.numpy()) and view.strides == x.numpy().strides
    buf = array.array("d", [1.0, 2.0])
    assert np.shares_memory(host_array(buf, "x"), np.frombuffer(buf))


def test_out_argument_as_a_torch_tensor():
    x, out = torch.randn(4, 16), torch.empty(4, 16)
    layer_norm(x, eps=1e-5, out=out)
    torch.testing.assert_close(out, torch.nn.functional.layer_norm(x, (16,), eps=1e-5), rtol=1e-5, atol=1e-5)


def test_buffer_protocol_arrays():
    buf = array.array("f", [0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    x = memoryview(buf).cast("B").cast("f", (2, 3))
    expected = torch.softmax(torch.tensor(buf.tolist()).reshape(2, 3), -1).numpy()
    np.testing.assert_allclose(softmax(x), expected, rtol=1e-6)


@settings(max_examples=25, deadline=None)
@given(m=st.integers(0, 9), n=st.integers(1, 9), k=st.integers(0, 9), transpose=st.booleans(),
       step=st.integers(1, 2), special=st.sampled_from([None, float("nan"), float("inf")]))
def test_strided_torch_views_match_torch(m, n, k, transpose, step, special):
    g = torch.Generator().manual_seed(m * 100 + n * 10 + k)
    if transpose:
        a = torch.randn(k, m * step, generator=g).T[::step]
    else:
        a = torch.randn(m, k * step, generator=g)[:, ::step]
    b = torch.randn(k, n, generator=g)
    if special is not None and a.numel():
        a[0, 0] = special
    torch.testing.assert_close(torch.from_numpy(gemm(a, b)), a @ b, rtol=1e-5, atol=1e-5, equal_nan=True)
    if m and k:  # softmax reads rows in place: a strided view is refused, never copied quietly
        if a.is_contiguous():
            torch.testing.assert_close(torch.from_numpy(softmax(a)), torch.softmax(a, -1), equal_nan=True)
        else:
            with pytest.raises(ValueError, match="x must be C-contiguous"):
                softmax(a)


def test_distance_kernel_on_torch():
    x, y = torch.randn(7, 3), torch.randn(5, 3)
    got = torch.from_numpy(pairwise_distances(x, y))
    torch.testing.assert_close(got, torch.cdist(x, y), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("bad, kind", [([[1.0, 2.0]], "list"), (((1.0,),), "tuple"), (3.0, "float")])
def test_lists_and_scalars_are_refused_by_name(bad, kind):
    b = np.ones((2, 2), np.float32)
    with pytest.raises(TypeError, match=f"a must be an array on the CPU that exports DLPack or the buffer "
                                        f"protocol .* got {kind}"):
        gemm(bad, b)


def test_a_tensor_that_requires_grad_is_refused_clearly():
    a = torch.ones(2, 2, requires_grad=True)
    with pytest.raises(TypeError, match="a .*torch.Tensor.* exports DLPack but NumPy cannot view it"):
        gemm(a, np.ones((2, 2), np.float32))


def test_dtype_and_layout_checks_still_apply_to_torch_tensors():
    with pytest.raises(TypeError, match="a and b must both be float32 or both float64, got float16"):
        gemm(torch.ones(2, 2, dtype=torch.float16), torch.ones(2, 2, dtype=torch.float16))


def test_from_dlpack_shares_memory_with_torch():
    x = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    t = grimoire.from_dlpack(x)
    assert isinstance(t, grimoire.Tensor) and t.data.shape == (2, 3) and t.data.dtype == np.float32
    x[1, 2] = 42.0
    assert t.data[1, 2] == 42.0
    t.data[0, 0] = -1.0
    assert x[0, 0].item() == -1.0
    with pytest.raises(TypeError, match="from_dlpack needs an object with __dlpack__, got list"):
        grimoire.from_dlpack([1.0])


def test_tensor_exports_dlpack_zero_copy():
    """torch.from_dlpack(t) and np.from_dlpack(t) view the tensor's memory: a write through
    either is read through the tensor, and the other way round."""
    t = grimoire.Tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert t.__dlpack_device__() == (1, 0)  # kDLCPU, device 0
    viewed = torch.from_dlpack(t)
    assert viewed.shape == (2, 3) and viewed.dtype == torch.float32
    viewed[1, 2] = 42.0
    assert t.numpy()[1, 2] == 42.0
    a = np.from_dlpack(t)
    t.data[0, 0] = -1.0
    assert a[0, 0] == -1.0 and viewed[0, 0].item() == -1.0
    a[0, 1] = 7.0
    assert viewed[0, 1].item() == 7.0
    back = grimoire.from_dlpack(viewed)  # and back again, still the same memory
    assert np.shares_memory(back.numpy(), t.numpy())
    s = grimoire.Tensor(np.float64(2.5), dtype=np.float64) * 2  # a 0-d NumPy scalar inside
    assert torch.from_dlpack(s).item() == 5.0


def test_tensor_requiring_grad_refuses_dlpack_export():
    t = grimoire.Tensor(np.ones(3, np.float32), requires_grad=True)
    for consume in (torch.from_dlpack, np.from_dlpack):
        with pytest.raises(RuntimeError, match="requires grad through DLPack: use t.detach()"):
            consume(t)
    d = torch.from_dlpack(t.detach())  # detach shares the memory and exports
    d[0] = 3.0
    assert t.numpy()[0] == 3.0
