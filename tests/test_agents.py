"""grimoire.agents: A* and the planners against networkx's shortest paths."""

import itertools

import networkx as nx
import pytest
from grimoire.agents import PlanningAgent, astar, count_conflicts, manhattan, plan_multi_agent, plan_tour
from grimoire.rl import GridWorld
from hypothesis import given, settings
from hypothesis import strategies as st


def grid_graph(shape, walls):
    g = nx.grid_2d_graph(*shape)
    g.remove_nodes_from(walls)
    return g


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), rows=st.integers(2, 9), cols=st.integers(2, 9),
       density=st.floats(0, 0.35))
def test_astar_finds_shortest_paths_like_networkx(seed, rows, cols, density):
    import random

    rnd = random.Random(seed)
    walls = {(r, c) for r in range(rows) for c in range(cols) if rnd.random() < density} - {(0, 0)}
    goal = (rows - 1, cols - 1)
    walls.discard(goal)
    g = grid_graph((rows, cols), walls)

    def neighbors(cell):
        return [(n, 1.0) for n in g.neighbors(cell)]

    if nx.has_path(g, (0, 0), goal):
        path, cost = astar((0, 0), goal, neighbors, manhattan(goal))
        assert cost == nx.shortest_path_length(g, (0, 0), goal) == len(path) - 1
        assert all(g.has_edge(a, b) for a, b in itertools.pairwise(path))
    else:
        with pytest.raises(ValueError, match="no path"):
            astar((0, 0), goal, neighbors, manhattan(goal))


def test_planning_agent_replans_around_walls_it_did_not_know():
    walls = [(0, 2), (1, 2), (2, 2), (3, 2)]
    env = GridWorld(shape=(5, 5), walls=walls)
    agent = PlanningAgent()
    visited, replans = agent.run(env)
    assert visited[-1] == env.goal and replans == 4
    assert agent.known_walls == set(walls)  # it learned exactly the walls it ran into
    # With the full map it plans once and walks a shortest path.
    informed = PlanningAgent(known_walls=walls)
    visited, replans = informed.run(GridWorld(shape=(5, 5), walls=walls))
    assert replans == 0
    assert len(visited) - 1 == nx.shortest_path_length(grid_graph((5, 5), walls), (0, 0), (4, 4))


def test_plan_tour_picks_the_shortest_order():
    shape, walls = (6, 6), [(2, 1), (2, 2), (2, 3), (2, 4)]
    start, waypoints = (0, 0), [(5, 5), (0, 5), (5, 0), (3, 3)]
    order, path, total = plan_tour(start, waypoints, shape, walls)
    g = grid_graph(shape, walls)
    brute = min(sum(nx.shortest_path_length(g, a, b) for a, b in itertools.pairwise((start,) + o))
                for o in itertools.permutations(waypoints))
    assert total == brute == len(path) - 1
    assert sorted(order) == sorted(waypoints) and path[0] == start and path[-1] == order[-1]
    assert all(g.has_edge(a, b) for a, b in itertools.pairwise(path))


def test_coordinated_agents_never_collide_where_independent_ones_do():
    shape = (3, 5)
    starts, goals = [(1, 0), (1, 4), (0, 2)], [(1, 4), (1, 0), (2, 2)]
    walls = [(0, 0), (0, 4), (2, 0), (2, 4)]
    solo = plan_multi_agent(starts, goals, shape, walls, coordinated=False)
    assert count_conflicts(solo) > 0  # head-on in the corridor
    paths = plan_multi_agent(starts, goals, shape, walls, coordinated=True)
    assert count_conflicts(paths) == 0
    g = grid_graph(shape, walls)
    for path, start, goal in zip(paths, starts, goals, strict=True):
        assert path[0] == start and path[-1] == goal
        assert all(a == b or g.has_edge(a, b) for a, b in itertools.pairwise(path))


def test_bad_arguments():
    with pytest.raises(ValueError, match="pair up"):
        plan_multi_agent([(0, 0)], [], (2, 2))
    with pytest.raises(ValueError, match="at most 8 waypoints"):
        plan_tour((0, 0), [(0, 1)] * 9, (3, 3))
    with pytest.raises(ValueError, match="non-negative"):
        astar(0, 1, lambda s: [(1, -1.0)])
