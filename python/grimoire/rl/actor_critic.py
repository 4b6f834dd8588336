"""One-step actor-critic (primer 4.3.2) with a tabular softmax actor and a tabular critic."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from .._typing import Seed
from .q_learning import _discrete_sizes, check_states

if TYPE_CHECKING:
    import gymnasium as gym


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


class ActorCritic:
    """The actor is a policy pi(a|s) = softmax(theta[s])_a; the critic a state value V(s).

    Each step the critic scores the actor's action by the TD error
    ``delta = r + gamma * V(s') - V(s)`` (``V(s') = 0`` at a terminal state); the critic moves
    toward the target, ``V(s) += alpha_critic * delta``, and the actor makes the action more
    likely when it turned out better than expected, following the policy gradient
    ``theta[s] += alpha_actor * delta * grad log pi(a|s)`` with
    ``grad_theta[s] log pi(a|s) = onehot(a) - pi(.|s)``.

    Attributes after ``fit``: ``theta_`` (n_states, n_actions), ``values_`` (n_states,),
    ``episode_returns_``.
    """

    def __init__(self, alpha_actor: float = 0.2, alpha_critic: float = 0.2, gamma: float = 0.99,
                 random_state: Seed = None):
        for name, value in (("alpha_actor", alpha_actor), ("alpha_critic", alpha_critic)):
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        if not 0 <= gamma <= 1:
            raise ValueError(f"gamma must be in [0, 1], got {gamma}")
        self.alpha_actor, self.alpha_critic, self.gamma = alpha_actor, alpha_critic, gamma
        self.random_state = random_state

    def fit(self, env: gym.Env, n_episodes: int = 500) -> ActorCritic:
        n_states, n_actions = _discrete_sizes(env)
        rng = np.random.default_rng(self.random_state)
        theta = np.zeros((n_states, n_actions))
        values = np.zeros(n_states)
        returns = np.zeros(n_episodes)
        seed = int(rng.integers(2**31))
        for episode in range(n_episodes):
            s, _ = env.reset(seed=seed + episode)
            done = False
            while not done:
                pi = _softmax(theta[s])
                a = int(rng.choice(n_actions, p=pi))
                s_next, r, terminated, truncated, _ = env.step(a)
                delta = r + (0.0 if terminated else self.gamma * values[s_next]) - values[s]
                values[s] += self.alpha_critic * delta
                grad_log_pi = -pi
                grad_log_pi[a] += 1.0
                theta[s] += self.alpha_actor * delta * grad_log_pi
                returns[episode] += r
                s, done = s_next, terminated or truncated
        self.theta_, self.values_, self.episode_returns_ = theta, values, returns
        return self

    def policy(self) -> np.ndarray:
        """The most likely action of the actor in every state."""
        if not hasattr(self, "theta_"):
            raise RuntimeError("ActorCritic is not fitted yet; call fit(env) first")
        return self.theta_.argmax(axis=1)

    def predict(self, observation: ArrayLike, deterministic: bool = True) -> tuple[np.ndarray, None]:
        """Stable-Baselines3's ``predict``: ``(action, None)`` for a state or an array of states;
        the most likely action, or one sampled from pi(.|s) when not deterministic."""
        pi = self.action_probabilities()
        s = check_states(observation, pi.shape[0])
        if deterministic:
            return pi[s].argmax(axis=-1), None
        rng = np.random.default_rng(self.random_state)
        cdf = np.cumsum(pi[s], axis=-1)
        u = rng.random(cdf.shape[:-1] + (1,))
        return np.minimum((cdf < u).sum(axis=-1), pi.shape[1] - 1), None

    def action_probabilities(self) -> np.ndarray:
        """pi(a|s) for every state, shape (n_states, n_actions)."""
        if not hasattr(self, "theta_"):
            raise RuntimeError("ActorCritic is not fitted yet; call fit(env) first")
        z = self.theta_ - self.theta_.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)
