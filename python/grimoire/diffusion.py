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
import os
from collections.abc import Callable
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from ._typing import Seed


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

    def add_noise(self, x0: np.ndarray, noise: np.ndarray, t: int | ArrayLike) -> np.ndarray:
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
             random_state: Seed = None) -> tuple[np.ndarray, np.ndarray]:
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
               num_inference_steps: int | None = None, random_state: Seed = None) -> np.ndarray:
        """Ancestral sampling: x_T ~ N(0, I), then ``step`` down to t = 0."""
        rng = np.random.default_rng(random_state)
        if num_inference_steps is not None:
            self.set_timesteps(num_inference_steps)
        x = rng.standard_normal(shape)
        for t in self.timesteps:
            x, _ = self.step(model(x, int(t)), int(t), x, noise=rng.standard_normal(shape))
        return x

    def training_example(self, x0: np.ndarray,
                         random_state: Seed = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


# ======================================================================== a trained denoiser
# A noise-prediction UNet eps_theta(x_t, t, y), its DDPM training loop (epsilon MSE, EMA of the
# weights), DDPM and DDIM samplers with classifier-free guidance, and safetensors save/load.


def _unet_parts():
    """The nn pieces, imported late so that the scheduler above needs only NumPy."""
    from . import autograd as ag
    from .nn import functional as F
    from .nn.conv import Conv2d
    from .nn.layers_ext import GroupNorm, interpolate
    from .nn.linear import Embedding, Linear
    from .nn.module import Module

    return ag, F, Conv2d, GroupNorm, interpolate, Embedding, Linear, Module


def timestep_embedding(t: np.ndarray, dim: int) -> np.ndarray:
    """Sinusoidal embedding of integer timesteps (Vaswani et al., as in DDPM):
    [sin(t w_k), cos(t w_k)], w_k = 10000^(-k / (dim / 2)), k = 0 .. dim/2 - 1. Shape (len(t), dim)."""
    half = dim // 2
    freqs = np.exp(-math.log(10000.0) * np.arange(half) / half)
    args = np.asarray(t, np.float64)[:, None] * freqs[None]
    return np.concatenate([np.sin(args), np.cos(args)], axis=1).astype(np.float32)


def _build_unet(channels: int, base: int, num_classes: int):
    ag, F, Conv2d, GroupNorm, interpolate, Embedding, Linear, Module = _unet_parts()

    class ResBlock(Module):
        """GroupNorm -> SiLU -> conv 3x3, + the time(+class) embedding per channel, GroupNorm ->
        SiLU -> conv 3x3, plus the input (through a 1x1 conv when the width changes)."""

        def __init__(self, cin: int, cout: int, emb: int):
            super().__init__()
            self.norm1, self.conv1 = GroupNorm(min(8, cin), cin), Conv2d(cin, cout, 3, padding=1)
            self.emb = Linear(emb, cout)
            self.norm2, self.conv2 = GroupNorm(min(8, cout), cout), Conv2d(cout, cout, 3, padding=1)
            self.skip = Conv2d(cin, cout, 1) if cin != cout else None

        def forward(self, x, emb):
            h = self.conv1(self.norm1(x).silu())
            h = h + self.emb(emb).reshape(emb.shape[0], -1, 1, 1)
            h = self.conv2(self.norm2(h).silu())
            return h + (self.skip(x) if self.skip is not None else x)

    class SelfAttention(Module):
        """Multi-head self-attention over the H W positions (the core's attention kernel), in a
        residual around a GroupNorm."""

        def __init__(self, ch: int, heads: int = 4):
            super().__init__()
            self.norm, self.heads = GroupNorm(min(8, ch), ch), heads
            self.qkv, self.out = Linear(ch, 3 * ch), Linear(ch, ch)

        def forward(self, x):
            n, c, h, w = x.shape
            tokens = self.norm(x).reshape(n, c, h * w).transpose(1, 2)  # (N, HW, C)
            q, k, v = F.split(self.qkv(tokens), [c, c, c], -1)
            q, k, v = (z.reshape(n, h * w, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
            o = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(n, h * w, c)
            return x + self.out(o).transpose(1, 2).reshape(n, c, h, w)

    class UNet(Module):
        """eps_theta(x_t, t, y) for (N, channels, H, W) images, H and W even: conv in; a residual
        block at full resolution; a stride-2 conv down; residual block, self-attention, residual
        block at half resolution; nearest up-sampling and a conv; concatenation with the skip;
        a residual block; GroupNorm, SiLU, conv out. Embedding: sinusoidal(t) -> Linear -> SiLU
        -> Linear, plus a learned class embedding (index num_classes = "no class", for
        classifier-free guidance)."""

        def __init__(self):
            super().__init__()
            emb = 2 * base
            self.base, self.num_classes = base, num_classes
            self.time1, self.time2 = Linear(base, emb), Linear(emb, emb)
            self.label = Embedding(num_classes + 1, emb) if num_classes else None
            self.conv_in = Conv2d(channels, base, 3, padding=1)
            self.down_block = ResBlock(base, base, emb)
            self.down = Conv2d(base, 2 * base, 3, stride=2, padding=1)
            self.mid1, self.mid2 = ResBlock(2 * base, 2 * base, emb), ResBlock(2 * base, 2 * base, emb)
            self.attn = SelfAttention(2 * base)
            self.up = Conv2d(2 * base, base, 3, padding=1)
            self.up_block = ResBlock(2 * base, base, emb)
            self.norm_out, self.conv_out = GroupNorm(min(8, base), base), Conv2d(base, channels, 3, padding=1)

        def forward(self, x, t, y=None):
            emb = self.time2(self.time1(ag.Tensor(timestep_embedding(t, self.base))).silu())
            if self.label is not None:
                emb = emb + self.label(np.asarray(y if y is not None else np.full(len(t), self.num_classes)))
            h0 = self.conv_in(x)
            h1 = self.down_block(h0, emb)
            h = self.mid2(self.attn(self.mid1(self.down(h1), emb)), emb)
            h = self.up(interpolate(h, scale_factor=2, mode="nearest"))
            h = self.up_block(ag.cat([h, h1], axis=1), emb)
            return self.conv_out(self.norm_out(h).silu())

    return UNet()


class DiffusionModel:
    """A class-conditional DDPM (primer 7.2) on small images: a :class:`DDPMScheduler`, a UNet
    eps_theta, and an exponential moving average of its weights used for sampling.

    ``fit(X, y)`` minimises E ||eps - eps_theta(sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, t, y)||^2
    over uniform t, with the label replaced by "no class" with probability ``p_uncond`` (so one
    network is both conditional and unconditional), AdamW, and EMA
    theta_ema <- d theta_ema + (1 - d) theta. ``sample(labels, guidance_scale)``: DDPM
    (ancestral) or DDIM (``eta``) steps on eps = eps_u + w (eps_c - eps_u). X: (N, C, H, W) in
    [-1, 1]; y: ints in [0, num_classes).

    Unconditional samples come from the null-class branch alone, so their class mix is only as
    good as that branch. On the 8x8 digits an under-trained model draws blurry samples with too
    much ink, which a classifier reads as 8 (500 steps of 128: 20% of 1000 samples, their nearest
    real digit an 8 only half the time); 1000 steps and ``p_uncond = 0.2`` (twice the null-label
    examples of the usual 0.1) bring every class into 5-15% (measured, seed 0, 1000 samples:
    5.8% to 14.0%). More sampling steps, DDPM or DDIM with eta = 1 do not (19-25% 8s on the
    500-step model).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 8, 8),
        num_classes: int = 10,
        base_channels: int = 32,
        num_train_timesteps: int = 200,
        beta_schedule: str = "squaredcos_cap_v2",
        p_uncond: float = 0.2,
        ema_decay: float = 0.995,
        seed: int = 0,
    ):
        if len(image_shape) != 3 or image_shape[1] % 2 or image_shape[2] % 2:
            raise ValueError(f"image_shape must be (C, H, W) with H and W even, got {image_shape}")
        if not 0 <= p_uncond < 1:
            raise ValueError(f"p_uncond must be in [0, 1), got {p_uncond}")
        self.image_shape, self.num_classes, self.base_channels = (
            tuple(image_shape),
            num_classes,
            base_channels,
        )
        self.p_uncond, self.ema_decay, self.seed = p_uncond, ema_decay, seed
        schedule = "linear" if beta_schedule == "linear" else beta_schedule
        self.beta_schedule, self.num_train_timesteps = schedule, num_train_timesteps
        kw = (
            dict(beta_start=1e-4 * 1000 / num_train_timesteps, beta_end=0.02 * 1000 / num_train_timesteps)
            if schedule == "linear"
            else {}
        )
        self.scheduler = DDPMScheduler(num_train_timesteps, beta_schedule=schedule, **kw)
        from . import autograd as ag

        ag.manual_seed(seed)
        self.net = _build_unet(image_shape[0], base_channels, num_classes)
        self.ema = _build_unet(image_shape[0], base_channels, num_classes)
        self.ema.load_state_dict(self.net.state_dict())

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray | None = None,
        steps: int = 2000,
        batch_size: int = 128,
        lr: float = 2e-3,
        verbose: bool | None = None,
    ) -> DiffusionModel:
        """``steps`` AdamW steps on mini-batches of (X, y); returns self (``loss_history_``)."""
        from tqdm.auto import tqdm

        from . import optim
        from .autograd import Tensor

        X = np.asarray(X, np.float32)
        if X.ndim != 4 or X.shape[1:] != self.image_shape:
            raise ValueError(f"X must have shape (N, {', '.join(map(str, self.image_shape))}), got {X.shape}")
        y = self._labels(y, X.shape[0]) if self.num_classes else None
        rng = np.random.default_rng(self.seed)
        opt = optim.AdamW(self.net.parameters(), lr=lr, weight_decay=0.0)
        sched = optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        params = list(self.net.parameters())
        ema = list(self.ema.parameters())
        self.loss_history_ = []
        for _ in tqdm(
            range(steps), disable=None if verbose is None else not verbose, desc="ddpm", leave=False
        ):
            idx = rng.integers(0, X.shape[0], batch_size)
            x0 = X[idx]
            t = rng.integers(0, self.num_train_timesteps, batch_size)
            noise = rng.standard_normal(x0.shape).astype(np.float32)
            xt = self.scheduler.add_noise(x0, noise, t).astype(np.float32)
            labels = None
            if y is not None:
                labels = np.where(rng.random(batch_size) < self.p_uncond, self.num_classes, y[idx])
            diff = self.net(Tensor(xt), t, labels) - Tensor(noise)
            loss = (diff * diff).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            for pe, p in zip(ema, params, strict=True):
                pe.data = self.ema_decay * pe.data + (1 - self.ema_decay) * p.data
            self.loss_history_.append(loss.item())
        return self

    def _labels(self, labels, n: int) -> np.ndarray:
        labels = np.asarray(labels)
        if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(
                f"labels must be {n} integers, got shape {labels.shape} and dtype {labels.dtype}"
            )
        bad = labels[(labels < 0) | (labels >= self.num_classes)]
        if bad.size:
            raise ValueError(
                f"labels must be classes the model was trained on, 0 .. {self.num_classes - 1}; "
                f"got {sorted(set(bad.tolist()))}"
            )
        return labels

    def _eps(self, x: np.ndarray, t: int, labels: np.ndarray | None, guidance_scale: float) -> np.ndarray:
        from .autograd import Tensor, no_grad

        n = x.shape[0]
        tt = np.full(n, t)
        with no_grad():
            if labels is None or not self.num_classes:
                return self.ema(Tensor(x.astype(np.float32)), tt, None).data
            both = self.ema(
                Tensor(np.concatenate([x, x]).astype(np.float32)),
                np.r_[tt, tt],
                np.r_[labels, np.full(n, self.num_classes)],
            ).data
        cond, uncond = both[:n], both[n:]
        return uncond + guidance_scale * (cond - uncond)

    def sample(
        self,
        labels: ArrayLike | None = None,
        n: int | None = None,
        guidance_scale: float = 2.0,
        method: Literal["ddpm", "ddim"] = "ddim",
        num_inference_steps: int = 50,
        eta: float = 0.0,
        random_state: Seed = None,
        return_trajectory: bool = False,
    ) -> np.ndarray | tuple[np.ndarray, list[np.ndarray]]:
        """Images (N, C, H, W) in [-1, 1]: for class ``labels`` (N ints), or ``n`` unconditional ones.
        method="ddpm": ancestral steps; "ddim": x_prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev -
        sigma^2) eps + sigma z, sigma = eta sqrt((1 - abar_prev)/(1 - abar_t) (1 - abar_t / abar_prev))
        (eta = 0: deterministic). With ``return_trajectory``, also the list of x0 predictions."""
        if method not in ("ddpm", "ddim"):
            raise ValueError(f"method must be 'ddpm' or 'ddim', got {method!r}")
        if labels is not None:
            if not self.num_classes:
                raise ValueError("labels given, but the model was trained without classes")
            labels = self._labels(labels, len(np.asarray(labels)))
            n = labels.shape[0]
        elif n is None or n < 1:
            raise ValueError("give labels, or n >= 1 for unconditional samples")
        rng = np.random.default_rng(random_state)
        s = self.scheduler
        s.set_timesteps(num_inference_steps)
        x = rng.standard_normal((n, *self.image_shape))
        trajectory = []
        for t in s.timesteps:
            eps = self._eps(x, int(t), labels, guidance_scale)
            if method == "ddpm":
                x, x0 = s.step(eps, int(t), x, noise=rng.standard_normal(x.shape))
            else:
                x, x0 = self._ddim_step(eps, int(t), x, eta, rng)
            trajectory.append(x0)
        x = np.clip(x, -1, 1)
        return (x, trajectory) if return_trajectory else x

    def _ddim_step(self, eps, t, x, eta, rng):
        s = self.scheduler
        prev = s._previous(t)
        abar_t = s.alphas_cumprod[t]
        abar_prev = s.alphas_cumprod[prev] if prev >= 0 else 1.0
        x0 = np.clip((x - math.sqrt(1 - abar_t) * eps) / math.sqrt(abar_t), -1, 1)
        eps = (x - math.sqrt(abar_t) * x0) / math.sqrt(1 - abar_t)  # consistent with the clipped x0
        sigma = eta * math.sqrt((1 - abar_prev) / (1 - abar_t) * (1 - abar_t / abar_prev))
        x_prev = math.sqrt(abar_prev) * x0 + math.sqrt(max(1 - abar_prev - sigma**2, 0.0)) * eps
        if sigma > 0:
            x_prev = x_prev + sigma * rng.standard_normal(x.shape)
        return x_prev, x0

    def save(self, path: str | os.PathLike) -> None:
        """Both weight sets and the configuration in one safetensors file (atomically, no pickle):
        the trained network under ``net.``, its EMA under ``ema.``, and every constructor argument
        in the metadata, so ``load`` gives a model that samples and continues training exactly as
        this one (``fit`` builds its optimizer afresh on each call, here and after a load)."""
        from .nn.module import save_safetensors

        meta = {
            "format": "net+ema",
            "image_shape": ",".join(map(str, self.image_shape)),
            "num_classes": str(self.num_classes),
            "base_channels": str(self.base_channels),
            "num_train_timesteps": str(self.num_train_timesteps),
            "beta_schedule": self.beta_schedule,
            "p_uncond": repr(float(self.p_uncond)),
            "ema_decay": repr(float(self.ema_decay)),
            "seed": str(self.seed),
        }
        tensors = {f"net.{k}": v for k, v in self.net.state_dict().items()}
        tensors.update({f"ema.{k}": v for k, v in self.ema.state_dict().items()})
        save_safetensors(tensors, path, metadata=meta)

    @classmethod
    def load(cls, path: str | os.PathLike) -> DiffusionModel:
        """The model written by :meth:`save`. A file of the earlier format (EMA weights only) loads
        with a warning: its training network starts from the EMA weights."""
        from safetensors import safe_open

        from .nn.module import load_safetensors

        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
        try:
            model = cls(
                tuple(int(v) for v in meta["image_shape"].split(",")),
                int(meta["num_classes"]),
                int(meta["base_channels"]),
                int(meta["num_train_timesteps"]),
                meta["beta_schedule"],
                **{
                    k: conv(meta[k])
                    for k, conv in (
                        ("p_uncond", float),
                        ("ema_decay", float),
                        ("seed", lambda v: None if v == "None" else int(v)),
                    )
                    if k in meta
                },
            )
        except KeyError as e:
            raise ValueError(f"{path} is not a DiffusionModel file (no {e} in its metadata)") from None
        state = load_safetensors(path)
        if meta.get("format") == "net+ema":
            for name, module in (("net", model.net), ("ema", model.ema)):
                n = len(name) + 1
                module.load_state_dict({k[n:]: v for k, v in state.items() if k.startswith(name + ".")})
        else:
            import warnings

            warnings.warn(
                f"{path} holds only the EMA weights (written before save kept both): training "
                "continues from the EMA weights, not from the trained network",
                UserWarning,
                stacklevel=2,
            )
            model.ema.load_state_dict(state)
            model.net.load_state_dict(state)
        return model
