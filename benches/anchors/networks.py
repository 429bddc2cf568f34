"""Anchor of bench_networks: the PyTorch package's networks on the seed's three workloads, with
the shapes, losses, optimiser and thread count of the Rust side.

(a) one student step at batch 1 without autograd, the hidden state carried, the logits read;
(b) the teacher's forward + backward + Adam (lr 5e-4) at batch 8300 with PPO's clipped
    surrogate (clip 0.2), value loss x 0.5 and entropy x 0.005 on 10 categorical actions;
(c) ten distillation steps (Anymal.forward, noise strength 0.1) at batch 300 with the hidden
    state carried, one backward through all ten, Adam (lr 5e-4).
Medians of the timed repetitions after three warm-up calls. Prints one JSON line with the
seconds of each: {"a": ..., "b": ..., "c": ...}.
"""

import argparse
import json
import time

import torch
from anymal_belief_state_encoder_decoder_pytorch import Anymal


def median_of(iters, step):
    for _ in range(3):
        step()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def make_anymal():
    return Anymal(
        num_actions=10,
        num_legs=4,
        extero_dim=52,
        proprio_dim=133,
        privileged_dim=50,
        recon_loss_weight=0.5,
    )


def student_step(iters):
    student = make_anymal().student.eval()
    proprio, extero = torch.randn(1, 133), torch.randn(1, 4, 52)
    hiddens = [None]

    def step():
        with torch.no_grad():
            logits, hiddens[0] = student(proprio, extero, hiddens=hiddens[0])
            logits.numpy()

    return median_of(iters, step)


def teacher_update(iters):
    teacher = make_anymal().teacher
    optimizer = torch.optim.Adam(teacher.parameters(), lr=5e-4)
    batch = 8300
    proprio, extero, privileged = (
        torch.randn(batch, 133),
        torch.randn(batch, 4, 52),
        torch.randn(batch, 50),
    )
    actions = torch.randint(0, 10, (batch,))
    old_log_probs = torch.randn(batch) - 2.3
    advantages, returns = torch.randn(batch), torch.randn(batch)

    def step():
        dist, values = teacher(
            proprio,
            extero,
            privileged,
            return_value_head=True,
            return_action_categorical_dist=True,
        )
        ratio = (dist.log_prob(actions) - old_log_probs).exp()
        surrogate = torch.min(ratio * advantages, ratio.clamp(0.8, 1.2) * advantages)
        value_loss = (values - returns).pow(2).mean()
        loss = -surrogate.mean() + 0.5 * value_loss - 0.005 * dist.entropy().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return median_of(iters, step)


def student_tbptt(iters):
    anymal = make_anymal()
    anymal.init_student_with_teacher()
    optimizer = torch.optim.Adam(anymal.student.parameters(), lr=5e-4)
    batch, steps = 300, 10
    inputs = [
        (torch.randn(batch, 133), torch.randn(batch, 4, 52), torch.randn(batch, 50))
        for _ in range(steps)
    ]

    def step():
        hiddens, total = None, 0.0
        for proprio, extero, privileged in inputs:
            loss, hiddens = anymal(proprio, extero, privileged, hiddens=hiddens, noise_strength=0.1)
            total = total + loss
        optimizer.zero_grad()
        (total / steps).backward()
        optimizer.step()

    return median_of(iters, step)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--latency-iters", type=int, default=300)
    parser.add_argument("--train-iters", type=int, default=10)
    parser.add_argument("--workloads", default="a,b,c")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    chosen = args.workloads.split(",")
    result = {}
    if "a" in chosen:
        result["a"] = student_step(args.latency_iters)
    if "b" in chosen:
        result["b"] = teacher_update(args.train_iters)
    if "c" in chosen:
        result["c"] = student_tbptt(args.train_iters)
    result["torch"] = torch.__version__
    print(json.dumps(result))


if __name__ == "__main__":
    main()
