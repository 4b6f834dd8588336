"""grimoire.rl against Gymnasium's env checker and shortest paths computed by networkx."""

import gymnasium as gym
import networkx as nx
import numpy as np
import pytest
from grimoire.rl import GRIDWORLD_ID, ActorCritic, GridWorld, QLearning, greedy_path
from gymnasium.utils.env_checker import check_env


def grid_graph(env: GridWorld) -> nx.DiGraph:
    """The grid's moves as a graph, built from its shape and walls (not from env.step)."""
    g = nx.DiGraph()
    n_rows, n_cols = env.shape
    for r in range(n_rows):
        for c in range(n_cols):
            if (r, c) in env.walls:
                continue
            for dr, dc in ((-1, 0), (0, 1), (1, 0), (0, -1)):
                rr, cc = r + dr, c + dc
                if 0 <= rr < n_rows and 0 <= cc < n_cols and (rr, cc) not in env.walls:
                    g.add_edge((r, c), (rr, cc))
    return g


def test_gridworld_passes_gymnasium_check_env():
    check_env(gym.make(GRIDWORLD_ID).unwrapped, skip_render_check=False)
    env = gym.make(GRIDWORLD_ID, shape=(4, 5), walls=[(1, 1), (2, 3)], render_mode="ansi")
    check_env(env.unwrapped, skip_render_check=False)
    env.reset(seed=0)
    assert env.render().splitlines()[0] == "S . . . ."
    env.step(1)  # right
    assert env.render().splitlines()[0] == "S A . . ."


def test_gridworld_rejects_bad_configuration():
    with pytest.raises(ValueError, match="goal"):
        GridWorld(goal=(3, 3))
    with pytest.raises(ValueError, match="start"):
        GridWorld(walls=[(0, 0)])
    with pytest.raises(ValueError, match="action must be in 0..3"):
        env = GridWorld()
        env.reset()
        env.step(7)


def test_q_learning_on_the_primers_3x3_grid_traces_a_shortest_path():
    env = GridWorld(shape=(3, 3))
    agent = QLearning(random_state=0).fit(env, n_episodes=300)
    path, ret = greedy_path(env, agent.policy())
    shortest = nx.shortest_path_length(grid_graph(env), env.start, env.goal)
    assert path[0] == env.state_of(env.start) and path[-1] == env.state_of(env.goal)
    assert len(path) - 1 == shortest == 4
    assert ret == -(shortest - 1)  # every step costs 1 except the one that reaches G


@pytest.mark.parametrize("walls", [[(1, 1), (1, 2), (3, 2)], [(0, 1), (1, 1), (2, 1), (3, 3)]])
def test_q_table_converges_to_the_bellman_optimum(walls):
    # Deterministic moves, alpha = 1 and uniform exploration: Q-learning converges to
    # Q*(s, a) = r + gamma * V*(s'), and V* follows from the shortest distance d(s) to G that
    # networkx computes independently: d-1 steps of reward -1, then the goal step with reward 0.
    env = GridWorld(shape=(4, 5), walls=walls, max_steps=60)
    gamma = 0.9
    agent = QLearning(alpha=1.0, gamma=gamma, epsilon=1.0, epsilon_min=1.0, random_state=1)
    agent.fit(env, n_episodes=1500)
    dist = nx.single_source_shortest_path_length(grid_graph(env).reverse(), env.goal)

    def v_star(cell):
        d = dist[cell]
        return 0.0 if d == 0 else -(1 - gamma ** (d - 1)) / (1 - gamma)

    for cell, d in dist.items():
        if d == 0:
            continue
        s = env.state_of(cell)
        for a in range(4):
            nxt = env.transition(cell, a)
            expected = 0.0 if nxt == env.goal else -1.0 + gamma * v_star(nxt)
            assert agent.q_table_[s, a] == pytest.approx(expected, abs=1e-6), (cell, a)


def test_q_learning_solves_frozenlake_and_cliffwalking():
    lake = gym.make("FrozenLake-v1", is_slippery=False)
    agent = QLearning(alpha=0.8, gamma=0.95, epsilon_decay=0.98, random_state=0).fit(lake, 400)
    assert greedy_path(lake, agent.policy(), 50)[1] == 1.0
    cliff = gym.make("CliffWalking-v1")
    agent = QLearning(alpha=0.5, gamma=0.99, random_state=0).fit(cliff, 500)
    assert greedy_path(cliff, agent.policy(), 100)[1] == -13.0  # the optimal path along the cliff


def test_actor_critic_learns_a_path_and_a_proper_policy():
    env = GridWorld(shape=(4, 4), walls=[(1, 1), (2, 2)])
    agent = ActorCritic(random_state=0).fit(env, n_episodes=400)
    probs = agent.action_probabilities()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)
    path, _ = greedy_path(env, agent.policy(), 50)
    assert path[-1] == env.state_of(env.goal)
    assert len(path) - 1 == nx.shortest_path_length(grid_graph(env), env.start, env.goal)
    # The critic's values rank states by distance to the goal, as V^pi of a good policy does.
    assert agent.values_[env.state_of((3, 2))] > agent.values_[env.state_of((0, 0))]


def test_tabular_agents_refuse_continuous_spaces_and_unfitted_use():
    with pytest.raises(TypeError, match="Discrete"):
        QLearning().fit(gym.make("CartPole-v1"), 1)
    with pytest.raises(RuntimeError, match="not fitted"):
        ActorCritic().policy()
    with pytest.raises(ValueError, match="alpha"):
        QLearning(alpha=0)
