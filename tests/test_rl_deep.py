"""grimoire.rl's deep agents: losses and gradients against hand-computed values and PyTorch,
GAE against a direct reference (truncation included), reproducibility, save/load, errors."""

import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from grimoire.autograd import Tensor
from grimoire.rl import A2C, DQN, PPO, REINFORCE, ActorCritic, QLearning, evaluate_policy, make_vec_env
from grimoire.rl.losses import dqn_loss, dqn_target, gae, huber_loss, ppo_policy_loss, value_loss
from grimoire.rl.policies import categorical_log_prob_entropy, gaussian_log_prob_entropy
from grimoire.rl.rlhf import bradley_terry_loss, rlhf_miniature
from safetensors import safe_open


# ------------------------------------------------------------------------------------- GAE
def gae_direct(rewards, values, next_values, terminated, truncated, gamma, lam):
    """A_t = sum_l (gamma lambda)^l delta_{t+l}, the sum stopping after the step that ends the
    episode (terminated or truncated) or at the end of the rollout: no recursion."""
    T, N = rewards.shape
    deltas = rewards + gamma * (1 - terminated) * next_values - values
    adv = np.zeros((T, N))
    for n in range(N):
        for t in range(T):
            total, weight = 0.0, 1.0
            for k in range(t, T):
                total += weight * deltas[k, n]
                if terminated[k, n] or truncated[k, n]:
                    break
                weight *= gamma * lam
            adv[t, n] = total
    return adv


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("lam", [0.0, 0.8, 1.0])
def test_gae_matches_the_direct_sum_with_terminations_and_truncations(seed, lam):
    rng = np.random.default_rng(seed)
    T, N = 17, 3
    r, v, nv = (rng.standard_normal((T, N)).astype(np.float32) for _ in range(3))
    term = rng.random((T, N)) < 0.15
    trunc = (rng.random((T, N)) < 0.15) & ~term
    adv, ret = gae(r, v, nv, term, trunc, 0.97, lam)
    ref = gae_direct(r.astype(np.float64), v, nv, term, trunc, 0.97, lam)
    np.testing.assert_allclose(adv, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ret, ref + v, rtol=1e-5, atol=1e-5)


def test_gae_by_hand_bootstraps_a_truncation_and_not_a_termination():
    # one env, 3 steps: step 0 truncated (V(final) = 10), step 1 plain, step 2 terminated.
    r = np.array([[1.0], [2.0], [3.0]])
    v = np.array([[0.5], [1.0], [2.0]])
    nv = np.array([[10.0], [2.0], [99.0]])  # 99 must be ignored: terminated
    term = np.array([[False], [False], [True]])
    trunc = np.array([[True], [False], [False]])
    g, lam = 0.9, 0.5
    d0 = 1 + g * 10 - 0.5  # bootstrapped from the final observation, and the sum stops
    d2 = 3 - 2.0
    d1 = 2 + g * 2.0 - 1.0
    adv, _ = gae(r, v, nv, term, trunc, g, lam)
    np.testing.assert_allclose(adv[:, 0], [d0, d1 + g * lam * d2, d2], rtol=1e-6)


def test_gae_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="share one shape"):
        gae(
            np.zeros((3, 2)), np.zeros((3, 2)), np.zeros((3, 1)), np.zeros((3, 2)), np.zeros((3, 2)), 0.9, 0.9
        )


# ------------------------------------------------------------------------------------- losses vs torch
def test_ppo_policy_loss_and_gradient_match_torch_and_a_hand_value():
    rng = np.random.default_rng(0)
    logp = rng.standard_normal(32).astype(np.float32) * 0.3
    old = logp + rng.standard_normal(32).astype(np.float32) * 0.3  # ratios both sides of the clip
    adv = rng.standard_normal(32).astype(np.float32)
    x = Tensor(logp, requires_grad=True)
    loss = ppo_policy_loss(x, old, adv, 0.2)
    loss.backward()
    xt = torch.tensor(logp, requires_grad=True)
    ratio = torch.exp(xt - torch.tensor(old))
    at = torch.tensor(adv)
    lt = -torch.min(ratio * at, torch.clamp(ratio, 0.8, 1.2) * at).mean()
    lt.backward()
    np.testing.assert_allclose(loss.item(), lt.item(), rtol=1e-5)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-5, atol=1e-7)
    # by hand: ratio 2 with A = 1 is clipped to 1.2 (no gradient); ratio 0.5 with A = 1 is not.
    one = ppo_policy_loss(
        Tensor(np.log([2.0, 0.5], dtype=np.float32)), np.zeros(2, np.float32), np.ones(2, np.float32), 0.2
    )
    assert one.item() == pytest.approx(-(1.2 + 0.5) / 2, rel=1e-6)


