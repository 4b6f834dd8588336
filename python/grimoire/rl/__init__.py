"""``grimoire.rl``: reinforcement learning (primer 4.3).

Environments follow Gymnasium's ``Env`` API (``reset(seed=)``, ``step`` returning
``(obs, reward, terminated, truncated, info)``, ``observation_space``/``action_space``), so any
agent here also runs on Gymnasium's own environments (FrozenLake, Taxi, CliffWalking, ...), and
Gymnasium's ``check_env`` is the test. ``gymnasium.make("grimoire/GridWorld-v0")`` works once
``grimoire.rl`` is imported. Needs the ``gymnasium`` package (``pip install
"ml-grimoire[tour]"``).
"""

from __future__ import annotations

from .actor_critic import ActorCritic
from .envs import GRIDWORLD_ID, GridWorld
from .q_learning import QLearning, greedy_path

__all__ = ["GRIDWORLD_ID", "ActorCritic", "GridWorld", "QLearning", "greedy_path"]
