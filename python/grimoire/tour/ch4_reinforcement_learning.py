"""Tour, primer 4.3: reinforcement learning."""

from __future__ import annotations

from . import Tour, pyplot, section


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


@section("4.3.3", "Deep Q-learning on CartPole", "grimoire.rl.DQN")
def dqn_cartpole(t: Tour) -> None:
    import numpy as np

    from grimoire.rl import DQN, evaluate_policy

    steps = 5_000 if t.quick else 10_000
    t.say("Q(s, .) is an MLP (256, 256) on the 4 numbers of CartPole's state; replay buffer, a target "
          "network, Double DQN, epsilon 1 -> 0.04, Huber loss on y = r + gamma Q_target(s', argmax Q(s', .))")
    model = DQN("MlpPolicy", "CartPole-v1", learning_rate=2.3e-3, batch_size=64, buffer_size=100_000,
                learning_starts=1000, target_update_interval=10, train_freq=256, gradient_steps=128,
                exploration_fraction=0.16, exploration_final_eps=0.04,
                policy_kwargs=dict(net_arch=[256, 256]), seed=0).learn(steps)
    returns = np.array(model.episode_returns_)
    t.show(f"training episodes in {steps} steps", f"{returns.size}, the last ten: {returns[-10:].round()}")
    mean, std = evaluate_policy(model, "CartPole-v1", n_eval_episodes=10, seed=100)
    t.say(f"greedy policy over 10 episodes: {mean:.0f} +- {std:.0f} (500 is the cap; the full 150k-step run "
          "of bench/rl_bars.py dqn_cartpole is the must-reach check)")
    plt = pyplot()
    if plt is None:
        t.say("(matplotlib is not installed: the learning curve is skipped)")
        return
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(model.episode_timesteps_, returns, ".", ms=3, alpha=0.5, label="episode return")
    k = min(20, returns.size)
    smooth = np.convolve(returns, np.ones(k) / k, "valid")
    ax.plot(model.episode_timesteps_[k - 1:], smooth, label=f"mean of {k}")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("return")
    ax.set_title("DQN on CartPole-v1")
    ax.legend()
    fig.tight_layout()
    fig.savefig(t.plot_path("4.3.3_dqn_cartpole.png"), dpi=100)
    plt.close(fig)


@section("4.3.4", "PPO on Pendulum (continuous actions)", "grimoire.rl.PPO")
def ppo_pendulum(t: Tour) -> None:
    import numpy as np

    from grimoire.rl import PPO, evaluate_policy

    steps = 8_192 if t.quick else 16_384
    t.say("a diagonal Gaussian policy N(mu(s), sigma^2), sigma a learned state-independent parameter, "
          "actions clipped to [-2, 2]; clipped surrogate, GAE(0.95), 4 envs, minibatches of 64, 10 epochs")
    model = PPO("MlpPolicy", "Pendulum-v1", n_envs=4, n_steps=1024, gae_lambda=0.95, gamma=0.9, n_epochs=10,
                learning_rate=1e-3, seed=0)
    before, _ = evaluate_policy(model, "Pendulum-v1", n_eval_episodes=5, seed=100)
    model.learn(steps)
    after, _ = evaluate_policy(model, "Pendulum-v1", n_eval_episodes=5, seed=100)
    sigma = float(np.exp(model.policy.log_std.data[0]))
    t.say(f"mean return over 5 episodes: {before:.0f} untrained, {after:.0f} after {steps} steps"
          f" (sigma now {sigma:.2f})")
    returns, at = np.asarray(model.episode_returns_), np.asarray(model.episode_timesteps_)
    k = 10
    means = np.convolve(returns, np.ones(k) / k, "valid")  # mean of k consecutive training episodes
    hit = np.flatnonzero(means >= -300)
    if hit.size:
        reached = f"first reached -300 at step {at[hit[0] + k - 1]}"
    else:
        reached = f"stayed below -300 in this run (best {means.max():.0f})" if means.size else "had no value"
    t.say(f"training episodes: the mean return of {k} consecutive ones {reached}, over {returns.size} "
          f"episodes and {model.num_timesteps} steps; the bar of issue 14 (>= -300 within 200k steps, "
          "20 evaluation episodes) is what `python bench/rl_bars.py ppo_pendulum SEED` measures")


@section("4.3.5", "RLHF in miniature", "grimoire.rl.rlhf")
def rlhf(t: Tour) -> None:
    from grimoire.rl.rlhf import rlhf_miniature

    t.say("a char-level LM pretrained on the Zen of Python; a scripted judge prefers the sample with more "
          "vowels; a reward model learns its taste from 2000 pairs (Bradley-Terry); PPO fine-tunes the LM "
          "on r(x) - beta * log pi(x)/pi_ref(x)")
    r = rlhf_miniature(iterations=15 if t.quick else 30, seed=0)
    t.show("reward model agrees with the judge on fresh pairs", f"{r.reward_model_accuracy:.1%}")
    step = max(1, len(r.reward) // 8)
    t.show("reward per iteration", [round(x, 2) for x in r.reward[::step]])
    t.show("KL to the reference (nats/sequence)", [round(x, 1) for x in r.kl[::step]])
    t.show("judge's score (vowel fraction)", [round(x, 2) for x in r.judge[::step]])
    t.show("samples before", "\n".join(r.samples_before))
    t.show("samples after", "\n".join(r.samples_after))
