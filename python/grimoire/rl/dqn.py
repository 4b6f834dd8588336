"""Deep Q-networks (Mnih et al. 2015; primer 4.3.1 with a network for the Q-table)."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from .. import optim
from ..autograd import Tensor
from ..train import clip_grad_norm_
from .base import BaseAlgorithm, EnvLike
from .losses import dqn_loss, dqn_target
from .on_policy import _in_range, _positive_int
from .policies import QNetwork


class ReplayBuffer:
    """A ring of the last ``size`` transitions (s, a, r, s', terminated), sampled uniformly.
    Only ``terminated`` is stored: a time-limit truncation is not an ending, so its target
    still bootstraps from s' (the final observation, not the reset one)."""

    def __init__(self, size: int, obs_dim: int):
        self.size, self.pos, self.full = size, 0, False
        self.obs = np.zeros((size, obs_dim), np.float32)
        self.next_obs = np.zeros((size, obs_dim), np.float32)
        self.actions = np.zeros(size, np.int64)
        self.rewards = np.zeros(size, np.float32)
        self.terminated = np.zeros(size, np.float32)

    def __len__(self) -> int:
        return self.size if self.full else self.pos

    def add(self, obs: np.ndarray, next_obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
            terminated: np.ndarray) -> None:
        """A batch of transitions (one per environment)."""
        for i in range(obs.shape[0]):
            p = self.pos
            self.obs[p], self.next_obs[p], self.actions[p] = obs[i], next_obs[i], actions[i]
            self.rewards[p], self.terminated[p] = rewards[i], terminated[i]
            self.pos = (p + 1) % self.size
            self.full = self.full or self.pos == 0

    def sample(self, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        idx = rng.integers(0, len(self), batch_size)
        return self.obs[idx], self.actions[idx], self.rewards[idx], self.next_obs[idx], self.terminated[idx]


class DQN(BaseAlgorithm):
    """DQN with Stable-Baselines3's defaults and options, for ``Discrete`` actions.

    Actions are epsilon-greedy, epsilon falling linearly from ``exploration_initial_eps`` to
    ``exploration_final_eps`` over the first ``exploration_fraction`` of the steps. Every
    ``train_freq`` steps (after ``learning_starts``), ``gradient_steps`` updates on minibatches
    from the replay buffer minimise the Huber loss between Q(s, a) and the target
    y = r + gamma (1 - terminated) Q_target(s', a*), a* picked by the target network (DQN) or by
    the online network (``double_q``, Double DQN); gradients clipped to ``max_grad_norm``. The
    target network is copied from the online one every ``target_update_interval`` steps (or
    moved by Polyak averaging with ``tau`` < 1).
    """

    _hyper = (
        "learning_rate",
        "buffer_size",
        "learning_starts",
        "batch_size",
        "tau",
        "gamma",
        "train_freq",
        "gradient_steps",
        "target_update_interval",
        "exploration_fraction",
        "exploration_initial_eps",
        "exploration_final_eps",
        "max_grad_norm",
        "double_q",
    )
    _discrete_only = True

    def __init__(
        self,
        policy: str,
        env: EnvLike,
        learning_rate: float = 1e-4,
        buffer_size: int = 1_000_000,
        learning_starts: int = 100,
        batch_size: int = 32,
        tau: float = 1.0,
        gamma: float = 0.99,
        train_freq: int = 4,
        gradient_steps: int = 1,
        target_update_interval: int = 10_000,
        exploration_fraction: float = 0.1,
        exploration_initial_eps: float = 1.0,
        exploration_final_eps: float = 0.05,
        max_grad_norm: float | None = 10.0,
        double_q: bool = True,
        n_envs: int = 1,
        normalize_obs: bool = False,
        policy_kwargs: dict | None = None,
        seed: int | None = None,
        verbose: int = 0,
    ):
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
        self.learning_rate = float(learning_rate)
        self.buffer_size = _positive_int("buffer_size", buffer_size)
        if not isinstance(learning_starts, (int, np.integer)) or learning_starts < 0:
            raise ValueError(f"learning_starts must be an integer >= 0, got {learning_starts!r}")
        self.learning_starts = int(learning_starts)
        self.batch_size = _positive_int("batch_size", batch_size)
        self.tau, self.gamma = _in_range("tau", tau, 0.0, 1.0), _in_range("gamma", gamma, 0.0, 1.0)
        self.train_freq = _positive_int("train_freq", train_freq)
        self.gradient_steps = _positive_int("gradient_steps", gradient_steps)
        self.target_update_interval = _positive_int("target_update_interval", target_update_interval)
        self.exploration_fraction = _in_range("exploration_fraction", exploration_fraction, 0.0, 1.0)
        self.exploration_initial_eps = _in_range("exploration_initial_eps", exploration_initial_eps, 0.0, 1.0)
        self.exploration_final_eps = _in_range("exploration_final_eps", exploration_final_eps, 0.0, 1.0)
        if max_grad_norm is not None and not max_grad_norm > 0:
            raise ValueError(f"max_grad_norm must be > 0 or None, got {max_grad_norm!r}")
        self.max_grad_norm, self.double_q = max_grad_norm, bool(double_q)
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
            self.q_net = QNetwork(self.obs_dim, self.action_dim, seed=self.seed, **self.policy_kwargs)
        except TypeError as exc:
            raise TypeError(f"policy_kwargs: {exc}") from None
        self.q_net_target = copy.deepcopy(self.q_net)
        self.optimizer = optim.Adam(self.q_net.parameters(), lr=self.learning_rate)
        self.replay_buffer = ReplayBuffer(self.buffer_size, self.obs_dim)
        self.exploration_rate = self.exploration_initial_eps

    def _networks(self):
        return {"q_net": self.q_net, "q_net_target": self.q_net_target}

    def _policy_actions(self, x, deterministic):
        greedy = self.q_net.q_values(x).argmax(axis=1)
        if deterministic:
            return greedy
        explore = self.rng.random(x.shape[0]) < self.exploration_rate
        return np.where(explore, self.rng.integers(0, self.action_dim, x.shape[0]), greedy)

    def _epsilon(self, progress: float) -> float:
        """Linear from the initial to the final epsilon over ``exploration_fraction`` of training."""
        if self.exploration_fraction == 0 or progress >= self.exploration_fraction:
            return self.exploration_final_eps
        start, end = self.exploration_initial_eps, self.exploration_final_eps
        return start + (end - start) * progress / self.exploration_fraction

    def _learn(self, end: int, on_step: Callable[[], bool]) -> None:
        obs, start = self._start(), self.num_timesteps
        steps_per_train = max(1, self.train_freq // self.n_envs)
        target_every = max(1, self.target_update_interval // self.n_envs)
        calls = 0
        while self.num_timesteps < end:
            self.exploration_rate = self._epsilon((self.num_timesteps - start) / max(1, end - start))
            if self.num_timesteps < self.learning_starts:
                actions = self.rng.integers(0, self.action_dim, self.n_envs)
            else:
                actions = self._policy_actions(self._prepare(obs), deterministic=False)
            next_obs, rewards, term, trunc, info = self.env.step(actions)
            stored_next = np.array(next_obs, dtype=np.float32, copy=True).reshape(self.n_envs, -1)
            for i in np.flatnonzero(term | trunc):  # the episode's last observation, not the reset one
                stored_next[i] = np.asarray(info["final_obs"][i], np.float32).ravel()
            raw = np.asarray(obs, np.float32).reshape(self.n_envs, -1)
            if self.obs_rms is not None:
                self.obs_rms.update(raw)
            self.replay_buffer.add(raw, stored_next, actions, rewards, term)
            obs = next_obs
            self._record(rewards, term | trunc)
            calls += 1
            if calls % target_every == 0:
                self._update_target()
            if calls % steps_per_train == 0 and self.num_timesteps > self.learning_starts:
                self._train(self.gradient_steps)
            if not on_step():
                break

    def _update_target(self) -> None:
        for p, t in zip(self.q_net.parameters(), self.q_net_target.parameters(), strict=True):
            if self.tau == 1.0:
                t.data[...] = p.data
            else:
                t.data *= 1.0 - self.tau
                t.data += self.tau * p.data

    def _train(self, gradient_steps: int) -> None:
        losses = []
        for _ in range(gradient_steps):
            obs, actions, rewards, next_obs, terminated = self.replay_buffer.sample(self.batch_size, self.rng)
            if self.obs_rms is not None:
                obs, next_obs = self.obs_rms.normalize(obs), self.obs_rms.normalize(next_obs)
            next_online = self.q_net.q_values(next_obs) if self.double_q else None
            targets = dqn_target(
                rewards, self.q_net_target.q_values(next_obs), terminated, self.gamma, next_online
            )
            loss = dqn_loss(self.q_net(Tensor(obs)), actions, targets)
            self.optimizer.zero_grad()
            loss.backward()
            if self.max_grad_norm is not None:
                clip_grad_norm_(self.q_net.parameters(), self.max_grad_norm)
            self.optimizer.step()
            losses.append(loss.item())
        self.train_stats_ = {"loss": float(np.mean(losses)), "exploration_rate": self.exploration_rate}
