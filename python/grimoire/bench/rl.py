"""``grimoire bench rl``: PPO and DQN on CartPole-v1 beside Stable-Baselines3, same
hyper-parameters (rl-zoo's CartPole settings), one thread each.

Each run is its own process (grimoire with GRIMOIRE_NUM_THREADS=1, SB3 with
torch.set_num_threads(1)), the contenders alternating (grimoire, SB3, grimoire, ...) so a busy
moment of a shared machine hits both. Reported: wall-clock seconds per 100k environment steps of
``learn`` (median over --repeats) and the final mean return over 20 deterministic evaluation
episodes. Ratio = SB3 time / grimoire time (above 1: grimoire is faster). DQN runs without
Double DQN here, as SB3's DQN has none.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from grimoire.bench import table

PPO_KW = dict(
    n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0, clip_range=0.2
)
DQN_KW = dict(
    learning_rate=2.3e-3,
    batch_size=64,
    buffer_size=100_000,
    learning_starts=1000,
    gamma=0.99,
    target_update_interval=10,
    train_freq=256,
    gradient_steps=128,
    exploration_fraction=0.16,
    exploration_final_eps=0.04,
    max_grad_norm=10.0,
)


def _worker(lib: str, algo: str, steps: int, seed: int) -> dict:
    env_id = "CartPole-v1"
    if lib == "grimoire":
        from grimoire.rl import DQN, PPO, evaluate_policy

        if algo == "ppo":
            model = PPO(
                "MlpPolicy", env_id, n_envs=8, learning_rate=1e-3, anneal_lr=True, seed=seed, **PPO_KW
            )
        else:
            model = DQN(
                "MlpPolicy",
                env_id,
                double_q=False,
                policy_kwargs=dict(net_arch=[256, 256]),
                seed=seed,
                **DQN_KW,
            )
    else:
        import torch
        from stable_baselines3 import DQN, PPO
        from stable_baselines3.common.env_util import make_vec_env
        from stable_baselines3.common.evaluation import evaluate_policy

        torch.set_num_threads(1)
        if algo == "ppo":
            model = PPO(
                "MlpPolicy",
                make_vec_env(env_id, n_envs=8, seed=seed),
                learning_rate=lambda f: 1e-3 * f,
                seed=seed,
                device="cpu",
                **PPO_KW,
            )
        else:
            model = DQN(
                "MlpPolicy",
                env_id,
                policy_kwargs=dict(net_arch=[256, 256]),
                seed=seed,
                device="cpu",
                **DQN_KW,
            )
    start = time.perf_counter()
    model.learn(steps)
    seconds = time.perf_counter() - start
    import gymnasium as gym

    env = gym.make(env_id)
    if lib == "sb3":  # SB3's evaluate_policy wants its Monitor wrapper (same episodes either way)
        from stable_baselines3.common.monitor import Monitor

        env = Monitor(env)
    env.reset(seed=1000)
    mean, _ = evaluate_policy(model, env, n_eval_episodes=20, deterministic=True)
    return {"seconds": seconds, "mean_return": float(mean)}


def _run(lib: str, algo: str, steps: int, seed: int) -> dict:
    env = {**os.environ, "GRIMOIRE_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "grimoire.bench.rl", "--worker", lib, algo, str(steps), str(seed)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="grimoire bench rl", description=__doc__)
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--algo", choices=["ppo", "dqn", "both"], default="both")
    ap.add_argument("--worker", nargs=4, metavar=("LIB", "ALGO", "STEPS", "SEED"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        lib, algo, steps, seed = args.worker
        print(json.dumps(_worker(lib, algo, int(steps), int(seed))), flush=True)
        return
    algos = ["ppo", "dqn"] if args.algo == "both" else [args.algo]
    results = {(a, lib): [] for a in algos for lib in ("grimoire", "sb3")}
    for rep in range(args.repeats):
        for algo in algos:
            for lib in ("grimoire", "sb3") if rep % 2 == 0 else ("sb3", "grimoire"):
                r = _run(lib, algo, args.steps, seed=rep)
                results[(algo, lib)].append(r)
                print(
                    f"  {algo} {lib} seed {rep}: {r['seconds']:.1f} s, mean return {r['mean_return']:.1f}",
                    flush=True,
                )
    rows = []
    for algo in algos:
        per = {
            lib: statistics.median(r["seconds"] for r in results[(algo, lib)]) * 1e5 / args.steps
            for lib in ("grimoire", "sb3")
        }
        for lib in ("grimoire", "sb3"):
            returns = [round(r["mean_return"], 1) for r in results[(algo, lib)]]
            ratio = f"{per['sb3'] / per['grimoire']:.2f}x" if lib == "grimoire" else ""
            rows.append([f"{algo.upper()} {lib}", per[lib], str(returns), ratio])
    print(
        f"rl: CartPole-v1, {args.steps} steps a run, {args.repeats} run(s) each, 1 thread, one process a run"
    )
    print(table(["agent", "s / 100k steps", "final mean return (20 ep.)", "SB3 / grimoire"], rows))


if __name__ == "__main__":
    main()
