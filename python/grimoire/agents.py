"""``grimoire.agents``: agentic AI (primer 7.5) as planning agents.

An agent observes its environment, plans a sequence of actions toward a goal, acts, and plans
again when what it observes contradicts its model. Here the plans come from search, as the
primer describes ("planning graphs, decision trees, and pathfinding algorithms"):

- :func:`astar`: A* pathfinding on any graph given by a neighbour function and a heuristic;
- :class:`PlanningAgent`: observe-plan-act on a :class:`grimoire.rl.GridWorld`, discovering
  walls as it bumps into them and replanning (the environment may differ from its map);
- :func:`plan_tour`: multi-step reasoning, a goal ("visit these waypoints") decomposed into an
  ordered sequence of sub-goals, each solved by A*;
- :func:`plan_multi_agent`: several agents on one grid, coordinated centrally by prioritised
  planning in space-time (a reservation table, so no two agents meet in a cell or swap places),
  or decentralised (each plans alone; conflicts are then counted, not avoided).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .rl.envs import GridWorld

State = Hashable


def astar(start: State, goal: State | Callable[[State], bool],
          neighbors: Callable[[State], Iterable[tuple[State, float]]],
          heuristic: Callable[[State], float] = lambda s: 0.0) -> tuple[list[State], float]:
    """A*: the cheapest path from ``start`` to ``goal`` (a state, or a predicate on states).

    Expands states in order of f = g + h, g the cost so far and h the ``heuristic``; with an
    admissible h (never above the true remaining cost) the first goal popped is optimal. With
    h = 0 it is Dijkstra's algorithm. Returns (path, cost); raises ValueError if unreachable.
    """
    is_goal = goal if callable(goal) else (lambda s: s == goal)
    counter = itertools.count()  # tie-breaker: states need not be comparable
    frontier = [(heuristic(start), next(counter), 0.0, start)]
    came_from: dict[State, State | None] = {start: None}
    best = {start: 0.0}
    while frontier:
        _, _, g, s = heapq.heappop(frontier)
        if g > best[s]:
            continue
        if is_goal(s):
            path = [s]
            while came_from[path[-1]] is not None:
                path.append(came_from[path[-1]])
            return path[::-1], g
        for nxt, cost in neighbors(s):
            if cost < 0:
                raise ValueError("A* needs non-negative step costs")
            ng = g + cost
            if ng < best.get(nxt, float("inf")):
                best[nxt], came_from[nxt] = ng, s
                heapq.heappush(frontier, (ng + heuristic(nxt), next(counter), ng, nxt))
    raise ValueError(f"no path from {start!r} to the goal")


def _grid_neighbors(shape: tuple[int, int], walls: set) -> Callable:
    def neighbors(cell):
        r, c = cell
        for dr, dc in ((-1, 0), (0, 1), (1, 0), (0, -1)):
            nr, nc = r + dr, c + dc
            if 0 <= nr < shape[0] and 0 <= nc < shape[1] and (nr, nc) not in walls:
                yield (nr, nc), 1.0

    return neighbors


def manhattan(goal: tuple[int, int]) -> Callable[[tuple[int, int]], float]:
    """|dr| + |dc|: admissible on a 4-connected grid with unit steps."""
    return lambda cell: abs(cell[0] - goal[0]) + abs(cell[1] - goal[1])


_MOVE_TO_ACTION = {(-1, 0): 0, (0, 1): 1, (1, 0): 2, (0, -1): 3}


class PlanningAgent:
    """Observe, plan, act, replan (primer 7.5, the agent loop of its Figure 46).

    The agent starts from a map of the grid (``known_walls``, possibly incomplete), plans a
    shortest path with A*, and takes the first action. If the observation shows it did not move
    where it expected, it records a wall there and replans from where it is. ``log_`` keeps
    what happened, step by step.
    """

    def __init__(self, known_walls: Iterable[tuple[int, int]] = (), max_steps: int = 200):
        self.known_walls = set(map(tuple, known_walls))
        self.max_steps = max_steps

    def run(self, env: GridWorld) -> tuple[list[tuple[int, int]], int]:
        """Drive ``env`` (a GridWorld) to its goal; returns (visited cells, number of replans)."""
        state, _ = env.reset()
        cell, goal = env.cell_of(state), env.goal
        visited, replans = [cell], 0
        self.log_ = []
        plan = self._plan(env.shape, cell, goal)
        for _ in range(self.max_steps):
            if cell == goal:
                break
            nxt = plan[1]
            action = _MOVE_TO_ACTION[(nxt[0] - cell[0], nxt[1] - cell[1])]
            state, _, terminated, truncated, _ = env.step(action)
            observed = env.cell_of(state)
            if observed != nxt:  # the world disagrees with the map: learn and replan
                self.known_walls.add(nxt)
                self.log_.append(f"at {cell}: blocked going to {nxt}, replanning")
                replans += 1
                plan = self._plan(env.shape, observed, goal)
            else:
                plan = plan[1:]
            cell = observed
            visited.append(cell)
            if terminated or truncated:
                break
        return visited, replans

    def _plan(self, shape, cell, goal) -> list[tuple[int, int]]:
        path, _ = astar(cell, goal, _grid_neighbors(shape, self.known_walls), manhattan(goal))
        self.log_.append(f"plan from {cell}: {len(path) - 1} steps")
        return path


Cell = tuple[int, int]


def plan_tour(start: Cell, waypoints: list[Cell], shape: tuple[int, int],
              walls: Iterable[Cell] = ()) -> tuple[list[Cell], list[Cell], float]:
    """Decompose "visit every waypoint" into sub-goals: the order that minimises the total
    A* distance (exact, over all orders, so keep waypoints few), then one A* leg per sub-goal.
    Returns (order of waypoints, the full path, its length)."""
    walls = set(map(tuple, walls))
    neighbors = _grid_neighbors(shape, walls)
    points = [tuple(start)] + [tuple(w) for w in waypoints]
    if len(waypoints) > 8:
        raise ValueError(f"plan_tour searches every order: at most 8 waypoints, got {len(waypoints)}")
    legs = {(a, b): astar(a, b, neighbors, manhattan(b)) for a in points for b in points if a != b}

    def legs_of(order):
        return zip((points[0],) + order[:-1], order, strict=True)

    best_order = min(itertools.permutations(points[1:]), key=lambda o: sum(legs[ab][1] for ab in legs_of(o)))
    path, total = [points[0]], 0.0
    for a, b in legs_of(best_order):
        leg, cost = legs[a, b]
        path += leg[1:]
        total += cost
    return list(best_order), path, total


def plan_multi_agent(starts: list[tuple[int, int]], goals: list[tuple[int, int]], shape: tuple[int, int],
                     walls: Iterable[tuple[int, int]] = (), coordinated: bool = True,
                     horizon: int = 200) -> list[list[tuple[int, int]]]:
    """Paths for several agents, one cell per time step (an agent may wait in place).

    ``coordinated=True`` (centralised): agents plan in priority order with A* over (cell, time),
    avoiding the cells and swaps reserved by the agents before them; an agent at its goal keeps
    its cell reserved. ``coordinated=False`` (decentralised): each agent plans alone, so paths may
    collide; :func:`count_conflicts` measures that.
    """
    walls = set(map(tuple, walls))
    if len(starts) != len(goals):
        raise ValueError(f"starts and goals must pair up, got {len(starts)} and {len(goals)}")
    grid = _grid_neighbors(shape, walls)
    vertex_reserved: dict[tuple[tuple[int, int], int], int] = {}
    edge_reserved: set = set()
    parked: dict[tuple[int, int], int] = {}  # cell -> time from which an agent sits there for good
    paths = []
    for agent, (start, goal) in enumerate(zip(starts, goals, strict=True)):
        start, goal = tuple(start), tuple(goal)

        def free(cell, t):
            if not coordinated:
                return True
            return (cell, t) not in vertex_reserved and not (cell in parked and t >= parked[cell])

        def neighbors(state, goal=goal):
            cell, t = state
            if t >= horizon:
                return
            for nxt, _ in [*grid(cell), (cell, 1.0)]:
                if free(nxt, t + 1) and (not coordinated or (nxt, cell, t) not in edge_reserved):
                    yield (nxt, t + 1), 1.0

        def at_goal(state, goal=goal):
            cell, t = state
            # Stay only where no later reservation would run into us.
            return cell == goal and all(vertex_reserved.get((goal, u)) is None for u in range(t, horizon))

        h = manhattan(goal)
        states, _ = astar((start, 0), at_goal, neighbors, lambda s, h=h: h(s[0]))
        path = [cell for cell, _ in states]
        paths.append(path)
        if coordinated:
            for t, cell in enumerate(path):
                vertex_reserved[(cell, t)] = agent
                if t > 0:
                    edge_reserved.add((path[t - 1], cell, t - 1))
            parked[path[-1]] = len(path) - 1
    return paths


def count_conflicts(paths: list[list[tuple[int, int]]]) -> int:
    """Vertex conflicts (two agents in a cell at once, agents staying at their last cell) plus
    swap conflicts (two agents exchanging cells in one step)."""
    length = max(len(p) for p in paths)
    at = [[p[min(t, len(p) - 1)] for t in range(length)] for p in paths]
    conflicts = 0
    for i, j in itertools.combinations(range(len(paths)), 2):
        for t in range(length):
            if at[i][t] == at[j][t]:
                conflicts += 1
            elif t > 0 and at[i][t] == at[j][t - 1] and at[j][t] == at[i][t - 1]:
                conflicts += 1
    return conflicts
