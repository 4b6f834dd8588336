"""RLHF in miniature (primer 4.3): preferences -> a reward model -> PPO with a KL penalty.

1. A char-level language model (the reference policy pi_ref) is pretrained on a small text
   (the Zen of Python, from the standard library's ``this`` module).
2. A scripted judge compares pairs of the model's samples and prefers the one with more vowels
   (a stand-in for a human rater); a reward model r(x) is fitted to its choices with the
   Bradley-Terry loss  -log sigmoid(r(x_preferred) - r(x_other)).
3. The policy is fine-tuned with PPO's clipped objective on the sequence reward
   R(x) = r(x) - beta * sum_t [log pi(x_t | x_<t) - log pi_ref(x_t | x_<t)],
   the KL penalty that keeps it near the reference; the batch mean of R is the baseline.

Everything is built from grimoire.nn and grimoire.optim and runs in about a minute on 2 cores.
"""

from __future__ import annotations

import codecs
import copy
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .. import nn, optim
from ..autograd import Tensor, no_grad
from ..nn import functional as F
from .losses import ppo_policy_loss

ALPHABET = " abcdefghijklmnopqrstuvwxyz"
BOS = len(ALPHABET)  # the start token pads the context of the first characters
VOWELS = set("aeiou")


def zen_corpus() -> str:
    """The Zen of Python, lower case, letters and spaces only."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # the first import prints the poem
        import this
    text = codecs.decode(this.s, "rot13").lower()
    return " ".join("".join(c if c in ALPHABET else " " for c in text).split())


def encode(text: str) -> np.ndarray:
    return np.array([ALPHABET.index(c) for c in text], dtype=np.int64)


def decode(ids: Iterable[int]) -> str:
    return "".join(ALPHABET[int(i)] for i in ids)


class CharLM(nn.Module):
    """p(x_t | x_{t-k..t-1}): embeddings of the last ``context`` characters, concatenated, one
    tanh hidden layer, logits over the alphabet (Bengio et al. 2003). ids (B, k) -> (B, V)."""

    def __init__(self, context: int = 4, embed: int = 16, hidden: int = 128):
        super().__init__()
        self.context = context
        self.emb = nn.Embedding(len(ALPHABET) + 1, embed)
        self.hidden = nn.Linear(context * embed, hidden)
        self.out = nn.Linear(hidden, len(ALPHABET))

    def forward(self, ctx: np.ndarray) -> Tensor:
        e = self.emb(ctx)
        return self.out(self.hidden(e.reshape(ctx.shape[0], -1)).tanh())

    def windows(self, seqs: np.ndarray) -> np.ndarray:
        """The context of every position of seqs (B, L): (B * L, k), BOS before the start."""
        b, length = seqs.shape
        padded = np.concatenate([np.full((b, self.context), BOS, np.int64), seqs], axis=1)
        idx = np.arange(length)[:, None] + np.arange(self.context)[None, :]
        return padded[:, idx].reshape(b * length, self.context)

    def log_probs(self, seqs: np.ndarray) -> Tensor:
        """log p(x_t | context) of every character of seqs (B, L) -> (B, L), with the graph."""
        b, length = seqs.shape
        logp = self(self.windows(seqs)).log_softmax(-1)
        return logp[np.arange(b * length), seqs.reshape(-1)].reshape(b, length)

    def sample(self, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
        """n sequences of ``length`` characters, one batched forward per position. (n, length)."""
        seqs = np.full((n, self.context + length), BOS, np.int64)
        with no_grad():
            for t in range(length):
                logits = self(seqs[:, t : t + self.context]).data
                p = np.exp(logits - logits.max(axis=1, keepdims=True))
                cdf = np.cumsum(p, axis=1)
                u = rng.random((n, 1)) * cdf[:, -1:]
                seqs[:, t + self.context] = np.minimum((cdf < u).sum(axis=1), len(ALPHABET) - 1)
        return seqs[:, self.context :]


def pretrain(model: CharLM, text: str, steps: int, rng: np.random.Generator, batch: int = 256) -> float:
    """Next-character cross-entropy on windows of ``text``; returns the last loss (nats)."""
    ids = encode(text)
    ctx = model.windows(ids[None, :])
    opt = optim.Adam(model.parameters(), lr=3e-3)
    loss = None
    for _ in range(steps):
        idx = rng.integers(0, ids.shape[0], batch)
        loss = F.cross_entropy(model(ctx[idx]), ids[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss.item()


def judge_score(text: str) -> float:
    """The scripted judge's private taste: the fraction of letters that are vowels."""
    letters = [c for c in text if c != " "]
    return sum(c in VOWELS for c in letters) / max(1, len(letters))


def char_counts(seqs: np.ndarray) -> np.ndarray:
    """Bag of characters, (B, L) -> (B, V), each row summing to 1: the reward model's input."""
    counts = np.zeros((seqs.shape[0], len(ALPHABET)), np.float32)
    np.add.at(counts, (np.repeat(np.arange(seqs.shape[0]), seqs.shape[1]), seqs.reshape(-1)), 1.0)
    return counts / seqs.shape[1]


