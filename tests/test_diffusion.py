"""grimoire.diffusion against diffusers' DDPMScheduler and against the exact Gaussian-mixture denoiser."""

import numpy as np
import pytest
import torch
from diffusers import DDPMScheduler as DiffusersDDPM
from grimoire.diffusion import DDPMScheduler, gaussian_mixture_eps

SCHEDULES = ["linear", "scaled_linear", "squaredcos_cap_v2"]


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_schedules_match_diffusers(schedule):
    ours = DDPMScheduler(1000, beta_schedule=schedule)
    theirs = DiffusersDDPM(1000, beta_schedule=schedule)
    np.testing.assert_allclose(ours.betas, theirs.betas.double().numpy(), rtol=1e-5)
    expected = theirs.alphas_cumprod.double().numpy()
    np.testing.assert_allclose(ours.alphas_cumprod, expected, rtol=1e-4, atol=1e-9)


def test_add_noise_matches_diffusers_and_composes_the_forward_chain():
    ours, theirs = DDPMScheduler(), DiffusersDDPM()
    rng = np.random.default_rng(0)
    x0, noise = rng.standard_normal((6, 3, 4)), rng.standard_normal((6, 3, 4))
    t = np.array([0, 1, 10, 500, 998, 999])
    expected = theirs.add_noise(torch.from_numpy(x0), torch.from_numpy(noise), torch.from_numpy(t)).numpy()
    np.testing.assert_allclose(ours.add_noise(x0, noise, t), expected, rtol=1e-5, atol=1e-6)
    # Running the one-step chain q(x_t|x_{t-1}) gives the closed form's mean and variance.
    x = np.full((20000, 1), 2.0)
    for step in range(200):
        x = ours.forward_step(x, rng.standard_normal(x.shape), step)
    abar = ours.alphas_cumprod[199]
    assert x.mean() == pytest.approx(2.0 * np.sqrt(abar), abs=0.02)
    assert x.var() == pytest.approx(1 - abar, rel=0.03)


@pytest.mark.parametrize("steps", [1000, 50])
@pytest.mark.parametrize("variance_type", ["fixed_small", "fixed_large"])
def test_reverse_step_matches_diffusers(steps, variance_type):
    ours = DDPMScheduler(variance_type=variance_type)
    theirs = DiffusersDDPM(variance_type=variance_type)
    ours.set_timesteps(steps)
    theirs.set_timesteps(steps)
    np.testing.assert_array_equal(ours.timesteps, theirs.timesteps.numpy())
    rng = np.random.default_rng(1)
    for t in [int(ours.timesteps[0]), int(ours.timesteps[len(ours.timesteps) // 2]), 0]:
        x_t, eps = rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 3, 5))
        gen = torch.Generator().manual_seed(t)
        noise = torch.randn((2, 3, 5), generator=torch.Generator().manual_seed(t), dtype=torch.float64)
        out = theirs.step(torch.from_numpy(eps), t, torch.from_numpy(x_t), generator=gen)
        prev, x0_pred = ours.step(eps, t, x_t, noise=noise.numpy())
        np.testing.assert_allclose(prev, out.prev_sample.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(x0_pred, out.pred_original_sample.numpy(), rtol=1e-4, atol=1e-5)


def test_sampling_with_the_exact_denoiser_recovers_the_mixture():
    sched = DDPMScheduler(clip_sample=False)
    means = np.array([[-0.5, 0.5], [0.5, -0.5]])
    eps = gaussian_mixture_eps(sched, means, std=0.1, weights=[0.3, 0.7])
    x = sched.sample(eps, (4000, 2), random_state=0)
    right = x[:, 0] > 0
    assert right.mean() == pytest.approx(0.7, abs=0.03)
    np.testing.assert_allclose(x[right].mean(axis=0), means[1], atol=0.01)
    np.testing.assert_allclose(x[right].std(axis=0), [0.1, 0.1], rtol=0.1)


def test_training_example_and_bad_arguments():
    sched = DDPMScheduler()
    x0 = np.zeros((5, 2))
    x_t, t, noise = sched.training_example(x0, random_state=0)
    np.testing.assert_allclose(x_t, np.sqrt(1 - sched.alphas_cumprod[t])[:, None] * noise)
    with pytest.raises(ValueError, match="beta_schedule"):
        DDPMScheduler(beta_schedule="quadratic")
    with pytest.raises(ValueError, match="timesteps must be integers"):
        sched.add_noise(x0, x0, 1000)
    with pytest.raises(ValueError, match="num_inference_steps"):
        sched.set_timesteps(0)
