"""``grimoire.rl``: reinforcement learning (primer 4.3).

Tabular agents (``QLearning``, ``ActorCritic``) on ``Discrete`` spaces, and deep agents built from
:mod:`grimoire.nn` and :mod:`grimoire.optim` (``DQN``, ``REINFORCE``, ``A2C``, ``PPO``) with
Stable-Baselines3's API on any Gymnasium environment with a ``Box`` observation space:
``PPO("MlpPolicy", "CartPole-v1").learn(100_000)``, ``predict``, ``save``/``load``,
``evaluate_policy``. ``rlhf`` is RLHF in miniature (a reward model from preferences, then PPO
with a KL penalty).

Environments follow Gymnasium's ``Env`` API (``reset(seed=)``, ``step`` returning
``(obs, reward, terminated, truncated, info)``, ``observation_space``/``action_space``), so any
agent here also runs on Gymnasium's own environments (FrozenLake, Taxi, CliffWalking, ...), and
Gymnasium's ``check_env`` is the test. ``gymnasium.make("grimoire/GridWorld-v0")`` works once
``grimoire.rl`` is imported. Needs the ``gymnasium`` package (``pip install
"ml-grimoire[tour]"``).
"""

from __future__ import annotations

from .actor_critic import ActorCritic
from .base import EvalCallback, evaluate_policy, make_vec_env
from .dqn import DQN
from .envs import GRIDWORLD_ID, GridWorld
from .on_policy import A2C, PPO, REINFORCE
from .q_learning import QLearning, greedy_path

__all__ = ["A2C", "DQN", "GRIDWORLD_ID", "PPO", "REINFORCE", "ActorCritic", "EvalCallback", "GridWorld",
           "QLearning", "evaluate_policy", "greedy_path", "make_vec_env"]
