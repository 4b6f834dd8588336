"""Bidirectional RNN/LSTM/GRU and RNNCell/LSTMCell/GRUCell against PyTorch (outputs, final
states, gradients of inputs and weights; same state_dict keys)."""

import numpy as np
import pytest
import torch
from grimoire import nn
from grimoire.autograd import Tensor


def _load(ours, theirs):
    theirs.load_state_dict({k: torch.tensor(v, dtype=torch.float64) for k, v in ours.state_dict().items()})
    return theirs


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("num_layers,batch_first", [(1, False), (2, True)])
def test_bidirectional_layers_equal_torch(kind, num_layers, batch_first):
    rng = np.random.default_rng(0)
    ours = getattr(nn, kind)(3, 4, num_layers=num_layers, batch_first=batch_first, bidirectional=True)
    theirs = _load(
        ours,
        getattr(torch.nn, kind)(
            3, 4, num_layers=num_layers, batch_first=batch_first, bidirectional=True
        ).double(),
    )
    assert set(ours.state_dict()) == set(theirs.state_dict())
    x = rng.standard_normal((2, 5, 3) if batch_first else (5, 2, 3))
    xt = torch.tensor(x, requires_grad=True)
    ref_out, ref_h = theirs(xt)
    t = Tensor(x.astype(np.float32), requires_grad=True)
    out, h = ours(t)
    np.testing.assert_allclose(out.data, ref_out.detach().numpy(), rtol=1e-4, atol=1e-5)
    hs, ref_hs = (h if isinstance(h, tuple) else (h,)), (ref_h if isinstance(ref_h, tuple) else (ref_h,))
    for a, b in zip(hs, ref_hs, strict=True):
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-4, atol=1e-5)
    g = rng.standard_normal(ref_out.shape)
    (ref_out * torch.tensor(g)).sum().backward()
    (out * Tensor(g.astype(np.float32))).sum().backward()
    np.testing.assert_allclose(t.grad, xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(
            p.grad, dict(theirs.named_parameters())[name].grad.numpy(), rtol=1e-4, atol=1e-5
        )


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_equal_torch(kind):
    rng = np.random.default_rng(1)
    ours = getattr(nn, kind)(3, 5)
    theirs = _load(ours, getattr(torch.nn, kind)(3, 5).double())
    assert set(ours.state_dict()) == set(theirs.state_dict())
    x = rng.standard_normal((4, 3))
    state = None
    ref_state = None
    for _ in range(3):  # a few steps, feeding the state back
        state = ours(Tensor(x.astype(np.float32)), state)
        ref_state = theirs(torch.tensor(x), ref_state)
        got = state if isinstance(state, tuple) else (state,)
        want = ref_state if isinstance(ref_state, tuple) else (ref_state,)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-4, atol=1e-5)
    unbatched = ours(Tensor(x[0].astype(np.float32)))
    first = unbatched[0] if isinstance(unbatched, tuple) else unbatched
    assert first.shape == (5,)
