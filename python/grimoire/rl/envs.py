"""Environments with the Gymnasium API."""

from __future__ import annotations

import numpy as np

try:
    import gymnasium as gym
    from gymnasium import spaces
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("grimoire.rl needs gymnasium: pip install 'ml-grimoire[tour]'") from exc

# Action a moves by MOVES[a] = (d_row, d_col).
UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3
MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]])
ARROWS = "^>v<"


class GridWorld(gym.Env):
    """A deterministic grid from a start S to a goal G (primer 4.3.1, the 3x3 grid example).

    States are cells numbered row-major, ``s = row * n_cols + col``; actions are 0 up, 1 right,
    2 down, 3 left. Moving into a wall or off the grid leaves the agent where it is. Every step
    costs ``step_reward`` (-1); reaching G ends the episode with ``goal_reward`` (0), so the
    return of an episode is minus the number of steps taken and the optimal policy is a
    shortest path. Episodes are truncated after ``max_steps``.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, shape: tuple[int, int] = (3, 3), start: tuple[int, int] = (0, 0),
                 goal: tuple[int, int] | None = None, walls: list[tuple[int, int]] | None = None,
                 step_reward: float = -1.0, goal_reward: float = 0.0, max_steps: int = 100,
                 render_mode: str | None = None):
        n_rows, n_cols = shape
        if n_rows < 1 or n_cols < 1:
            raise ValueError(f"shape must be positive, got {shape}")
        goal = (n_rows - 1, n_cols - 1) if goal is None else goal
        self.walls = {tuple(w) for w in (walls or [])}
        for name, cell in (("start", start), ("goal", goal)):
            if not (0 <= cell[0] < n_rows and 0 <= cell[1] < n_cols):
                raise ValueError(f"{name} {cell} is outside the {n_rows}x{n_cols} grid")
            if tuple(cell) in self.walls:
                raise ValueError(f"{name} {cell} is a wall")
        if tuple(start) == tuple(goal):
            raise ValueError("start and goal must differ")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        self.shape, self.start, self.goal = (n_rows, n_cols), tuple(start), tuple(goal)
        self.step_reward, self.goal_reward, self.max_steps = step_reward, goal_reward, max_steps
        self.render_mode = render_mode
        self.observation_space = spaces.Discrete(n_rows * n_cols)
        self.action_space = spaces.Discrete(4)
        self._cell = self.start
        self._steps = 0

    def state_of(self, cell: tuple[int, int]) -> int:
        return int(cell[0] * self.shape[1] + cell[1])

    def cell_of(self, state: int) -> tuple[int, int]:
        return divmod(int(state), self.shape[1])

    def transition(self, cell: tuple[int, int], action: int) -> tuple[int, int]:
        """The deterministic successor of ``cell`` under ``action``."""
        r, c = cell[0] + MOVES[action][0], cell[1] + MOVES[action][1]
        if 0 <= r < self.shape[0] and 0 <= c < self.shape[1] and (r, c) not in self.walls:
            return (int(r), int(c))
        return cell

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        self._cell, self._steps = self.start, 0
        return self.state_of(self._cell), {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        if not self.action_space.contains(action):
            raise ValueError(f"action must be in 0..3, got {action!r}")
        self._cell = self.transition(self._cell, int(action))
        self._steps += 1
        terminated = self._cell == self.goal
        truncated = not terminated and self._steps >= self.max_steps
        reward = self.goal_reward if terminated else self.step_reward
        return self.state_of(self._cell), float(reward), terminated, truncated, {}

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        return self.draw()

    def draw(self, policy: np.ndarray | None = None) -> str:
        """The grid as text: S, G, # for walls, A for the agent, or the policy's arrows."""
        rows = []
        for r in range(self.shape[0]):
            row = []
            for c in range(self.shape[1]):
                cell = (r, c)
                if cell in self.walls:
                    row.append("#")
                elif cell == self.goal:
                    row.append("G")
                elif cell == self.start and policy is None:
                    row.append("S")
                elif policy is not None:
                    row.append(ARROWS[int(policy[self.state_of(cell)])])
                else:
                    row.append("A" if cell == self._cell else ".")
            rows.append(" ".join(row))
        return "\n".join(rows)


GRIDWORLD_ID = "grimoire/GridWorld-v0"
if GRIDWORLD_ID not in gym.registry:
    gym.register(id=GRIDWORLD_ID, entry_point="grimoire.rl.envs:GridWorld")
