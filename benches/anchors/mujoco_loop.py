"""Anchor of bench_legged: the raw mj_step loop through MuJoCo's Python bindings, on the
compiled model the Rust side steps (written by bench_legged as a binary MJB file).

Per policy step: new position targets (the standing pose plus uniform offsets of +-0.3 rad),
then `decimation` mj_step calls; the state is reset when the base has dropped by 0.28 m.
Prints one JSON line: {"policy_steps_per_second": ...}.
"""

import argparse
import json
import time

import mujoco
import numpy as np


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, help="the compiled model (.mjb)")
    parser.add_argument("--setup", required=True, help="JSON: qpos, actuators, pose, root_z, decimation")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model = mujoco.MjModel.from_binary_path(args.model)
    data = mujoco.MjData(model)
    with open(args.setup) as f:
        setup = json.load(f)
    initial = np.array(setup["qpos"])
    actuators = np.array(setup["actuators"])
    pose = np.array(setup["pose"])
    root_z, decimation = setup["root_z"], setup["decimation"]
    data.qpos[:] = initial
    mujoco.mj_forward(model, data)
    rng = np.random.default_rng(args.seed)
    offsets = rng.uniform(-0.3, 0.3, size=(args.steps, len(actuators)))
    start = time.perf_counter()
    for offset in offsets:
        data.ctrl[actuators] = pose + offset
        for _ in range(decimation):
            mujoco.mj_step(model, data)
        if data.qpos[root_z] - initial[root_z] < -0.28:
            data.qpos[:] = initial
            data.qvel[:] = 0.0
    elapsed = time.perf_counter() - start
    print(json.dumps({"policy_steps_per_second": args.steps / elapsed}))


if __name__ == "__main__":
    main()
