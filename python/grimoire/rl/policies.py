"""Networks and action distributions of the deep agents, built from :mod:`grimoire.nn`.

``ActorCriticPolicy`` is Stable-Baselines3's ``MlpPolicy``: separate actor and critic MLPs
(64, 64, tanh), orthogonal initialisation (gain sqrt(2) for hidden layers, 0.01 for the action
head, 1 for the value head), a categorical policy for ``Discrete`` actions and a diagonal Gaussian
with a state-independent log-std for ``Box`` actions. ``QNetwork`` is DQN's MLP.

The rollout path calls :meth:`ActorCriticPolicy.act` on a batch of observations (one per
environment) with no graph; training calls :meth:`ActorCriticPolicy.evaluate` on a minibatch.
"""

from __future__ import annotations

import math

import numpy as np

from .. import nn
from ..autograd import Tensor, no_grad

LOG_2PI = math.log(2.0 * math.pi)


def orthogonal(shape: tuple[int, int], gain: float, rng: np.random.Generator) -> np.ndarray:
    """A (rows, cols) matrix with orthonormal rows or columns times ``gain`` (Saxe et al. 2014;
    torch.nn.init.orthogonal_): Q of the QR of a Gaussian matrix, signs fixed by diag(R)."""
    rows, cols = shape
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    q = q if rows >= cols else q.T
    return (gain * q).astype(np.float32)


