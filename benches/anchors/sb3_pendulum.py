"""Anchor of bench_ppo_pendulum: Stable-Baselines3's default PPO on Gymnasium's
InvertedPendulum-v4, with the Rust side's protocol: every 10,000 steps, 10 deterministic
episodes from reset seeds 0..9 (evaluation time included); solved when all 10 returns are 1000.

Prints one JSON line: {"seed": ..., "steps": steps to solve or null, "seconds": ..., "fps": ...}.
"""

import argparse
import json
import time

import gymnasium as gym
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback


def solved(model, env):
    for seed in range(10):
        obs, _ = env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += reward
            done = terminated or truncated
        if total != 1000.0:
            return False
    return True


class EvaluateEvery(BaseCallback):
    def __init__(self, every):
        super().__init__()
        self.every = every
        self.eval_env = gym.make("InvertedPendulum-v4")
        self.solved_at = None

    def _on_step(self):
        if self.num_timesteps % self.every == 0 and solved(self.model, self.eval_env):
            self.solved_at = self.num_timesteps
            return False
        return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    model = PPO("MlpPolicy", gym.make("InvertedPendulum-v4"), seed=args.seed, device="cpu")
    callback = EvaluateEvery(10_000)
    model.learn(total_timesteps=args.max_steps, callback=callback)
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "seed": args.seed,
                "steps": callback.solved_at,
                "seconds": seconds,
                "fps": model.num_timesteps / seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
