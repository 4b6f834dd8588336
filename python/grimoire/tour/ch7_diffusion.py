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


@section("7.2.1", "A diffusion model that learns the digits", "grimoire.diffusion.DiffusionModel")
def diffusion_digits(t: Tour) -> None:
    from sklearn.datasets import load_digits
    from sklearn.svm import SVC

    from grimoire.diffusion import DiffusionModel

    from . import pyplot

    digits = load_digits()
    X = (digits.data / 16.0 * 2 - 1).reshape(-1, 1, 8, 8).astype(np.float32)
    steps = 60 if t.quick else 1000
    cache = t.plot_path(f"7.2.1_ddpm_digits_{steps}.safetensors")
    if cache.exists():
        model = DiffusionModel.load(cache)
        t.say(f"a class-conditional UNet (GroupNorm, SiLU, attention at 4x4) loaded from {cache}")
    else:
        model = DiffusionModel(base_channels=32)
        t.say(f"training a class-conditional UNet eps(x_t, t, y) on the 1797 digits: {steps} AdamW steps of "
              f"128, cosine schedule over 200 timesteps, labels dropped {model.p_uncond:.0%} of the time "
              "(the null class, which unconditional sampling uses), EMA of the weights")
        model.fit(X, digits.target, steps=steps)
        model.save(cache)
        t.say(f"  loss ||eps - eps_theta||^2: {np.mean(model.loss_history_[:10]):.3f} at the start, "
              f"{np.mean(model.loss_history_[-50:]):.3f} at the end; weights cached in {cache}")
    svc = SVC().fit(digits.data, digits.target)

    def read(s: np.ndarray) -> np.ndarray:  # samples in [-1, 1] back to the digits' 0..16 pixels
        return svc.predict(((s + 1) * 8).reshape(len(s), 64))

    labels = np.repeat(np.arange(10), 10)
    for w in (1.0, 3.0):
        s = model.sample(labels, guidance_scale=w, num_inference_steps=50, random_state=0)
        acc = np.mean(read(s) == labels)
        t.say(f"DDIM, 50 steps, guidance scale {w}: an SVC fitted on the real digits reads {acc:.0%} of the "
              "100 samples as the class asked for")
    # 1000 samples: a class share of 10% is then measured to +-1 point (binomial standard error),
    # so a class outside 5-15% is the model's, not the sample's, doing
    n_free = 200 if t.quick else 1000
    free = read(model.sample(n=n_free, num_inference_steps=50, random_state=2))
    share = np.bincount(free, minlength=10) / n_free
    inside = (share >= 0.05) & (share <= 0.15)
    t.say(f"{n_free} unconditional samples (no class given, the null-class prediction), as the SVC reads "
          "them (the real digits: 10% each; standard error of a 10% share "
          f"{np.sqrt(0.1 * 0.9 / n_free):.1%}):")
    t.say("  " + ", ".join(f"{c}: {p:.1%}{'' if ok else ' (outside 5-15%)'}"
                           for c, (p, ok) in enumerate(zip(share, inside, strict=True))))
    t.say(f"  {int(inside.sum())} of 10 classes hold 5-15% of them")
    plt = pyplot()
    if plt is None:
        return
    grid, trajectory = model.sample(np.arange(10), guidance_scale=3.0, num_inference_steps=50, random_state=1,
                                    return_trajectory=True)
    fig, axes = plt.subplots(2, 10, figsize=(12, 2.6))
    for i in range(10):
        axes[0, i].imshow(grid[i, 0], cmap="gray_r", vmin=-1, vmax=1)
        axes[0, i].set_title(str(i))
        k = min(len(trajectory) - 1, i * len(trajectory) // 9)
        axes[1, i].imshow(trajectory[k][7, 0], cmap="gray_r", vmin=-1, vmax=1)
        axes[1, i].set_title(f"step {k}", fontsize=7)
    for ax in axes.ravel():
        ax.axis("off")
    path = t.plot_path("7.2.1_ddpm_digits.png")
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    t.say(f"plot: {path} (top: one sample per class; bottom: the predicted x_0 of a 7 along the 50 steps)")
