"""grimoire.diffusion's trained denoiser: the UNet, DDPM training, DDPM/DDIM sampling with
classifier-free guidance, save/load. (The scheduler's numbers are checked in test_diffusion.py.)"""

import math

import numpy as np
import pytest
import torch
from grimoire.diffusion import DiffusionModel, timestep_embedding


def test_timestep_embedding_is_the_sinusoidal_formula():
    t = np.array([0, 1, 17, 199])
    emb = timestep_embedding(t, 8)
    freqs = torch.exp(-math.log(10000.0) * torch.arange(4, dtype=torch.float64) / 4)
    args = torch.tensor(t, dtype=torch.float64)[:, None] * freqs[None]
    np.testing.assert_allclose(emb, torch.cat([args.sin(), args.cos()], 1).numpy(), rtol=1e-6, atol=1e-6)


def test_unet_shapes_and_gradients_flow_to_every_parameter():
    model = DiffusionModel(base_channels=8, num_train_timesteps=50)
    from grimoire.autograd import Tensor

    x = np.random.default_rng(0).standard_normal((3, 1, 8, 8)).astype(np.float32)
    out = model.net(Tensor(x), np.array([0, 10, 49]), np.array([1, 2, 10]))
    assert out.shape == (3, 1, 8, 8)
    (out * out).mean().backward()
    for name, p in model.net.named_parameters():
        assert p.grad is not None and np.isfinite(p.grad).all(), name


@pytest.mark.slow
def test_training_lowers_the_noise_prediction_loss():
    rng = np.random.default_rng(0)
    X = np.where(rng.random((64, 1, 8, 8)) > 0.5, 1.0, -1.0).astype(np.float32)
    X[:, :, :, :4] = 1.0  # structure to learn: the left half is always white
    y = rng.integers(0, 10, 64)
    model = DiffusionModel(base_channels=8, num_train_timesteps=50).fit(
        X, y, steps=40, batch_size=32, lr=3e-3
    )
    h = model.loss_history_
    assert np.mean(h[-10:]) < 0.8 * np.mean(h[:5])


def test_each_training_example_loses_its_label_with_probability_p_uncond():
    # The unconditional (null-class) branch is what unconditional sampling uses; it is trained
    # only on the examples whose label is dropped, so their share must be p_uncond, drawn per
    # example (not per batch), and the kept labels must be the examples' own.
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (32, 1, 8, 8)).astype(np.float32)
    y = np.arange(32) % 10
    model = DiffusionModel(base_channels=8, num_train_timesteps=20, seed=6)
    assert model.p_uncond == 0.2
    seen = []
    forward = model.net.forward

    def spy(x, t, labels=None):
        seen.append(np.asarray(labels))
        return forward(x, t, labels)

    model.net.forward = spy
    model.fit(X, y, steps=6, batch_size=100, verbose=False)
    labels = np.concatenate(seen)
    dropped = labels == 10
    # 600 draws at p = 0.2: standard deviation 0.016, so 0.13 .. 0.27 is over 4 of them
    assert 0.13 < dropped.mean() < 0.27
    assert all(0 < np.mean(batch == 10) < 1 for batch in seen)
    assert set(labels[~dropped].tolist()) <= set(range(10))


def test_guidance_ddim_and_save_load(tmp_path):
    model = DiffusionModel(base_channels=8, num_train_timesteps=40, seed=1)
    labels = np.array([0, 3, 9])
    a = model.sample(labels, guidance_scale=2.0, num_inference_steps=5, random_state=0)
    b = model.sample(labels, guidance_scale=2.0, num_inference_steps=5, random_state=0)
    np.testing.assert_array_equal(a, b)  # DDIM with eta = 0 is deterministic given x_T
    assert a.shape == (3, 1, 8, 8) and np.all(np.abs(a) <= 1)
    # classifier-free guidance: eps = eps_u + w (eps_c - eps_u); w = 1 is the conditional model
    x = np.random.default_rng(2).standard_normal((3, 1, 8, 8))
    cond = model._eps(x, 20, labels, 1.0)
    uncond = model._eps(x, 20, labels, 0.0)  # w = 0: the unconditional (null-class) prediction
    np.testing.assert_allclose(
        model._eps(x, 20, labels, 3.0), uncond + 3.0 * (cond - uncond), rtol=1e-4, atol=1e-5
    )
    ddpm, trajectory = model.sample(
        labels, method="ddpm", num_inference_steps=5, random_state=0, return_trajectory=True
    )
    assert len(trajectory) == 5 and ddpm.shape == a.shape
    path = tmp_path / "ddpm.safetensors"
    model.save(path)
    again = DiffusionModel.load(path)
    np.testing.assert_array_equal(again.sample(labels, num_inference_steps=5, random_state=0), a)


def test_save_load_resumes_training_exactly(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.uniform(-1, 1, (16, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 10, 16)
    kw = dict(steps=3, batch_size=8, lr=3e-3, verbose=False)
    model = DiffusionModel(
        base_channels=8, num_train_timesteps=20, p_uncond=0.3, ema_decay=0.9, seed=4
    ).fit(X, y, **kw)
    path = tmp_path / "resume.safetensors"
    model.save(path)
    again = DiffusionModel.load(path)
    assert (again.p_uncond, again.ema_decay, again.seed) == (0.3, 0.9, 4)
    for a, b in ((model.net, again.net), (model.ema, again.ema)):
        for (name, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
            np.testing.assert_array_equal(p, q, err_msg=name)
    # the trained network and its EMA differ after training, so a file with only one of them
    # could not resume both
    assert any(
        not np.array_equal(p, q)
        for p, q in zip(model.net.state_dict().values(), model.ema.state_dict().values(), strict=True)
    )
    model.fit(X, y, **kw)
    again.fit(X, y, **kw)
    assert again.loss_history_ == model.loss_history_
    for a, b in ((model.net, again.net), (model.ema, again.ema)):
        for (name, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
            np.testing.assert_array_equal(p, q, err_msg=name)


def test_a_file_of_ema_weights_only_loads_with_a_warning(tmp_path):
    from grimoire.nn import save_safetensors

    model = DiffusionModel(base_channels=8, num_train_timesteps=20, seed=2)
    meta = {
        "image_shape": "1,8,8",
        "num_classes": "10",
        "base_channels": "8",
        "num_train_timesteps": "20",
        "beta_schedule": model.beta_schedule,
    }
    path = tmp_path / "old.safetensors"
    save_safetensors(model.ema.state_dict(), path, metadata=meta)
    with pytest.warns(UserWarning, match="only the EMA weights"):
        again = DiffusionModel.load(path)
    for p, q in zip(model.ema.state_dict().values(), again.net.state_dict().values(), strict=True):
        np.testing.assert_array_equal(p, q)


def test_bad_input_names_the_argument():
    model = DiffusionModel(base_channels=8, num_train_timesteps=20)
    with pytest.raises(
        ValueError, match=r"labels must be classes the model was trained on, 0 .. 9; got \[10\]"
    ):
        model.sample(np.array([1, 10]))
    with pytest.raises(ValueError, match="method"):
        model.sample(np.array([1]), method="euler")
    with pytest.raises(ValueError, match="X must have shape"):
        model.fit(np.zeros((4, 8, 8), np.float32), np.zeros(4, int), steps=1)
    with pytest.raises(ValueError, match="image_shape"):
        DiffusionModel(image_shape=(1, 7, 7))
