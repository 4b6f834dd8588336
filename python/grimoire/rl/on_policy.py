"""On-policy actor-critic agents (primer 4.3.2): PPO, A2C and REINFORCE with a learned baseline.

All three collect ``n_steps`` steps from each of ``n_envs`` environments with the current policy
(one batched forward per vector step, no graph), score every step with GAE(lambda) (``losses.gae``:
a truncated episode is bootstrapped from V of its final observation, a terminated one is not),
then descend

    loss = policy_loss + vf_coef * mean((V(s) - R)^2) - ent_coef * mean(H[pi(.|s)])

with gradients clipped to ``max_grad_norm``. They differ in the policy loss and in how the
rollout is used: PPO takes ``n_epochs`` passes over shuffled minibatches with the clipped
surrogate; A2C and REINFORCE take one step on the whole rollout with -mean(A log pi(a|s)),
A2C on short rollouts (n_steps=5) bootstrapped by the critic, REINFORCE on long ones with
Monte-Carlo returns (lambda = 1), the critic acting only as the baseline.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import optim
from ..autograd import Tensor
from ..train import clip_grad_norm_
from .base import BaseAlgorithm, EnvLike
from .losses import gae, ppo_policy_loss, value_loss
from .policies import ActorCriticPolicy


def _positive_int(name: str, value) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _in_range(name: str, value, low: float, high: float) -> float:
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}")
    return float(value)


class OnPolicyAlgorithm(BaseAlgorithm):
    """The rollout, GAE and the update loop; subclasses pick the policy loss and the optimizer."""

    _hyper = (
        "learning_rate",
        "n_steps",
        "batch_size",
        "n_epochs",
        "gamma",
        "gae_lambda",
        "ent_coef",
        "vf_coef",
        "max_grad_norm",
        "normalize_advantage",
        "anneal_lr",
    )

    def __init__(
        self,
        policy: str,
        env: EnvLike,
        *,
        learning_rate: float,
        n_steps: int,
        batch_size: int | None,
        n_epochs: int,
        gamma: float,
        gae_lambda: float,
        ent_coef: float,
        vf_coef: float,
        max_grad_norm: float | None,
        normalize_advantage: bool,
        anneal_lr: bool,
        n_envs: int,
        normalize_obs: bool,
        policy_kwargs: dict | None,
        seed: int | None,
        verbose: int,
    ):
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
        self.learning_rate = float(learning_rate)
        self.n_steps = _positive_int("n_steps", n_steps)
        self.batch_size = None if batch_size is None else _positive_int("batch_size", batch_size)
        self.n_epochs = _positive_int("n_epochs", n_epochs)
        self.gamma = _in_range("gamma", gamma, 0.0, 1.0)
        self.gae_lambda = _in_range("gae_lambda", gae_lambda, 0.0, 1.0)
        self.ent_coef, self.vf_coef = float(ent_coef), float(vf_coef)
        if max_grad_norm is not None and not max_grad_norm > 0:
            raise ValueError(f"max_grad_norm must be > 0 or None, got {max_grad_norm!r}")
        self.max_grad_norm = max_grad_norm
        self.normalize_advantage, self.anneal_lr = bool(normalize_advantage), bool(anneal_lr)
        super().__init__(
            policy,
            env,
            n_envs=n_envs,
            seed=seed,
            normalize_obs=normalize_obs,
            policy_kwargs=policy_kwargs,
            verbose=verbose,
        )

    def _build(self) -> None:
        try:
            self.policy = ActorCriticPolicy(
                self.obs_dim, self.action_dim, self.discrete, seed=self.seed, **self.policy_kwargs
            )
        except TypeError as exc:
            raise TypeError(f"policy_kwargs: {exc}") from None
        self.optimizer = self._make_optimizer(list(self.policy.parameters()))

    def _networks(self):
        return {"policy": self.policy}

    def _make_optimizer(self, params) -> optim.Optimizer:
        return optim.Adam(params, lr=self.learning_rate, eps=1e-5)

    def _policy_actions(self, x, deterministic):
        return self.policy.act(x, self.rng, deterministic)[0]

    # ---------------------------------------------------------------- rollout
    def _collect(self, obs: np.ndarray, on_step: Callable[[], bool]) -> tuple[dict, np.ndarray, bool]:
        """``n_steps`` vector steps: the rollout as (T, N, ...) arrays with GAE's advantages and
        returns, the next observation, and whether a callback asked to stop."""
        T, N = self.n_steps, self.n_envs
        buf = {
            "obs": np.zeros((T, N, self.obs_dim), np.float32),
            "actions": np.zeros(
                (T, N) if self.discrete else (T, N, self.action_dim),
                np.int64 if self.discrete else np.float32,
            ),
        }
        for k in ("log_probs", "values", "rewards", "next_values"):
            buf[k] = np.zeros((T, N), np.float32)
        terminated, truncated = np.zeros((T, N), bool), np.zeros((T, N), bool)
        keep_going = True
        for t in range(T):
            x = self._prepare(obs, update=True)
            actions, log_probs, values = self.policy.act(x, self.rng)
            obs, rewards, term, trunc, info = self.env.step(self._env_action(actions))
            buf["obs"][t], buf["actions"][t], buf["log_probs"][t], buf["values"][t] = (
                x,
                actions,
                log_probs,
                values,
            )
            buf["rewards"][t], terminated[t], truncated[t] = rewards, term, trunc
            cut = np.flatnonzero(trunc & ~term)
            if cut.size:  # a time limit, not an ending: bootstrap from the final observation
                final = np.stack([info["final_obs"][i] for i in cut])
                buf["next_values"][t, cut] = self.policy.value(self._prepare(final))
            self._record(rewards, term | trunc)
            keep_going = on_step() and keep_going
        last = self.policy.value(self._prepare(obs))
        ends = terminated | truncated
        following = np.concatenate([buf["values"][1:], last[None]], axis=0)
        buf["next_values"] = np.where(ends, buf["next_values"], following)
        buf["advantages"], buf["returns"] = gae(
            buf["rewards"],
            buf["values"],
            buf["next_values"],
            terminated,
            truncated,
            self.gamma,
            self.gae_lambda,
        )
        return buf, obs, keep_going

    def _learn(self, end: int, on_step: Callable[[], bool]) -> None:
        obs = self._start()
        start = self.num_timesteps
        while self.num_timesteps < end:
            if self.anneal_lr:  # linear decay to 0 over this call's steps
                frac = 1.0 - (self.num_timesteps - start) / max(1, end - start)
                for g in self.optimizer.param_groups:
                    g["lr"] = self.learning_rate * frac
            buf, obs, keep_going = self._collect(obs, on_step)
            self._train({k: v.reshape(self.n_steps * self.n_envs, *v.shape[2:]) for k, v in buf.items()})
            if not keep_going:
                break

    # ---------------------------------------------------------------- update
    def _policy_loss(self, log_prob: Tensor, old_log_prob: np.ndarray, advantages: np.ndarray) -> Tensor:
        """-mean(A log pi(a|s)): the policy-gradient theorem's estimator (A2C, REINFORCE)."""
        return -(log_prob * Tensor(advantages)).mean()

    def _value_loss(self, values: Tensor, returns: np.ndarray, old_values: np.ndarray) -> Tensor:
        return value_loss(values, returns)

    def _train(self, data: dict[str, np.ndarray]) -> None:
        n = data["obs"].shape[0]
        batch = n if self.batch_size is None else min(self.batch_size, n)
        stats = {"policy_loss": [], "value_loss": [], "entropy": [], "approx_kl": []}
        for _ in range(self.n_epochs):
            order = self.rng.permutation(n) if batch < n else np.arange(n)
            for lo in range(0, n, batch):
                idx = order[lo : lo + batch]
                log_prob, entropy, values = self.policy.evaluate(data["obs"][idx], data["actions"][idx])
                adv = data["advantages"][idx]
                if self.normalize_advantage and adv.shape[0] > 1:
                    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                pg = self._policy_loss(log_prob, data["log_probs"][idx], adv)
                vl = self._value_loss(values, data["returns"][idx], data["values"][idx])
                ent = entropy.mean()
                loss = pg + vl * self.vf_coef - ent * self.ent_coef
                self.optimizer.zero_grad()
                loss.backward()
                if self.max_grad_norm is not None:
                    clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
                self.optimizer.step()
                log_ratio = log_prob.data - data["log_probs"][idx]
                stats["approx_kl"].append(float(np.mean(np.expm1(log_ratio) - log_ratio)))
                for k, v in (("policy_loss", pg), ("value_loss", vl), ("entropy", ent)):
                    stats[k].append(v.item())
        self.train_stats_ = {k: float(np.mean(v)) for k, v in stats.items()}


