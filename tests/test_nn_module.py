"""Module plumbing: parameters, modes, state_dict round trips (bit-exact), safetensors files,
PyTorch key names, losses against torch.nn."""

import os

import grimoire
import numpy as np
import pytest
import torch
from grimoire import Tensor, nn
from grimoire.nn import functional as F
from safetensors.torch import save_file as torch_save_file


def small_model():
    grimoire.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3)
    )


def test_parameters_children_modes():
    m = small_model()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias"]
    assert len(list(m.children())) == 5 and len(list(m.modules())) == 6
    assert m.num_parameters() == 2 * 9 + 2 + 2 + 2 + 32 * 3 + 3
    m.eval()
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    out = m(Tensor(np.ones((2, 1, 6, 6))))
    out.sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_state_dict_round_trip_bit_exact(tmp_path):
    m = small_model()
    m(Tensor(np.random.default_rng(0).standard_normal((4, 1, 6, 6))))  # move the running stats
    sd = m.state_dict()
    assert "1.running_mean" in sd and "1.num_batches_tracked" in sd and sd["1.num_batches_tracked"] == 1
    grimoire.manual_seed(9)
    other = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(32, 3))
    other.load_state_dict(sd)
    for k, v in other.state_dict().items():
        assert v.dtype == sd[k].dtype and v.tobytes() == sd[k].tobytes()
    path = tmp_path / "m.safetensors"
    m.save(path)
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp")]  # the temp file was renamed
    third = small_model().load(path)
    for k, v in third.state_dict().items():
        assert v.tobytes() == sd[k].tobytes()
    x = Tensor(np.ones((1, 1, 6, 6)))
    m.eval()
    third.eval()
    np.testing.assert_array_equal(m(x).numpy(), third(x).numpy())


def test_load_torch_safetensors_file(tmp_path):
    t = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
    torch_save_file(t.state_dict(), str(tmp_path / "t.safetensors"))
    ours = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2)).load(tmp_path / "t.safetensors")
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(
        ours(Tensor(x)).numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )


def test_load_state_dict_errors():
    m = nn.Linear(3, 2)
    with pytest.raises(KeyError):
        m.load_state_dict({"weight": np.zeros((2, 3))})
    with pytest.raises(ValueError, match="shape"):
        m.load_state_dict({"weight": np.zeros((3, 2)), "bias": np.zeros(2)})
    m.load_state_dict({"weight": np.zeros((2, 3))}, strict=False)
    assert not m.weight.numpy().any()


def test_freezing_excludes_parameters_from_grads():
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    m[0].requires_grad_(False)
    m(Tensor(np.ones((2, 3)))).sum().backward()
    assert m[0].weight.grad is None and m[2].weight.grad is not None


def _losses():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((6, 4)).astype(np.float32) * 3
    y = rng.integers(0, 4, 6)
    t = rng.standard_normal((6, 4)).astype(np.float32)
    b = (rng.random((6, 4)) > 0.5).astype(np.float32)
    pm = np.where(rng.random((6, 4)) > 0.5, 1.0, -1.0).astype(np.float32)
    return [
        (nn.MSELoss(), torch.nn.MSELoss(), z, t),
        (nn.L1Loss(reduction="sum"), torch.nn.L1Loss(reduction="sum"), z, t),
        (nn.BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss(), z * 10, b),
        (
            nn.BCEWithLogitsLoss(pos_weight=np.array([1, 2, 3, 4], np.float32)),
            torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0, 2, 3, 4])),
            z,
            b,
        ),
        (nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), z, y),
        (nn.CrossEntropyLoss(reduction="none"), torch.nn.CrossEntropyLoss(reduction="none"), z, y),
        (
            nn.CrossEntropyLoss(label_smoothing=0.2, ignore_index=1),
            torch.nn.CrossEntropyLoss(label_smoothing=0.2, ignore_index=1),
            z,
            y,
        ),
        (nn.MultiMarginLoss(), torch.nn.MultiMarginLoss(), z, y),
        (nn.HingeEmbeddingLoss(), torch.nn.HingeEmbeddingLoss(), z, pm),
        (nn.NLLLoss(), torch.nn.NLLLoss(), np.log(np.full((6, 4), 0.25, np.float32)) + z * 0.1, y),
    ]


@pytest.mark.parametrize("i", range(10))
def test_losses_match_torch(i):
    ours, theirs, z, target = _losses()[i]
    oz, tz = Tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
    o, t = ours(oz, target), theirs(tz, torch.tensor(target))
    np.testing.assert_allclose(o.numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = np.random.default_rng(1).standard_normal(t.shape).astype(np.float32)
    o.backward(g)
    t.backward(torch.tensor(g))
    np.testing.assert_allclose(oz.grad, tz.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_cross_entropy_sequence_layout_and_stability():
    z = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32) * 1e3  # (N, C, d)
    y = np.array([[0, 4, 1], [2, 2, 3]])
    o = F.cross_entropy(Tensor(z), y)
    t = torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(y))
    np.testing.assert_allclose(o.item(), t.item(), rtol=1e-5)
    with pytest.raises(ValueError, match="targets"):
        F.cross_entropy(Tensor(z[:, :, 0]), np.array([0, 5]))
