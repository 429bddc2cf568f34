"""Anchor of bench_envs: Gymnasium's InvertedPendulum-v4 stepped with random actions on one core.

Prints one JSON line: {"steps_per_second": ...}. Episodes that end are reset, as in the Rust
side; actions are drawn uniformly from the action space (+-3), seeded.
"""

import argparse
import json
import time

import gymnasium as gym
import numpy as np


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    env = gym.make("InvertedPendulum-v4")
    rng = np.random.default_rng(args.seed)
    actions = rng.uniform(-3.0, 3.0, size=(args.steps, 1))
    env.reset(seed=args.seed)
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    elapsed = time.perf_counter() - start
    print(json.dumps({"steps_per_second": args.steps / elapsed}))


if __name__ == "__main__":
    main()
