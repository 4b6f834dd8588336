"""Tour, primer 7.2: diffusion models."""

from __future__ import annotations

import numpy as np

from . import Tour, section


@section("7.2", "Diffusion models: forward noising, reverse denoising", "grimoire.diffusion")
def diffusion(t: Tour) -> None:
    from grimoire.diffusion import DDPMScheduler, gaussian_mixture_eps

    sched = DDPMScheduler(1000, beta_schedule="linear", clip_sample=False)
    t.say("forward: q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I), beta from 1e-4 to 0.02")
    t.say("         so q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I)")
    for step in (0, 100, 250, 500, 999):
        t.say(f"  t = {step:4d}: signal weight sqrt(abar_t) = {np.sqrt(sched.alphas_cumprod[step]):.4f}, "
              f"noise variance 1 - abar_t = {1 - sched.alphas_cumprod[step]:.4f}")
    means = np.array([[-0.5, 0.5], [0.5, -0.5]])
    eps = gaussian_mixture_eps(sched, means, std=0.1, weights=[0.3, 0.7])
    x = sched.sample(eps, (2000, 2), random_state=0)
    right = x[:, 0] > 0
    t.say("reverse: p(x_{t-1} | x_t) = N(mu(x_t, t), sigma_t^2 I), mu from the predicted noise eps(x_t, t)")
    t.say("with the exact eps of a two-blob mixture (30% at (-0.5, 0.5), 70% at (0.5, -0.5), std 0.1),")
    t.say(f"1000 reverse steps from pure noise land {right.mean():.0%} of 2000 samples in the second blob, "
          f"its mean {x[right].mean(axis=0).round(3)} and std {x[right].std(axis=0).round(3)}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        t.say("(matplotlib not installed: no plot)")
        return
    rng = np.random.default_rng(0)
    x0 = means[(rng.random(2000) < 0.7).astype(int)] + 0.1 * rng.standard_normal((2000, 2))
    fig, axes = plt.subplots(1, 5, figsize=(15, 3))
    for ax, step in zip(axes[:4], (0, 200, 500, 999), strict=True):
        xt = sched.add_noise(x0, rng.standard_normal(x0.shape), step)
        ax.scatter(xt[:, 0], xt[:, 1], s=1)
        ax.set_title(f"forward, t = {step}")
    axes[4].scatter(x[:, 0], x[:, 1], s=1, color="C3")
    axes[4].set_title("reverse: samples")
    for ax in axes:
        ax.set_xlim(-3.5, 3.5)
        ax.set_ylim(-3.5, 3.5)
    path = t.plot_path("7.2_diffusion.png")
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    t.say(f"plot: {path}")