class PPO(OnPolicyAlgorithm):
    """Proximal policy optimisation (Schulman et al. 2017), Stable-Baselines3's defaults.

    Policy loss: the clipped surrogate -mean(min(rho A, clip(rho, 1 - eps, 1 + eps) A)),
    rho = pi(a|s) / pi_old(a|s) (``losses.ppo_policy_loss``); the value loss optionally clipped
    around the rollout's values (``clip_range_vf``); advantages normalised per minibatch.

    >>> model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, seed=0).learn(128, progress_bar=False)
    >>> int(model.predict(np.zeros(4, np.float32), deterministic=True)[0]) in (0, 1)
    True
    """

    _hyper = OnPolicyAlgorithm._hyper + ("clip_range", "clip_range_vf")

    def __init__(
        self,
        policy: str,
        env: EnvLike,
        learning_rate: float = 3e-4,
        n_steps: int = 2048,
        batch_size: int = 64,
        n_epochs: int = 10,
        gamma: float = 0.99,
        gae_lambda: float = 0.95,
        clip_range: float = 0.2,
        clip_range_vf: float | None = None,
        normalize_advantage: bool = True,
        ent_coef: float = 0.0,
        vf_coef: float = 0.5,
        max_grad_norm: float | None = 0.5,
        anneal_lr: bool = False,
        n_envs: int = 1,
        normalize_obs: bool = False,
        policy_kwargs: dict | None = None,
        seed: int | None = None,
        verbose: int = 0,
    ):
        if not clip_range > 0:
            raise ValueError(f"clip_range must be > 0, got {clip_range!r}")
        if clip_range_vf is not None and not clip_range_vf > 0:
            raise ValueError(f"clip_range_vf must be > 0 or None, got {clip_range_vf!r}")
        self.clip_range, self.clip_range_vf = float(clip_range), clip_range_vf
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            n_steps=n_steps,
            batch_size=batch_size,
            n_epochs=n_epochs,
            gamma=gamma,
            gae_lambda=gae_lambda,
            ent_coef=ent_coef,
            vf_coef=vf_coef,
            max_grad_norm=max_grad_norm,
            normalize_advantage=normalize_advantage,
            anneal_lr=anneal_lr,
            n_envs=n_envs,
            normalize_obs=normalize_obs,
            policy_kwargs=policy_kwargs,
            seed=seed,
            verbose=verbose,
        )

    def _policy_loss(self, log_prob, old_log_prob, advantages):
        return ppo_policy_loss(log_prob, old_log_prob, advantages, self.clip_range)

    def _value_loss(self, values, returns, old_values):
        return value_loss(values, returns, old_values, self.clip_range_vf)


