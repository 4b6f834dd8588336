"""What every deep agent shares: environments, observation normalisation, episode bookkeeping,
``predict``, ``save``/``load`` and ``evaluate_policy`` (Stable-Baselines3's API).

A saved model is one safetensors file: the policy's weights (and the observation statistics)
as tensors, the algorithm's name, its hyper-parameters and the spaces as JSON in the header's
metadata. Never pickle.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike

try:
    import gymnasium as gym
    from gymnasium import spaces
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("grimoire.rl needs gymnasium: pip install 'grimoire[tour]'") from exc

from .. import nn

FORMAT = "grimoire.rl/1"
Callback = Callable[["BaseAlgorithm"], "bool | None"]
#: An environment: a Gymnasium id, a ``gymnasium.Env``, or a vector env made by :func:`make_vec_env`.
EnvLike = str | gym.Env | gym.vector.VectorEnv


class Predictor(Protocol):
    """What :func:`evaluate_policy` runs: the deep and the tabular agents."""

    def predict(self, observation: Any, *, deterministic: bool = ...) -> tuple[Any, Any]: ...


# ------------------------------------------------------------------------------- environments
def make_vec_env(
    env: EnvLike,
    n_envs: int = 1,
    seed: int | None = None,
    vec_env_cls: type | None = None,
    vec_env_kwargs: dict | None = None,
) -> gym.vector.VectorEnv:
    """A vector env of ``n_envs`` copies (autoreset in the same step, so a finished episode's
    last observation is in ``info["final_obs"]``) from an environment id, a ``gymnasium.Env``
    (more copies are made from its spec) or a vector env made that way (returned as it is).

    Parameters
    ----------
    env : str, gymnasium.Env or gymnasium.vector.VectorEnv
    n_envs : int
        Number of copies, >= 1.
    seed : int, optional
        Copy i is reset with seed + i (the same for either class, so rollouts agree).
    vec_env_cls : type, optional
        ``gymnasium.vector.SyncVectorEnv`` (the default: the copies step one after the other in
        this process) or ``gymnasium.vector.AsyncVectorEnv`` (one worker process per copy). Async
        pays when one ``step`` costs more than the round trip to a worker (about 0.2 ms here):
        physics simulators, emulators, rendering; a ``gymnasium.Env`` instance given as ``env``
        is then copied into its worker. For the classic-control tasks async is the slower one
        (CartPole, 4 copies: about 10x, measured on 2 shared cores).
    vec_env_kwargs : dict, optional
        Passed to the class (e.g. ``context="spawn"`` or ``shared_memory=False`` for async).
    """
    if not isinstance(n_envs, (int, np.integer)) or isinstance(n_envs, bool) or n_envs < 1:
        raise ValueError(f"n_envs must be an integer >= 1, got {n_envs!r}")
    if vec_env_cls is None:
        vec_env_cls = gym.vector.SyncVectorEnv
    if not (isinstance(vec_env_cls, type) and issubclass(vec_env_cls, gym.vector.VectorEnv)):
        raise TypeError(
            "vec_env_cls must be gymnasium.vector.SyncVectorEnv or AsyncVectorEnv (a VectorEnv "
            f"class), got {vec_env_cls!r}"
        )
    vec_env_kwargs = dict(vec_env_kwargs or {})
    if "autoreset_mode" in vec_env_kwargs:
        raise ValueError("vec_env_kwargs: autoreset_mode is fixed to AutoresetMode.SAME_STEP")
    same_step = gym.vector.AutoresetMode.SAME_STEP
    if isinstance(env, gym.vector.VectorEnv):
        if env.metadata.get("autoreset_mode") != same_step:
            raise ValueError(
                "env: a vector env must be made with autoreset_mode=AutoresetMode.SAME_STEP "
                f"(got {env.metadata.get('autoreset_mode')})"
            )
        return env
    if isinstance(env, str):
        if env not in gym.registry:
            raise ValueError(f"env: no Gymnasium environment registered as {env!r}")
        fns = [lambda: gym.make(env) for _ in range(n_envs)]
    elif isinstance(env, gym.Env):
        if n_envs > 1 and env.spec is None:
            raise ValueError(
                "n_envs > 1 needs env as an id or a registered environment (this one has no spec)"
            )
        fns = [lambda: env] + [lambda: gym.make(env.spec) for _ in range(n_envs - 1)]
    else:
        raise TypeError(
            f"env must be a Gymnasium environment id, gymnasium.Env or VectorEnv, got {type(env).__name__}"
        )
    vec = vec_env_cls(fns, autoreset_mode=same_step, **vec_env_kwargs)
    vec.reset(seed=seed)
    return vec


def _space_to_json(space: spaces.Space) -> dict:
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n)}
    return {
        "type": "Box",
        "shape": list(space.shape),
        "dtype": str(space.dtype),
        "low": space.low.astype(float).ravel().tolist(),
        "high": space.high.astype(float).ravel().tolist(),
    }


def _space_from_json(d: dict) -> spaces.Space:
    if d["type"] == "Discrete":
        return spaces.Discrete(d["n"])
    shape = tuple(d["shape"])
    return spaces.Box(
        np.array(d["low"], dtype=d["dtype"]).reshape(shape),
        np.array(d["high"], dtype=d["dtype"]).reshape(shape),
        shape=shape,
        dtype=np.dtype(d["dtype"]),
    )


class RunningMeanStd:
    """Mean and variance of every observation seen, merged batch by batch (Chan et al.), as
    Stable-Baselines3's ``VecNormalize``: x' = clip((x - mean) / sqrt(var + eps), -clip, clip)."""

    def __init__(self, shape: tuple[int, ...], clip: float = 10.0, eps: float = 1e-8):
        self.mean, self.var = np.zeros(shape, np.float64), np.ones(shape, np.float64)
        self.count, self.clip, self.eps = 1e-4, clip, eps

    def update(self, x: np.ndarray) -> None:
        b_mean, b_var, n = x.mean(axis=0), x.var(axis=0), x.shape[0]
        delta, total = b_mean - self.mean, self.count + n
        self.mean = self.mean + delta * n / total
        self.var = (self.var * self.count + b_var * n + delta * delta * self.count * n / total) / total
        self.count = total

    def normalize(self, x: np.ndarray) -> np.ndarray:
        return np.clip((x - self.mean) / np.sqrt(self.var + self.eps), -self.clip, self.clip).astype(
            np.float32
        )


# ------------------------------------------------------------------------------------ the base
class BaseAlgorithm:
    """``Algo("MlpPolicy", env, ...)``, ``learn``, ``predict``, ``save``/``load``.

    Subclasses list their hyper-parameters in ``_hyper`` (saved as JSON), build their networks
    in ``_build`` and train in ``_learn``. After ``learn``: ``episode_returns_``,
    ``episode_lengths_`` and ``episode_timesteps_`` (the step count at each episode's end), one
    entry per finished training episode, for a learning curve.
    """

    _hyper: tuple[str, ...] = ()
    _discrete_only = False

    def __init__(
        self,
        policy: str,
        env: EnvLike | None,
        *,
        n_envs: int,
        seed: int | None,
        normalize_obs: bool,
        policy_kwargs: dict | None,
        verbose: int,
    ):
        if policy != "MlpPolicy":
            raise ValueError(f"policy must be 'MlpPolicy', got {policy!r}")
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
        self.seed, self.normalize_obs, self.verbose = seed, bool(normalize_obs), verbose
        self.policy_kwargs = dict(policy_kwargs or {})
        self.env = None if env is None else make_vec_env(env, n_envs, seed)
        self.n_envs = n_envs if self.env is None else self.env.num_envs
        if self.env is not None:
            self._set_spaces(self.env.single_observation_space, self.env.single_action_space)
        self.rng = np.random.default_rng(seed)
        self.num_timesteps = 0
        self.episode_returns_: list[float] = []
        self.episode_lengths_: list[int] = []
        self.episode_timesteps_: list[int] = []

    def _set_spaces(self, obs_space, action_space) -> None:
        if not isinstance(obs_space, spaces.Box):
            raise TypeError(f"env: the observation space must be a Box, got {obs_space}")
        if self._discrete_only and not isinstance(action_space, spaces.Discrete):
            raise TypeError(f"env: {type(self).__name__} needs a Discrete action space, got {action_space}")
        if not isinstance(action_space, (spaces.Discrete, spaces.Box)):
            raise TypeError(f"env: the action space must be Discrete or Box, got {action_space}")
        self.observation_space, self.action_space = obs_space, action_space
        self.obs_dim = int(np.prod(obs_space.shape))
        self.discrete = isinstance(action_space, spaces.Discrete)
        self.action_dim = int(action_space.n) if self.discrete else int(np.prod(action_space.shape))
        self.obs_rms = RunningMeanStd((self.obs_dim,)) if self.normalize_obs else None
        self._build()

    def _build(self) -> None:
        raise NotImplementedError

    def _networks(self) -> dict[str, nn.Module]:
        """The modules whose weights ``save`` writes (by prefix)."""
        raise NotImplementedError

    # ---------------------------------------------------------------- observations, episodes
    def _prepare(self, obs: np.ndarray, update: bool = False) -> np.ndarray:
        """Flatten to (B, obs_dim) float32, update the running statistics if asked, normalise."""
        x = np.asarray(obs, dtype=np.float32).reshape(-1, self.obs_dim)
        if self.obs_rms is None:
            return x
        if update:
            self.obs_rms.update(x)
        return self.obs_rms.normalize(x)

    def _start(self) -> np.ndarray:
        obs, _ = self.env.reset(seed=None if self.seed is None else self.seed + self.num_timesteps)
        self._ep_return = np.zeros(self.n_envs)
        self._ep_length = np.zeros(self.n_envs, dtype=np.int64)
        return obs

    def _record(self, rewards: np.ndarray, dones: np.ndarray) -> None:
        """Add one vector step to the running episode returns; log the finished episodes."""
        self._ep_return += rewards
        self._ep_length += 1
        self.num_timesteps += self.n_envs
        for i in np.flatnonzero(dones):
            self.episode_returns_.append(float(self._ep_return[i]))
            self.episode_lengths_.append(int(self._ep_length[i]))
            self.episode_timesteps_.append(self.num_timesteps)
            self._ep_return[i], self._ep_length[i] = 0.0, 0

    def _env_action(self, actions: np.ndarray) -> np.ndarray:
        """Box actions clipped to the bounds (the policy's sample is kept unclipped for training)."""
        if self.discrete:
            return actions
        shape = (-1, *self.action_space.shape)
        return np.clip(actions.reshape(shape), self.action_space.low, self.action_space.high)

    # ---------------------------------------------------------------- the public API
    def learn(
        self,
        total_timesteps: int,
        callback: Callback | list[Callback] | None = None,
        progress_bar: bool = False,
    ) -> BaseAlgorithm:
        """Train for ``total_timesteps`` environment steps (counted over all parallel envs).
        ``callback(model)`` runs after every vector step; returning False stops training."""
        if not isinstance(total_timesteps, (int, np.integer)) or total_timesteps < 1:
            raise ValueError(f"total_timesteps must be an integer >= 1, got {total_timesteps!r}")
        if self.env is None:
            raise RuntimeError("learn needs an environment: load(path, env=...) or construct with env")
        callbacks = [] if callback is None else (list(callback) if isinstance(callback, list) else [callback])
        for cb in callbacks:
            if not callable(cb):
                raise TypeError(f"callback must be callable (model -> bool | None), got {type(cb).__name__}")
        bar = None
        if progress_bar:
            from tqdm.auto import tqdm

            bar = tqdm(total=int(total_timesteps), disable=None, unit="step")

        def on_step() -> bool:
            if bar is not None:
                bar.update(self.n_envs)
            return all(cb(self) is not False for cb in callbacks)

        try:
            self._learn(self.num_timesteps + int(total_timesteps), on_step)
        finally:
            if bar is not None:
                bar.close()
        return self

    def _learn(self, end: int, on_step: Callable[[], bool]) -> None:
        raise NotImplementedError

    def _policy_actions(self, x: np.ndarray, deterministic: bool) -> np.ndarray:
        raise NotImplementedError

    def predict(
        self, observation: ArrayLike, state: None = None, episode_start: ArrayLike | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, None]:
        """The action for one observation (``observation_space.shape``) or a batch (B, ...):
        ``(action, None)``, as Stable-Baselines3 (the None is the recurrent state it has not)."""
        obs = np.asarray(observation, dtype=np.float32)
        shape = self.observation_space.shape
        single = obs.shape == shape
        if not single and obs.shape[1:] != shape:
            raise ValueError(f"observation must have shape {shape} or (batch, *{shape}), got {obs.shape}")
        actions = self._env_action(self._policy_actions(self._prepare(obs), deterministic))
        if self.discrete:
            actions = actions.astype(np.int64)
        return (actions[0] if single else actions), None

    def save(self, path: str | os.PathLike) -> None:
        """One safetensors file: weights and observation statistics as tensors, the algorithm,
        hyper-parameters and spaces as JSON metadata; written atomically."""
        tensors = {
            f"{name}.{k}": v for name, mod in self._networks().items() for k, v in mod.state_dict().items()
        }
        if self.obs_rms is not None:
            tensors["obs_rms.mean"], tensors["obs_rms.var"] = self.obs_rms.mean, self.obs_rms.var
        config = {
            "algorithm": type(self).__name__,
            "seed": self.seed,
            "normalize_obs": self.normalize_obs,
            "policy_kwargs": self.policy_kwargs,
            "hyperparameters": {k: getattr(self, k) for k in self._hyper},
            "observation_space": _space_to_json(self.observation_space),
            "action_space": _space_to_json(self.action_space),
            "num_timesteps": self.num_timesteps,
            "obs_rms_count": None if self.obs_rms is None else self.obs_rms.count,
        }
        nn.save_safetensors(tensors, path, metadata={"format": FORMAT, "config": json.dumps(config)})

    @classmethod
    def load(cls, path: str | os.PathLike, env: EnvLike | None = None) -> BaseAlgorithm:
        """A model written by :meth:`save`; ``env`` (optional) to go on training."""
        from safetensors import safe_open

        with safe_open(os.fspath(path), framework="numpy") as f:
            meta = f.metadata() or {}
        if meta.get("format") != FORMAT:
            raise ValueError(
                f"path: {os.fspath(path)!r} is not a grimoire.rl model (format {meta.get('format')!r})"
            )
        config = json.loads(meta["config"])
        if config["algorithm"] != cls.__name__:
            raise ValueError(f"path holds a {config['algorithm']} model, not a {cls.__name__}")
        model = cls.__new__(cls)
        BaseAlgorithm.__init__(
            model,
            "MlpPolicy",
            None,
            n_envs=1,
            seed=config["seed"],
            normalize_obs=config["normalize_obs"],
            policy_kwargs=config["policy_kwargs"],
            verbose=0,
        )
        for k, v in config["hyperparameters"].items():
            setattr(model, k, v)
        model._set_spaces(
            _space_from_json(config["observation_space"]), _space_from_json(config["action_space"])
        )
        tensors = nn.load_safetensors(path)
        for name, mod in model._networks().items():
            prefix = name + "."
            mod.load_state_dict({k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)})
        if model.obs_rms is not None:
            model.obs_rms.mean, model.obs_rms.var = tensors["obs_rms.mean"], tensors["obs_rms.var"]
            model.obs_rms.count = config["obs_rms_count"]
        model.num_timesteps = config["num_timesteps"]
        if env is not None:
            model.set_env(env)
        return model

    def set_env(self, env: EnvLike) -> None:
        vec = make_vec_env(env, self.n_envs if not isinstance(env, gym.vector.VectorEnv) else 1, self.seed)
        if (
            vec.single_observation_space.shape != self.observation_space.shape
            or vec.single_action_space != self.action_space
        ):
            raise ValueError(
                f"env: its spaces {vec.single_observation_space}, {vec.single_action_space} "
                f"differ from the model's {self.observation_space}, {self.action_space}"
            )
        self.env, self.n_envs = vec, vec.num_envs


# ------------------------------------------------------------------------------- evaluation
def evaluate_policy(
    model: Predictor,
    env: str | gym.Env,
    n_eval_episodes: int = 10,
    deterministic: bool = True,
    seed: int | None = None,
    return_episode_rewards: bool = False,
) -> tuple[float, float] | tuple[list[float], list[int]]:
    """Run ``n_eval_episodes`` full episodes with ``model.predict``: ``(mean, std)`` of their
    returns, or the lists ``(returns, lengths)`` with ``return_episode_rewards``.

    ``model`` is any object with ``predict(obs, deterministic=)`` (the deep and tabular agents);
    ``env`` an id or a ``gymnasium.Env``, stepped one episode after another."""
    if not hasattr(model, "predict"):
        raise TypeError(f"model must have a predict method, got {type(model).__name__}")
    if not isinstance(n_eval_episodes, (int, np.integer)) or n_eval_episodes < 1:
        raise ValueError(f"n_eval_episodes must be an integer >= 1, got {n_eval_episodes!r}")
    if isinstance(env, str):
        env = gym.make(env)
    elif not isinstance(env, gym.Env):
        raise TypeError(f"env must be a Gymnasium environment id or gymnasium.Env, got {type(env).__name__}")
    returns, lengths = [], []
    for episode in range(n_eval_episodes):
        obs, _ = env.reset(seed=None if seed is None else seed + episode)
        total, steps, done = 0.0, 0, False
        while not done:
            action, _ = model.predict(obs, deterministic=deterministic)
            obs, reward, terminated, truncated, _ = env.step(action)
            total, steps, done = total + float(reward), steps + 1, terminated or truncated
        returns.append(total)
        lengths.append(steps)
    if return_episode_rewards:
        return returns, lengths
    return float(np.mean(returns)), float(np.std(returns))


class EvalCallback:
    """Every ``eval_freq`` steps, evaluate the model on ``eval_env`` (``n_eval_episodes``,
    deterministic); records ``(timesteps, mean_return)`` in ``evaluations`` and stops training
    once the mean reaches ``reward_threshold`` (Stable-Baselines3's EvalCallback with
    StopTrainingOnRewardThreshold)."""

    def __init__(
        self,
        eval_env: str | gym.Env,
        eval_freq: int = 10_000,
        n_eval_episodes: int = 20,
        reward_threshold: float | None = None,
        seed: int | None = 0,
    ):
        if eval_freq < 1:
            raise ValueError(f"eval_freq must be >= 1, got {eval_freq}")
        self.eval_env, self.eval_freq, self.n_eval_episodes = eval_env, eval_freq, n_eval_episodes
        self.reward_threshold, self.seed = reward_threshold, seed
        self.evaluations: list[tuple[int, float]] = []
        self._next = eval_freq

    def __call__(self, model: BaseAlgorithm) -> bool:
        if model.num_timesteps < self._next:
            return True
        self._next = model.num_timesteps + self.eval_freq
        mean, _ = evaluate_policy(model, self.eval_env, self.n_eval_episodes, seed=self.seed)
        self.evaluations.append((model.num_timesteps, mean))
        return self.reward_threshold is None or mean < self.reward_threshold