def mlp(
    sizes: list[int], activation: type[nn.Module], rng: np.random.Generator, out_gain: float | None = None
) -> nn.Sequential:
    """Linear layers of ``sizes`` with ``activation`` between them (none after the last).
    Orthogonal weights (gain sqrt(2), the last layer ``out_gain``) and zero biases."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        lin = nn.Linear(sizes[i], sizes[i + 1])
        last = i == len(sizes) - 2
        gain = (out_gain if out_gain is not None else 1.0) if last else math.sqrt(2.0)
        lin.weight.data[...] = orthogonal((sizes[i + 1], sizes[i]), gain, rng)
        lin.bias.data[...] = 0.0
        layers.append(lin)
        if not last:
            layers.append(activation())
    return nn.Sequential(*layers)


ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


def _activation(name: str) -> type[nn.Module]:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]


def categorical_log_prob_entropy(logits: Tensor, actions: np.ndarray) -> tuple[Tensor, Tensor]:
    """log pi(a|s) = log_softmax(z)_a and H = -sum_a pi log pi, for logits (B, A) -> (B,), (B,)."""
    logp = logits.log_softmax(-1)
    onehot = np.zeros(logits.shape, dtype=np.float32)
    onehot[np.arange(logits.shape[0]), np.asarray(actions, dtype=np.int64)] = 1.0
    log_prob = (logp * Tensor(onehot)).sum(-1)
    entropy = -(logp.exp() * logp).sum(-1)
    return log_prob, entropy


def gaussian_log_prob_entropy(mean: Tensor, log_std: Tensor, actions: np.ndarray) -> tuple[Tensor, Tensor]:
    """Diagonal Gaussian N(mu, diag(sigma^2)), mean (B, D), log_std (D,), actions (B, D)::

    log pi(a|s) = sum_d [-(a_d - mu_d)^2 / (2 sigma_d^2) - log sigma_d - log(2 pi) / 2]
    H           = sum_d [log sigma_d + (1 + log(2 pi)) / 2]
    """
    z = (Tensor(actions) - mean) * (-log_std).exp()
    log_prob = ((z * z) * -0.5 - log_std - 0.5 * LOG_2PI).sum(-1)
    entropy = (log_std + 0.5 * (1.0 + LOG_2PI)).sum() * Tensor(np.ones(mean.shape[0], np.float32))
    return log_prob, entropy


class ActorCriticPolicy(nn.Module):
    """pi(a|s) and V(s) from two MLPs on the (normalised) observation x (B, obs_dim)."""

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        discrete: bool,
        net_arch: list[int] | None = None,
        activation: str = "tanh",
        log_std_init: float = 0.0,
        ortho_init: bool = True,
        seed: int | None = None,
    ):
        super().__init__()
        net_arch = [64, 64] if net_arch is None else list(net_arch)
        act = _activation(activation)
        rng = np.random.default_rng(seed)
        self.discrete, self.action_dim = discrete, action_dim
        self.pi = mlp([obs_dim, *net_arch, action_dim], act, rng, out_gain=0.01)
        self.vf = mlp([obs_dim, *net_arch, 1], act, rng, out_gain=1.0)
        if not ortho_init:  # PyTorch's default U(-1/sqrt(in), 1/sqrt(in)) for every layer
            for layer in [*self.pi, *self.vf]:
                if isinstance(layer, nn.Linear):
                    bound = 1.0 / math.sqrt(layer.in_features)
                    layer.weight.data[...] = rng.uniform(-bound, bound, layer.weight.shape)
                    layer.bias.data[...] = rng.uniform(-bound, bound, layer.bias.shape)
        if not discrete:
            self.log_std = nn.Parameter(np.full(action_dim, log_std_init, dtype=np.float32))

    def value(self, obs: np.ndarray) -> np.ndarray:
        """V(s) for a batch (B, obs_dim) -> (B,), no graph."""
        with no_grad():
            return self.vf(Tensor(obs)).data[:, 0]

    def act(
        self, obs: np.ndarray, rng: np.random.Generator, deterministic: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sample (or take the mode of) pi(.|s) for a batch of observations, no graph:
        ``(actions, log_probs (B,), values (B,))``; Box actions are returned unclipped."""
        with no_grad():
            x = Tensor(obs)
            out, values = self.pi(x).data, self.vf(x).data[:, 0]
        if self.discrete:
            z = out - out.max(axis=1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            if deterministic:
                actions = logp.argmax(axis=1)
            else:  # inverse-CDF sampling, one uniform per row
                cdf = np.cumsum(np.exp(logp), axis=1)
                u = rng.random((out.shape[0], 1)) * cdf[:, -1:]
                actions = np.minimum((cdf < u).sum(axis=1), out.shape[1] - 1)
            return actions, logp[np.arange(out.shape[0]), actions], values
        std = np.exp(self.log_std.data)
        actions = out if deterministic else out + std * rng.standard_normal(out.shape).astype(np.float32)
        z = (actions - out) / std
        log_prob = (-0.5 * z * z - self.log_std.data - 0.5 * LOG_2PI).sum(axis=1)
        return actions.astype(np.float32), log_prob, values

    def evaluate(self, obs: np.ndarray, actions: np.ndarray) -> tuple[Tensor, Tensor, Tensor]:
        """With the graph: ``(log pi(a|s) (B,), entropy (B,), V(s) (B,))`` for a minibatch."""
        x = Tensor(obs)
        out = self.pi(x)
        if self.discrete:
            log_prob, entropy = categorical_log_prob_entropy(out, actions)
        else:
            log_prob, entropy = gaussian_log_prob_entropy(out, self.log_std, actions)
        return log_prob, entropy, self.vf(x).reshape(-1)


class QNetwork(nn.Module):
    """Q(s, .) (B, obs_dim) -> (B, n_actions): an MLP with ReLU (Stable-Baselines3's DQN default
    (64, 64)) and PyTorch's default initialisation drawn from ``seed``."""

    def __init__(
        self,
        obs_dim: int,
        n_actions: int,
        net_arch: list[int] | None = None,
        activation: str = "relu",
        seed: int | None = None,
    ):
        super().__init__()
        net_arch = [64, 64] if net_arch is None else list(net_arch)
        rng = np.random.default_rng(seed)
        self.q = mlp([obs_dim, *net_arch, n_actions], _activation(activation), rng)
        for layer in self.q:
            if isinstance(layer, nn.Linear):
                bound = 1.0 / math.sqrt(layer.in_features)
                layer.weight.data[...] = rng.uniform(-bound, bound, layer.weight.shape)
                layer.bias.data[...] = rng.uniform(-bound, bound, layer.bias.shape)

    def forward(self, x: Tensor) -> Tensor:
        return self.q(x)

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        with no_grad():
            return self.q(Tensor(obs)).data