@pytest.mark.parametrize("clip", [None, 0.3])
def test_value_loss_matches_torch(clip):
    rng = np.random.default_rng(1)
    v, old, ret = (rng.standard_normal(20).astype(np.float32) for _ in range(3))
    x = Tensor(v, requires_grad=True)
    loss = value_loss(x, ret, old, clip)
    loss.backward()
    xt = torch.tensor(v, requires_grad=True)
    pred = xt if clip is None else torch.tensor(old) + torch.clamp(xt - torch.tensor(old), -clip, clip)
    lt = torch.nn.functional.mse_loss(pred, torch.tensor(ret))
    lt.backward()
    np.testing.assert_allclose(loss.item(), lt.item(), rtol=1e-5)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_huber_and_dqn_loss_match_torch_smooth_l1():
    rng = np.random.default_rng(2)
    q = (rng.standard_normal((16, 3)) * 2).astype(np.float32)
    actions = rng.integers(0, 3, 16)
    y = (rng.standard_normal(16) * 2).astype(np.float32)
    x = Tensor(q, requires_grad=True)
    loss = dqn_loss(x, actions, y)
    loss.backward()
    qt = torch.tensor(q, requires_grad=True)
    lt = torch.nn.functional.smooth_l1_loss(
        qt.gather(1, torch.tensor(actions)[:, None])[:, 0], torch.tensor(y)
    )
    lt.backward()
    np.testing.assert_allclose(loss.item(), lt.item(), rtol=1e-5)
    np.testing.assert_allclose(x.grad, qt.grad.numpy(), rtol=1e-5, atol=1e-7)
    # by hand: d = 0.5 -> 0.125, d = 3 -> 2.5
    assert huber_loss(
        Tensor(np.array([0.5, 3.0], np.float32)), np.zeros(2, np.float32)
    ).item() == pytest.approx((0.125 + 2.5) / 2)


def test_dqn_target_and_double_dqn_by_hand():
    r = np.array([1.0, 1.0], np.float32)
    q_target = np.array([[1.0, 5.0], [2.0, 3.0]], np.float32)
    q_online = np.array([[9.0, 0.0], [0.0, 1.0]], np.float32)
    term = np.array([False, True])
    np.testing.assert_allclose(dqn_target(r, q_target, term, 0.5), [1 + 0.5 * 5, 1])
    # Double DQN: the online net picks action 0 in row 0, the target net scores it (1.0).
    np.testing.assert_allclose(dqn_target(r, q_target, term, 0.5, q_online), [1 + 0.5 * 1, 1])