def bradley_terry_loss(r_preferred: Tensor, r_other: Tensor) -> Tensor:
    """-mean(log sigmoid(r_w - r_l)) (B,), (B,) -> scalar: P(w preferred to l) = sigmoid(r_w - r_l)."""
    diff = r_preferred - r_other
    return F.binary_cross_entropy_with_logits(diff, np.ones(diff.shape, np.float32))


class RewardModel(nn.Module):
    """r(x): a small MLP on the bag of characters of x. seqs (B, L) -> (B,)."""

    def __init__(self, hidden: int = 32):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(len(ALPHABET), hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, seqs: np.ndarray) -> Tensor:
        return self.net(Tensor(char_counts(seqs))).reshape(-1)


def fit_reward_model(
    policy: CharLM, n_pairs: int, length: int, steps: int, rng: np.random.Generator
) -> tuple[RewardModel, float]:
    """Sample pairs from ``policy``, let the judge pick, fit r by Bradley-Terry. Returns the
    model and its agreement with the judge on fresh pairs."""

    def labelled_pairs(n):
        a, b = policy.sample(n, length, rng), policy.sample(n, length, rng)
        a_wins = np.array(
            [judge_score(decode(x)) >= judge_score(decode(y)) for x, y in zip(a, b, strict=True)]
        )
        return np.where(a_wins[:, None], a, b), np.where(a_wins[:, None], b, a)

    won, lost = labelled_pairs(n_pairs)
    rm = RewardModel()
    opt = optim.Adam(rm.parameters(), lr=1e-2)
    for _ in range(steps):
        idx = rng.integers(0, n_pairs, 256)
        loss = bradley_terry_loss(rm(won[idx]), rm(lost[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    test_won, test_lost = labelled_pairs(500)
    with no_grad():
        accuracy = float(np.mean(rm(test_won).data > rm(test_lost).data))
        # Standardise r on the reference's own samples (mean 0, std 1), so beta has a fixed scale.
        ref_scores = np.concatenate([rm(won).data, rm(lost).data])
    last = rm.net[-1]
    scale = 1.0 / (ref_scores.std() + 1e-8)
    last.weight.data *= scale
    last.bias.data = (last.bias.data - ref_scores.mean()) * scale
    return rm, accuracy


@dataclass
class RLHFResult:
    """What ``rlhf_miniature`` learned: per PPO iteration, the mean reward-model score, the judge's
    score and the KL to the reference (nats per sequence); samples before and after."""

    reward: list[float] = field(default_factory=list)
    judge: list[float] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)
    reward_model_accuracy: float = 0.0
    samples_before: list[str] = field(default_factory=list)
    samples_after: list[str] = field(default_factory=list)
    policy: CharLM | None = None


def rlhf_miniature(
    iterations: int = 60,
    beta: float = 0.2,
    length: int = 24,
    batch: int = 64,
    epochs: int = 4,
    clip_range: float = 0.2,
    lr: float = 1e-3,
    pretrain_steps: int = 400,
    seed: int = 0,
) -> RLHFResult:
    """The three stages above; returns the learning history and the samples (see ``RLHFResult``)."""
    for name, v in (("iterations", iterations), ("length", length), ("batch", batch), ("epochs", epochs)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    if not beta >= 0:
        raise ValueError(f"beta must be >= 0, got {beta!r}")
    rng = np.random.default_rng(seed)
    from ..autograd import manual_seed

    manual_seed(seed)
    ref = CharLM()
    pretrain(ref, zen_corpus(), pretrain_steps, rng)
    rm, accuracy = fit_reward_model(ref, n_pairs=2000, length=length, steps=300, rng=rng)
    policy = copy.deepcopy(ref)
    opt = optim.Adam(policy.parameters(), lr=lr)
    result = RLHFResult(
        reward_model_accuracy=accuracy, samples_before=[decode(s) for s in ref.sample(4, length, rng)]
    )
    for _ in range(iterations):
        seqs = policy.sample(batch, length, rng)
        with no_grad():
            old_logp, ref_logp, score = policy.log_probs(seqs).data, ref.log_probs(seqs).data, rm(seqs).data
        kl = (old_logp - ref_logp).sum(axis=1)  # log pi(x)/pi_ref(x) of each sample: E = KL(pi||pi_ref)
        total = score - beta * kl
        adv = (total - total.mean()) / (total.std() + 1e-8)
        token_adv = np.repeat(adv[:, None], length, axis=1).reshape(-1)
        for _ in range(epochs):
            loss = ppo_policy_loss(
                policy.log_probs(seqs).reshape(-1), old_logp.reshape(-1), token_adv, clip_range
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
        result.reward.append(float(score.mean()))
        result.kl.append(float(kl.mean()))
        result.judge.append(float(np.mean([judge_score(decode(s)) for s in seqs])))
    result.samples_after = [decode(s) for s in policy.sample(4, length, rng)]
    result.policy = policy
    return result
