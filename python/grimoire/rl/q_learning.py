"""Tabular Q-learning (primer 4.3.1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from .._typing import Seed

if TYPE_CHECKING:
    import gymnasium as gym


def _discrete_sizes(env) -> tuple[int, int]:
    from gymnasium import spaces

    if not isinstance(env.observation_space, spaces.Discrete) or not isinstance(env.action_space,
                                                                                  spaces.Discrete):
        raise TypeError("tabular methods need Discrete observation and action spaces, got "
                        f"{env.observation_space} and {env.action_space}")
    return int(env.observation_space.n), int(env.action_space.n)


class QLearning:
    """Off-policy temporal-difference control with a Q-table.

    After each step ``(s_t, a_t, r_t, s_{t+1})``::

        Q(s_t, a_t) <- Q(s_t, a_t) + alpha * [r_t + gamma * max_a Q(s_{t+1}, a) - Q(s_t, a_t)]

    with the bootstrap term dropped when ``s_{t+1}`` is terminal. Actions are epsilon-greedy:
    explore with probability epsilon (decayed geometrically from ``epsilon`` to
    ``epsilon_min`` by ``epsilon_decay`` each episode), otherwise exploit argmax_a Q(s, a),
    ties broken at random so an all-zero table does not always pick action 0.

    Attributes after ``fit``: ``q_table_`` (n_states, n_actions), ``episode_returns_``.
    """

    def __init__(self, alpha: float = 0.5, gamma: float = 0.95, epsilon: float = 1.0,
                 epsilon_min: float = 0.05, epsilon_decay: float = 0.99,
                 random_state: Seed = None):
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {alpha}")
        if not 0 <= gamma <= 1:
            raise ValueError(f"gamma must be in [0, 1], got {gamma}")
        if not 0 <= epsilon_min <= epsilon <= 1:
            raise ValueError(f"need 0 <= epsilon_min <= epsilon <= 1, got {epsilon_min}, {epsilon}")
        self.alpha, self.gamma = alpha, gamma
        self.epsilon, self.epsilon_min, self.epsilon_decay = epsilon, epsilon_min, epsilon_decay
        self.random_state = random_state

    def fit(self, env: gym.Env, n_episodes: int = 500) -> QLearning:
        n_states, n_actions = _discrete_sizes(env)
        rng = np.random.default_rng(self.random_state)
        q = np.zeros((n_states, n_actions))
        returns = np.zeros(n_episodes)
        eps = self.epsilon
        seed = int(rng.integers(2**31))
        for episode in range(n_episodes):
            s, _ = env.reset(seed=seed + episode)
            done = False
            while not done:
                a = self._epsilon_greedy(q[s], eps, rng)
                s_next, r, terminated, truncated, _ = env.step(a)
                target = r if terminated else r + self.gamma * q[s_next].max()
                q[s, a] += self.alpha * (target - q[s, a])
                returns[episode] += r
                s, done = s_next, terminated or truncated
            eps = max(self.epsilon_min, eps * self.epsilon_decay)
        self.q_table_, self.episode_returns_ = q, returns
        return self

    @staticmethod
    def _epsilon_greedy(q_row: np.ndarray, eps: float, rng: np.random.Generator) -> int:
        if rng.random() < eps:
            return int(rng.integers(q_row.shape[0]))
        best = np.flatnonzero(q_row == q_row.max())
        return int(best[rng.integers(best.shape[0])])

    def policy(self) -> np.ndarray:
        """The greedy policy argmax_a Q(s, a) for every state."""
        if not hasattr(self, "q_table_"):
            raise RuntimeError("QLearning is not fitted yet; call fit(env) first")
        return self.q_table_.argmax(axis=1)

    def predict(self, observation: ArrayLike, deterministic: bool = True) -> tuple[np.ndarray, None]:
        """Stable-Baselines3's ``predict``: ``(action, None)`` for a state or an array of states;
        argmax_a Q(s, a), or epsilon-greedy with ``epsilon_min`` when not deterministic."""
        policy = self.policy()
        actions = policy[check_states(observation, policy.shape[0])]
        if not deterministic and self.epsilon_min > 0:
            rng = np.random.default_rng(self.random_state)
            explore = rng.random(actions.shape) < self.epsilon_min
            actions = np.where(explore, rng.integers(0, self.q_table_.shape[1], actions.shape), actions)
        return actions, None


def check_states(observation: ArrayLike, n_states: int) -> np.ndarray:
    """``observation`` as an integer array of state indices in 0..n_states-1, or a ValueError."""
    s = np.asarray(observation)
    if s.dtype.kind not in "iu" or np.any(s < 0) or np.any(s >= n_states):
        raise ValueError(f"observation must be state indices in 0..{n_states - 1}, got {observation!r}")
    return s


def greedy_path(env: gym.Env, policy: np.ndarray, max_steps: int | None = None) -> tuple[list[int], float]:
    """Follow ``policy`` from ``env.reset()``: the visited states (start included) and the return."""
    s, _ = env.reset()
    states, total = [int(s)], 0.0
    limit = max_steps if max_steps is not None else 10 * int(env.observation_space.n)
    for _ in range(limit):
        s, r, terminated, truncated, _ = env.step(int(policy[s]))
        states.append(int(s))
        total += r
        if terminated or truncated:
            break
    return states, total
