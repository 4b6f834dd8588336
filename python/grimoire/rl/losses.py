"""The losses of deep RL (primer 4.3) as plain functions, so each can be checked on its own.

Arrays are NumPy (rollout data, no graph); ``Tensor`` arguments carry the graph to the
parameters. Shapes: ``T`` steps of ``N`` parallel environments, ``B`` samples of a minibatch.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor


def gae(
    rewards: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    gamma: float,
    gae_lambda: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Generalised advantage estimation (Schulman et al. 2016), all arrays (T, N)::

        delta_t = r_t + gamma * (1 - terminated_t) * V(s'_t) - V(s_t)
        A_t     = delta_t + gamma * lambda * (1 - done_t) * A_{t+1},   done = terminated | truncated

    ``next_values[t]`` is V of the observation that followed step t: the final observation of
    the episode when it ended at t (a truncated episode is bootstrapped from it; a terminated one
    is not), otherwise V(s_{t+1}); the last row bootstraps the unfinished rollout. Returns
    ``(advantages, returns)`` with ``returns = advantages + values`` (the critic's target).
    lambda = 1 gives the Monte-Carlo return minus the baseline (REINFORCE), lambda = 0 the TD error.
    """
    rewards, values, next_values = (np.asarray(a, dtype=np.float32) for a in (rewards, values, next_values))
    if not (
        rewards.shape == values.shape == next_values.shape == np.shape(terminated) == np.shape(truncated)
    ):
        raise ValueError(
            "gae: rewards, values, next_values, terminated and truncated must share one "
            f"shape (T, N), got {rewards.shape}, {values.shape}, {next_values.shape}, "
            f"{np.shape(terminated)}, {np.shape(truncated)}"
        )
    not_terminal = 1.0 - np.asarray(terminated, dtype=np.float32)
    carry = (
        1.0 - np.maximum(np.asarray(terminated, np.float32), np.asarray(truncated, np.float32))
    ) * np.float32(gamma * gae_lambda)
    deltas = rewards + np.float32(gamma) * not_terminal * next_values - values
    advantages = np.empty_like(deltas)
    last = np.zeros(deltas.shape[1:], dtype=np.float32)
    for t in range(deltas.shape[0] - 1, -1, -1):  # T steps, each vectorised over the N envs
        last = deltas[t] + carry[t] * last
        advantages[t] = last
    return advantages, advantages + values


def ppo_policy_loss(
    log_prob: Tensor, old_log_prob: np.ndarray, advantages: np.ndarray, clip_range: float
) -> Tensor:
    """The clipped surrogate, to minimise (B,) -> scalar::

    ratio = exp(log pi(a|s) - log pi_old(a|s))
    L     = -mean(min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A))
    """
    ratio = (log_prob - Tensor(old_log_prob)).exp()
    adv = Tensor(advantages)
    unclipped = ratio * adv
    clipped = ratio.clamp(1.0 - clip_range, 1.0 + clip_range) * adv
    # min(u, c) = c - relu(c - u): one differentiable op, with the gradient of the smaller one.
    return -(clipped - (clipped - unclipped).relu()).mean()


def value_loss(
    values: Tensor,
    returns: np.ndarray,
    old_values: np.ndarray | None = None,
    clip_range_vf: float | None = None,
) -> Tensor:
    """Mean squared error to the returns, (B,) -> scalar: mean((V - R)^2). With ``clip_range_vf``
    the new value may move at most that far from the old one: V' = V_old + clip(V - V_old, -c, c)
    (Stable-Baselines3's form; the squared error of the clipped prediction)."""
    if clip_range_vf is not None:
        if old_values is None:
            raise ValueError("value_loss: clip_range_vf needs old_values")
        old = Tensor(old_values)
        values = old + (values - old).clamp(-clip_range_vf, clip_range_vf)
    diff = values - Tensor(returns)
    return (diff * diff).mean()


def huber_loss(x: Tensor, target: np.ndarray, delta: float = 1.0) -> Tensor:
    """mean(0.5 d^2 if |d| <= delta else delta (|d| - 0.5 delta)), d = x - target (torch's
    ``smooth_l1_loss`` with beta = delta = 1). Written as 0.5 q^2 + delta (|d| - q) with
    q = min(|d|, delta), which is the same function and differentiable with the usual gradient."""
    absd = (x - Tensor(target)).abs()
    quad = absd.clamp(max=delta)
    return (quad * quad * 0.5 + (absd - quad) * delta).mean()


def dqn_target(
    rewards: np.ndarray,
    next_q_target: np.ndarray,
    terminated: np.ndarray,
    gamma: float,
    next_q_online: np.ndarray | None = None,
) -> np.ndarray:
    """The TD target y = r + gamma (1 - terminated) Q_target(s', a*), (B,) from next Q (B, A).

    DQN: a* = argmax_a Q_target(s', a). Double DQN (van Hasselt et al. 2016), when the online
    network's next Q values are given: a* = argmax_a Q_online(s', a), evaluated by the target.
    """
    chooser = next_q_target if next_q_online is None else next_q_online
    best = np.argmax(chooser, axis=1)
    next_value = np.take_along_axis(next_q_target, best[:, None], axis=1)[:, 0]
    not_terminal = 1.0 - np.asarray(terminated, dtype=np.float32)
    return (np.asarray(rewards, np.float32) + np.float32(gamma) * not_terminal * next_value).astype(
        np.float32
    )


def dqn_loss(q_values: Tensor, actions: np.ndarray, targets: np.ndarray) -> Tensor:
    """Huber loss between Q(s, a) of the taken actions (gathered from q_values (B, A)) and y (B,)."""
    chosen = q_values[np.arange(q_values.shape[0]), np.asarray(actions, dtype=np.int64)]
    return huber_loss(chosen, targets)
