"""Tour, primer 4.3: reinforcement learning."""

from __future__ import annotations

from . import Tour, section


@section("4.3.1", "Q-learning on the 3x3 grid", "grimoire.rl.QLearning, grimoire.rl.GridWorld")
def q_learning(t: Tour) -> None:
    from grimoire.rl import GridWorld, QLearning, greedy_path

    env = GridWorld(shape=(3, 3))
    t.say("Q(s,a) <- Q(s,a) + alpha [r + gamma max_a' Q(s',a') - Q(s,a)], every step costs -1")
    t.show("the grid (S start, G goal)", env.draw())
    agent = QLearning(alpha=0.5, gamma=0.95, random_state=0).fit(env, n_episodes=300)
    t.show("Q at [1,1] (up, right, down, left)", agent.q_table_[env.state_of((1, 1))].round(3))
    t.show("greedy policy: the highest-value action in each cell", env.draw(agent.policy()))
    path, ret = greedy_path(env, agent.policy())
    t.say(f"greedy path from S: {[env.cell_of(s) for s in path]} ({len(path) - 1} moves, a shortest path)")


@section("4.3.2", "Actor-critic", "grimoire.rl.ActorCritic")
def actor_critic(t: Tour) -> None:
    import gymnasium as gym

    from grimoire.rl import ActorCritic, QLearning, greedy_path

    t.say("critic: delta = r + gamma V(s') - V(s); actor: theta[s] += alpha delta (onehot(a) - pi(.|s))")
    env = gym.make("CliffWalking-v1")
    ac = ActorCritic(random_state=0).fit(env, n_episodes=500)
    q = QLearning(alpha=0.5, gamma=0.99, random_state=0).fit(env, n_episodes=500)
    ac_return = greedy_path(env, ac.policy(), 100)[1]
    q_return = greedy_path(env, q.policy(), 100)[1]
    t.say(f"CliffWalking (Gymnasium), 500 episodes: actor-critic's policy returns {ac_return:.0f}, "
          f"Q-learning's {q_return:.0f}")
    t.say("the on-policy actor-critic learns the safe path away from the cliff (-17); off-policy "
          "Q-learning the optimal edge path (-13), which is risky while it still explores")
