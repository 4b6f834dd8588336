"""``grimoire.diffusion``: denoising diffusion probabilistic models (primer 7.2).

Forward process (fixed): q(x_t | x_{t-1}) = N(x_t; sqrt(1 - beta_t) x_{t-1}, beta_t I), which
composes to q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I), abar_t = prod_{s<=t} (1 - beta_s).
Reverse process (learned): p_theta(x_{t-1} | x_t) = N(mu_theta(x_t, t), sigma_t^2 I), with
mu_theta written through a noise prediction eps_theta(x_t, t):
    mu_theta = (x_t - beta_t / sqrt(1 - abar_t) * eps_theta) / sqrt(alpha_t).
The scheduler follows diffusers' ``DDPMScheduler`` (same parameter names, the same "leading"
timestep spacing), so its numbers can be checked against it. Any callable
``model(x_t, t) -> eps`` can drive :meth:`DDPMScheduler.sample`; :func:`gaussian_mixture_eps`
is the exact optimal denoiser for a Gaussian mixture, which needs no training.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np


def _alpha_bar_cosine(t: float) -> float:
    return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2


class DDPMScheduler:
    """Noise schedule, forward noising and the ancestral reverse step of DDPM.

    ``beta_schedule``: "linear" (beta from ``beta_start`` to ``beta_end``), "scaled_linear"
    (linear in sqrt(beta)) or "squaredcos_cap_v2" (the cosine schedule of Nichol & Dhariwal:
    abar(t) = cos^2((t/T + 0.008)/1.008 * pi/2), betas capped at 0.999).
    ``variance_type``: "fixed_small" (sigma_t^2 = beta_tilde_t, the posterior variance) or
    "fixed_large" (sigma_t^2 = beta_t). ``clip_sample`` clips the predicted x_0 to
    [-clip_sample_range, clip_sample_range] before the step, as diffusers does by default.
    """

    def __init__(self, num_train_timesteps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02,
                 beta_schedule: str = "linear", variance_type: str = "fixed_small", clip_sample: bool = True,
                 clip_sample_range: float = 1.0):
        if num_train_timesteps < 1:
            raise ValueError(f"num_train_timesteps must be >= 1, got {num_train_timesteps}")
        if variance_type not in ("fixed_small", "fixed_large"):
            raise ValueError(f"variance_type must be 'fixed_small' or 'fixed_large', got {variance_type!r}")
        n = num_train_timesteps
        if beta_schedule == "linear":
            betas = np.linspace(beta_start, beta_end, n)
        elif beta_schedule == "scaled_linear":
            betas = np.linspace(beta_start ** 0.5, beta_end ** 0.5, n) ** 2
        elif beta_schedule == "squaredcos_cap_v2":
            betas = np.array([min(1 - _alpha_bar_cosine((i + 1) / n) / _alpha_bar_cosine(i / n), 0.999)
                              for i in range(n)])
        else:
            raise ValueError("beta_schedule must be 'linear', 'scaled_linear' or 'squaredcos_cap_v2', "
                             f"got {beta_schedule!r}")
        if not (np.all(betas > 0) and np.all(betas < 1)):
            raise ValueError("every beta_t must lie in (0, 1)")
        self.num_train_timesteps = n
        self.variance_type = variance_type
        self.clip_sample, self.clip_sample_range = clip_sample, clip_sample_range
        self.betas = betas
        self.alphas = 1.0 - betas
        self.alphas_cumprod = np.cumprod(self.alphas)
        self.set_timesteps(n)

    def set_timesteps(self, num_inference_steps: int) -> None:
        """The reverse-process timesteps: every ``T / steps``-th one, "leading" spacing
        (t = 0, r, 2r, ... reversed), as diffusers."""
        if not 1 <= num_inference_steps <= self.num_train_timesteps:
            raise ValueError(f"num_inference_steps must be in [1, {self.num_train_timesteps}], "
                             f"got {num_inference_steps}")
        self.num_inference_steps = num_inference_steps
        ratio = self.num_train_timesteps // num_inference_steps
        self.timesteps = (np.arange(num_inference_steps) * ratio).round()[::-1].astype(np.int64)

    def _check_t(self, t) -> np.ndarray:
        t = np.asarray(t)
        if not np.issubdtype(t.dtype, np.integer) or np.any(t < 0) or np.any(t >= self.num_train_timesteps):
            raise ValueError(f"timesteps must be integers in [0, {self.num_train_timesteps}), got {t}")
        return t

    def add_noise(self, x0: np.ndarray, noise: np.ndarray, t) -> np.ndarray:
        """A sample of q(x_t | x_0): sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise. ``t`` is a scalar
        or one timestep per row of x0."""
        t = self._check_t(t)
        abar = self.alphas_cumprod[t].reshape(t.shape + (1,) * (np.ndim(x0) - t.ndim))
        return np.sqrt(abar) * x0 + np.sqrt(1 - abar) * noise

    def forward_step(self, x_prev: np.ndarray, noise: np.ndarray, t: int) -> np.ndarray:
        """One step of the forward chain, q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I)."""
        t = int(self._check_t(t))
        return math.sqrt(1 - self.betas[t]) * x_prev + math.sqrt(self.betas[t]) * noise

    def _previous(self, t: int) -> int:
        return t - self.num_train_timesteps // self.num_inference_steps

    def step(self, model_output: np.ndarray, t: int, x_t: np.ndarray, noise: np.ndarray | None = None,
             random_state=None) -> tuple[np.ndarray, np.ndarray]:
        """One reverse step x_t -> x_{t_prev} given the predicted noise; returns (x_prev, x0_pred).

        x0_pred = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t), then the posterior mean
        mu = sqrt(abar_prev) beta'_t / (1 - abar_t) x0_pred + sqrt(alpha'_t)(1 - abar_prev)/(1 - abar_t) x_t
        (alpha'_t = abar_t / abar_prev, beta'_t = 1 - alpha'_t: equal to alpha_t, beta_t with all
        steps) plus sigma_t z, z ~ N(0, I) (no noise at the last step).
        """
        t = int(self._check_t(t))
        prev = self._previous(t)
        abar_t = self.alphas_cumprod[t]
        abar_prev = self.alphas_cumprod[prev] if prev >= 0 else 1.0
        alpha_t = abar_t / abar_prev
        beta_t = 1 - alpha_t
        x0_pred = (x_t - math.sqrt(1 - abar_t) * model_output) / math.sqrt(abar_t)
        if self.clip_sample:
            x0_pred = np.clip(x0_pred, -self.clip_sample_range, self.clip_sample_range)
        mean = (math.sqrt(abar_prev) * beta_t / (1 - abar_t)) * x0_pred + \
               (math.sqrt(alpha_t) * (1 - abar_prev) / (1 - abar_t)) * x_t
        if t == 0:
            return mean, x0_pred
        if self.variance_type == "fixed_small":
            variance = max((1 - abar_prev) / (1 - abar_t) * beta_t, 1e-20)
        else:
            variance = beta_t
        if noise is None:
            noise = np.random.default_rng(random_state).standard_normal(np.shape(x_t))
        return mean + math.sqrt(variance) * noise, x0_pred

    def sample(self, model: Callable[[np.ndarray, int], np.ndarray], shape: tuple[int, ...],
               num_inference_steps: int | None = None, random_state=None) -> np.ndarray:
        """Ancestral sampling: x_T ~ N(0, I), then ``step`` down to t = 0."""
        rng = np.random.default_rng(random_state)
        if num_inference_steps is not None:
            self.set_timesteps(num_inference_steps)
        x = rng.standard_normal(shape)
        for t in self.timesteps:
            x, _ = self.step(model(x, int(t)), int(t), x, noise=rng.standard_normal(shape))
        return x

    def training_example(self, x0: np.ndarray,
                         random_state=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x_t, t, noise) for the simple DDPM loss ||noise - eps_theta(x_t, t)||^2: a uniform
        timestep per row of x0 and fresh Gaussian noise."""
        rng = np.random.default_rng(random_state)
        t = rng.integers(0, self.num_train_timesteps, size=x0.shape[0])
        noise = rng.standard_normal(x0.shape)
        return self.add_noise(x0, noise, t), t, noise


