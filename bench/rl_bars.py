"""The must-reach bars of issue 14, one run per call (run it yourself; not part of CI).

    GRIMOIRE_NUM_THREADS=1 python bench/rl_bars.py ppo_cartpole 0

Trains one agent with one seed inside the step budget, evaluating every ``eval_freq`` steps over
20 deterministic episodes and stopping at the bar (EvalCallback); prints one line: family, seed,
bar reached or not, at which step, the evaluations and the wall-clock.
"""

from __future__ import annotations

import sys
import time

from grimoire.rl import A2C, DQN, PPO, REINFORCE, EvalCallback

BARS = {  # family: (constructor, env, kwargs, budget, bar, eval_freq)
    "ppo_cartpole": (
        PPO,
        "CartPole-v1",
        dict(
            n_envs=8,
            n_steps=32,
            batch_size=256,
            gae_lambda=0.8,
            gamma=0.98,
            n_epochs=20,
            learning_rate=1e-3,
            anneal_lr=True,
        ),
        100_000,
        475,
        10_000,
    ),
    "dqn_cartpole": (
        DQN,
        "CartPole-v1",
        dict(
            learning_rate=2.3e-3,
            batch_size=64,
            buffer_size=100_000,
            learning_starts=1000,
            target_update_interval=10,
            train_freq=256,
            gradient_steps=128,
            exploration_fraction=0.16,
            exploration_final_eps=0.04,
            policy_kwargs=dict(net_arch=[256, 256]),
        ),
        150_000,
        450,
        10_000,
    ),
    "ppo_pendulum": (
        PPO,
        "Pendulum-v1",
        dict(
            n_envs=4,
            n_steps=1024,
            gae_lambda=0.95,
            gamma=0.9,
            n_epochs=10,
            learning_rate=1e-3,
            anneal_lr=True,
        ),
        200_000,
        -300,
        20_000,
    ),
    "a2c_cartpole": (A2C, "CartPole-v1", dict(n_envs=8), 200_000, 400, 20_000),
    "reinforce_cartpole": (REINFORCE, "CartPole-v1", dict(), 200_000, 400, 20_000),
    # Not tuned on: defaults (PPO's Stable-Baselines3 defaults, DQN's per-family CartPole settings).
    "ppo_acrobot_defaults": (PPO, "Acrobot-v1", dict(n_envs=4, n_steps=512), 200_000, -100, 20_000),
}


def main(argv: list[str]) -> None:
    family, seed = argv[0], int(argv[1])
    cls, env, kwargs, budget, bar, eval_freq = BARS[family]
    start = time.perf_counter()
    model = cls("MlpPolicy", env, seed=seed, **kwargs)
    cb = EvalCallback(env, eval_freq=eval_freq, n_eval_episodes=20, reward_threshold=bar, seed=1000)

    def progress(m) -> bool:  # print each evaluation as it comes (a long run under load)
        n = len(cb.evaluations)
        go = cb(m)
        if len(cb.evaluations) > n:
            t, mean = cb.evaluations[-1]
            wall = time.perf_counter() - start
            print(f"  {family} seed={seed} step {t}: {mean:.1f} ({wall:.0f}s)", flush=True)
        return go

    model.learn(budget, callback=progress)
    seconds = time.perf_counter() - start
    reached = [t for t, m in cb.evaluations if m >= bar]
    evals = [(t, round(m, 1)) for t, m in cb.evaluations]
    print(
        f"{family} seed={seed} bar={bar} reached={f'yes at {reached[0]} steps' if reached else 'NO'} "
        f"steps={model.num_timesteps} wall={seconds:.0f}s evals={evals}",
        flush=True,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