def test_categorical_and_gaussian_log_prob_entropy_match_torch_distributions():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((10, 4)).astype(np.float32)
    actions = rng.integers(0, 4, 10)
    z = Tensor(logits, requires_grad=True)
    lp, ent = categorical_log_prob_entropy(z, actions)
    (lp.sum() + ent.sum() * 0.3).backward()
    zt = torch.tensor(logits, requires_grad=True)
    dist = torch.distributions.Categorical(logits=zt)
    (dist.log_prob(torch.tensor(actions)).sum() + dist.entropy().sum() * 0.3).backward()
    np.testing.assert_allclose(lp.data, dist.log_prob(torch.tensor(actions)).detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(ent.data, dist.entropy().detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(z.grad, zt.grad.numpy(), rtol=1e-4, atol=1e-6)

    mean = rng.standard_normal((10, 2)).astype(np.float32)
    log_std = np.array([-0.5, 0.3], np.float32)
    a = rng.standard_normal((10, 2)).astype(np.float32)
    m, s = Tensor(mean, requires_grad=True), Tensor(log_std, requires_grad=True)
    lp, ent = gaussian_log_prob_entropy(m, s, a)
    (lp.sum() + ent.sum()).backward()
    mt, st = torch.tensor(mean, requires_grad=True), torch.tensor(log_std, requires_grad=True)
    normal = torch.distributions.Normal(mt, st.exp())
    lpt, entt = normal.log_prob(torch.tensor(a)).sum(-1), normal.entropy().sum(-1)
    (lpt.sum() + entt.sum()).backward()
    np.testing.assert_allclose(lp.data, lpt.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ent.data, entt.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(m.grad, mt.grad.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(s.grad, st.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_bradley_terry_loss_matches_torch_logsigmoid():
    rng = np.random.default_rng(4)
    w, lo = rng.standard_normal(12).astype(np.float32), rng.standard_normal(12).astype(np.float32)
    a, b = Tensor(w, requires_grad=True), Tensor(lo, requires_grad=True)
    loss = bradley_terry_loss(a, b)
    loss.backward()
    at, bt = torch.tensor(w, requires_grad=True), torch.tensor(lo, requires_grad=True)
    lt = -torch.nn.functional.logsigmoid(at - bt).mean()
    lt.backward()
    np.testing.assert_allclose(loss.item(), lt.item(), rtol=1e-5)
    np.testing.assert_allclose(a.grad, at.grad.numpy(), rtol=1e-5, atol=1e-7)
    assert bradley_terry_loss(Tensor([0.0]), Tensor([0.0])).item() == pytest.approx(math.log(2))


# ------------------------------------------------------------------------------------- the rollout
class CountingEnv(gym.Env):
    """obs = [t]; reward 1 a step; terminated at t == end_at, else truncated by the TimeLimit."""

    def __init__(self, end_at=None):
        self.observation_space = gym.spaces.Box(-1e3, 1e3, (1,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.end_at = end_at

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0], np.float32), {}

    def step(self, action):
        self.t += 1
        return np.array([self.t], np.float32), 1.0, self.t == self.end_at, False, {}


def test_rollout_bootstraps_a_truncated_episode_from_its_final_observation():
    env = gym.wrappers.TimeLimit(CountingEnv(), max_episode_steps=3)
    model = PPO("MlpPolicy", env, n_steps=7, seed=0)
    buf, _, _ = model._collect(model._start(), lambda: True)
    v = model.policy.value(np.arange(4, dtype=np.float32)[:, None])
    trunc_steps = np.flatnonzero(buf["rewards"][:, 0] == 1)  # every step; episodes of 3
    assert trunc_steps.size == 7
    # steps 2 and 5 end by truncation at t = 3: bootstrapped from V([3]), not from the reset obs V([0])
    np.testing.assert_allclose(buf["next_values"][[2, 5], 0], [v[3], v[3]], rtol=1e-5)
    np.testing.assert_allclose(buf["next_values"][[0, 1], 0], [v[1], v[2]], rtol=1e-5)
    assert model.episode_returns_ == [3.0, 3.0] and model.episode_lengths_ == [3, 3]


def test_terminated_steps_are_not_bootstrapped():
    env = gym.wrappers.TimeLimit(CountingEnv(end_at=2), max_episode_steps=10)
    model = PPO("MlpPolicy", env, n_steps=4, gae_lambda=0.0, gamma=0.9, seed=0)
    buf, _, _ = model._collect(model._start(), lambda: True)
    # lambda 0: A = delta; at the terminating step (t=1) delta = r - V(s)
    np.testing.assert_allclose(buf["advantages"][1, 0], 1.0 - buf["values"][1, 0], rtol=1e-5)


# ------------------------------------------------------------------------------------- reproducibility, io
@pytest.mark.parametrize(
    "cls, kw",
    [
        (PPO, dict(n_steps=32, batch_size=16, n_epochs=2, n_envs=2)),
        (A2C, dict(n_envs=2)),
        (REINFORCE, dict(n_steps=64, n_envs=2)),
        (DQN, dict(learning_starts=50, train_freq=4, target_update_interval=50)),
    ],
)
def test_a_seed_makes_a_run_reproducible(cls, kw):
    runs = []
    for seed in (7, 7, 8):
        m = cls("MlpPolicy", "CartPole-v1", seed=seed, **kw).learn(400)
        runs.append(
            (
                m.episode_returns_,
                [p.data.copy() for p in m._networks()[next(iter(m._networks()))].parameters()],
            )
        )
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(runs[0][1], runs[2][1], strict=True))


def test_async_vector_env_gives_the_rollouts_of_sync_with_the_same_seed():
    def rollout(vec_env_cls):
        vec = make_vec_env("CartPole-v1", 3, seed=11, vec_env_cls=vec_env_cls)
        try:
            actions = np.random.default_rng(0).integers(0, 2, (60, 3))  # random play: episodes end
            obs, _ = vec.reset(seed=11)
            steps = [obs]
            for a in actions:
                obs, reward, terminated, truncated, info = vec.step(a)
                done = info.get("_final_obs", np.zeros(3, bool))
                final = np.zeros((3, 4))
                for i in np.flatnonzero(done):
                    final[i] = info["final_obs"][i]
                steps += [obs, reward, terminated, truncated, final]
            return steps
        finally:
            vec.close()

    sync, asynchronous = rollout(None), rollout(gym.vector.AsyncVectorEnv)
    assert sum(int(s.sum()) for s in sync[3::5]) >= 2  # episodes did end (the autoreset is covered)
    for a, b in zip(sync, asynchronous, strict=True):
        np.testing.assert_array_equal(a, b)
    # an agent trained on either collects the same experience and learns the same weights
    weights = []
    for vec_env_cls in (gym.vector.SyncVectorEnv, gym.vector.AsyncVectorEnv):
        vec = make_vec_env("CartPole-v1", 2, seed=3, vec_env_cls=vec_env_cls)
        try:
            m = PPO("MlpPolicy", vec, seed=3, n_steps=32, batch_size=32, n_epochs=1).learn(128)
            weights.append((m.episode_returns_, [p.data.copy() for p in m.policy.parameters()]))
        finally:
            vec.close()
    assert weights[0][0] == weights[1][0]
    for a, b in zip(weights[0][1], weights[1][1], strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match="vec_env_cls must be"):
        make_vec_env("CartPole-v1", 2, vec_env_cls="async")
    with pytest.raises(ValueError, match="autoreset_mode is fixed"):
        make_vec_env("CartPole-v1", 2, vec_env_kwargs={"autoreset_mode": "NextStep"})


@pytest.mark.parametrize(
    "cls, env, kw",
    [
        (PPO, "Pendulum-v1", dict(n_steps=64, normalize_obs=True)),
        (DQN, "CartPole-v1", dict(learning_starts=10, normalize_obs=True)),
        (A2C, "CartPole-v1", dict()),
    ],
)
def test_save_load_round_trip_is_safetensors_and_predicts_the_same(tmp_path, cls, env, kw):
    m = cls("MlpPolicy", env, seed=0, **kw).learn(200)
    path = tmp_path / "model.safetensors"
    m.save(path)
    with safe_open(str(path), framework="numpy") as f:  # a plain safetensors file, no pickle
        assert f.metadata()["format"] == "grimoire.rl/1"
    loaded = cls.load(path)
    obs = np.stack([gym.make(env).reset(seed=s)[0] for s in range(5)])
    np.testing.assert_array_equal(
        loaded.predict(obs, deterministic=True)[0], m.predict(obs, deterministic=True)[0]
    )
    a, _ = loaded.predict(obs[0], deterministic=True)
    assert np.shape(a) == gym.make(env).action_space.shape
    other = DQN if cls is PPO else PPO
    with pytest.raises(ValueError, match=f"holds a {cls.__name__} model, not a {other.__name__}"):
        other.load(path)


def test_box_actions_are_clipped_to_the_bounds():
    m = PPO("MlpPolicy", "Pendulum-v1", seed=0, policy_kwargs=dict(log_std_init=3.0), n_steps=8)
    a, _ = m.predict(np.zeros((256, 3), np.float32), deterministic=False)
    assert a.min() >= -2.0 and a.max() <= 2.0 and np.abs(a).max() == 2.0


def test_evaluate_policy_matches_a_manual_loop_and_tabular_agents_predict():
    m = PPO("MlpPolicy", "CartPole-v1", n_steps=32, seed=0)
    env = gym.make("CartPole-v1")
    returns, lengths = evaluate_policy(m, env, 3, seed=5, return_episode_rewards=True)
    manual = []
    for ep in range(3):
        obs, _ = env.reset(seed=5 + ep)
        total, done = 0.0, False
        while not done:
            obs, r, te, tr, _ = env.step(int(m.predict(obs, deterministic=True)[0]))
            total, done = total + r, te or tr
        manual.append(total)
    assert returns == manual and lengths == [int(x) for x in manual]
    frozen = gym.make("FrozenLake-v1", is_slippery=False)
    q = QLearning(random_state=0).fit(frozen, n_episodes=300)
    assert np.array_equal(q.predict(np.arange(16))[0], q.policy())
    assert evaluate_policy(q, frozen, 2)[0] == 1.0
    ac = ActorCritic(random_state=0).fit(frozen, n_episodes=50)
    assert int(ac.predict(0)[0]) == ac.policy()[0]
    with pytest.raises(ValueError, match="observation"):
        q.predict(99)


def test_bad_input_raises_naming_the_argument():
    with pytest.raises(TypeError, match="env: DQN needs a Discrete action space"):
        DQN("MlpPolicy", "Pendulum-v1")
    with pytest.raises(ValueError, match="policy must be 'MlpPolicy'"):
        PPO("CnnPolicy", "CartPole-v1")
    with pytest.raises(ValueError, match="n_steps must be an integer >= 1"):
        PPO("MlpPolicy", "CartPole-v1", n_steps=0)
    with pytest.raises(TypeError, match="env must be a Gymnasium"):
        PPO("MlpPolicy", object())
    with pytest.raises(ValueError, match="env: no Gymnasium environment registered"):
        A2C("MlpPolicy", "NoSuchEnv-v0")
    with pytest.raises(TypeError, match="observation space must be a Box"):
        PPO("MlpPolicy", "FrozenLake-v1")
    with pytest.raises(TypeError, match="policy_kwargs"):
        PPO("MlpPolicy", "CartPole-v1", policy_kwargs=dict(no_such=1))
    with pytest.raises(ValueError, match="gamma must be in"):
        A2C("MlpPolicy", "CartPole-v1", gamma=1.5)
    m = PPO("MlpPolicy", "CartPole-v1", n_steps=8)
    with pytest.raises(ValueError, match="observation must have shape"):
        m.predict(np.zeros(3))
    with pytest.raises(ValueError, match="total_timesteps"):
        m.learn(0)
    with pytest.raises(TypeError, match="callback must be callable"):
        m.learn(8, callback=3)


def test_a_callback_returning_false_stops_training():
    m = PPO("MlpPolicy", "CartPole-v1", n_steps=16, seed=0)
    m.learn(10_000, callback=lambda model: model.num_timesteps < 40)
    assert 40 <= m.num_timesteps <= 48


# ------------------------------------------------------------------------------------- learning (slow)
@pytest.mark.slow
def test_a2c_learns_cartpole_in_a_small_budget():
    m = A2C("MlpPolicy", "CartPole-v1", n_envs=8, seed=0)
    untrained = evaluate_policy(m, "CartPole-v1", 10, seed=100)[0]
    m.learn(20_000)
    assert untrained < 50 and evaluate_policy(m, "CartPole-v1", 10, seed=100)[0] >= 100


@pytest.mark.slow
def test_rlhf_reward_rises_with_the_kl_bounded_and_the_samples_change():
    r = rlhf_miniature(iterations=30, seed=0)
    assert r.reward_model_accuracy > 0.85
    assert np.mean(r.reward[-5:]) > np.mean(r.reward[:3]) + 1.5  # in reference-sample std units
    assert np.mean(r.judge[-5:]) > np.mean(r.judge[:3]) + 0.1  # the judge agrees
    assert max(r.kl) < 30.0  # nats per 24-character sequence
    assert r.samples_after != r.samples_before