def gaussian_mixture_eps(scheduler: DDPMScheduler, means: np.ndarray, std: float,
                         weights: np.ndarray | None = None) -> Callable[[np.ndarray, int], np.ndarray]:
    """The optimal noise predictor E[eps | x_t] when the data are a mixture of isotropic
    Gaussians N(m_k, std^2 I): x_t given component k is N(sqrt(abar) m_k, s_t^2 I) with
    s_t^2 = abar std^2 + 1 - abar, so
        E[eps | x_t] = sqrt(1 - abar) * sum_k r_k(x_t) (x_t - sqrt(abar) m_k) / s_t^2
    with r_k the posterior responsibility of component k. No training needed: a reference for
    testing samplers, and what a trained network approximates."""
    means = np.atleast_2d(np.asarray(means, dtype=np.float64))
    k = means.shape[0]
    log_w = np.log(np.full(k, 1.0 / k) if weights is None else np.asarray(weights, dtype=np.float64))

    def eps(x_t: np.ndarray, t: int) -> np.ndarray:
        abar = scheduler.alphas_cumprod[t]
        var = abar * std ** 2 + 1 - abar
        diff = x_t[:, None, :] - math.sqrt(abar) * means[None, :, :]  # (n, k, d)
        logits = log_w - 0.5 * np.sum(diff ** 2, axis=2) / var
        r = np.exp(logits - logits.max(axis=1, keepdims=True))
        r /= r.sum(axis=1, keepdims=True)
        return math.sqrt(1 - abar) * np.einsum("nk,nkd->nd", r, diff) / var

    return eps