class A2C(OnPolicyAlgorithm):
    """Advantage actor-critic (Mnih et al. 2016, synchronous), Stable-Baselines3's defaults:
    5-step rollouts, one RMSprop step (alpha 0.99, eps 1e-5) on each, GAE lambda = 1 (n-step
    returns bootstrapped by the critic)."""

    def __init__(
        self,
        policy: str,
        env: EnvLike,
        learning_rate: float = 7e-4,
        n_steps: int = 5,
        gamma: float = 0.99,
        gae_lambda: float = 1.0,
        ent_coef: float = 0.0,
        vf_coef: float = 0.5,
        max_grad_norm: float | None = 0.5,
        normalize_advantage: bool = False,
        anneal_lr: bool = False,
        n_envs: int = 1,
        normalize_obs: bool = False,
        policy_kwargs: dict | None = None,
        seed: int | None = None,
        verbose: int = 0,
    ):
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            n_steps=n_steps,
            batch_size=None,
            n_epochs=1,
            gamma=gamma,
            gae_lambda=gae_lambda,
            ent_coef=ent_coef,
            vf_coef=vf_coef,
            max_grad_norm=max_grad_norm,
            normalize_advantage=normalize_advantage,
            anneal_lr=anneal_lr,
            n_envs=n_envs,
            normalize_obs=normalize_obs,
            policy_kwargs=policy_kwargs,
            seed=seed,
            verbose=verbose,
        )

    def _make_optimizer(self, params):
        return optim.RMSprop(params, lr=self.learning_rate, alpha=0.99, eps=1e-5)


class REINFORCE(OnPolicyAlgorithm):
    """REINFORCE with a learned baseline (Williams 1992; primer 4.3.2): the policy gradient
    E[(G_t - V(s_t)) grad log pi(a_t|s_t)] with Monte-Carlo returns G_t (GAE lambda = 1) over long
    rollouts, one Adam step on each; V is trained to G_t and only lowers the variance. Where a
    rollout or a time limit cuts an unfinished episode, its tail is estimated by V."""

    def __init__(
        self,
        policy: str,
        env: EnvLike,
        learning_rate: float = 1e-2,
        n_steps: int = 500,
        gamma: float = 0.99,
        ent_coef: float = 0.0,
        vf_coef: float = 0.5,
        max_grad_norm: float | None = None,
        normalize_advantage: bool = True,
        anneal_lr: bool = False,
        n_envs: int = 4,
        normalize_obs: bool = False,
        policy_kwargs: dict | None = None,
        seed: int | None = None,
        verbose: int = 0,
    ):
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            n_steps=n_steps,
            batch_size=None,
            n_epochs=1,
            gamma=gamma,
            gae_lambda=1.0,
            ent_coef=ent_coef,
            vf_coef=vf_coef,
            max_grad_norm=max_grad_norm,
            normalize_advantage=normalize_advantage,
            anneal_lr=anneal_lr,
            n_envs=n_envs,
            normalize_obs=normalize_obs,
            policy_kwargs=policy_kwargs,
            seed=seed,
            verbose=verbose,
        )
