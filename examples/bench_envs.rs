//! Environment throughput with random actions: one InvertedPendulum-v4, two on two threads, and
//! the vector env on 1 and 2 worker threads, beside the ceiling measured in the same run (a tight
//! loop of raw `mj_step` on the same model and states, two per environment step)
//! and, with `--anchors`, Gymnasium's Python env measured in the same run (its random-action
//! step rate, `benches/anchors/gym_pendulum.py`). Medians of 5 rounds; each round runs every
//! setup once, so that a slow period of a shared machine falls on all of them alike; the
//! anchor runs first in odd rounds and last in even ones. Besides the
//! ratio to the one-thread ceiling per core, each row shows the ratio to the raw loop on as many
//! threads: on a shared machine the second core often gives much less than a first one.
//!
//! `cargo run --release --example bench_envs`

use std::time::Instant;

use anymal::envs::{Env, InvertedPendulum, PendulumVersion, VectorEnv, make_inverted_pendulum};
use clap::Parser;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Parser)]
#[command(
    about = "Environment benchmark: steps per second of the pendulum and vector envs beside a raw mj_step loop.",
    allow_negative_numbers = true
)]
struct Args {
    /// Environment steps per measurement (per thread).
    #[arg(long, default_value_t = 200_000)]
    steps: usize,
    /// Copies in the vector env.
    #[arg(long, default_value_t = 64)]
    num_envs: usize,
    /// Repetitions; the median is reported.
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Also measure the anchor in the same run (README, "Benchmarks").
    #[command(flatten)]
    anchors: anymal::anchors::AnchorArgs,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Steps per second of `f`, which performs `steps` steps.
fn rate(steps: usize, f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    steps as f64 / start.elapsed().as_secs_f64()
}

/// `steps` environment steps' worth of raw `mj_step` calls (two each), resetting the state when
/// the pole falls past 0.2 rad as the environment does, so that both simulate the same states.
fn raw_mj_steps(steps: usize) {
    let mut env = InvertedPendulum::new(PendulumVersion::V4);
    env.reset(Some(0));
    let sim = env.sim_mut();
    for _ in 0..steps {
        sim.raw_step();
        sim.raw_step();
        if sim.qpos()[1].abs() > 0.2 {
            sim.reset();
        }
    }
    std::hint::black_box(sim.time());
}

fn single_env(steps: usize, seed: u64) {
    let mut env = make_inverted_pendulum(PendulumVersion::V4);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    env.reset(Some(seed));
    for _ in 0..steps {
        let step = env
            .step(&[rng.random_range(-3.0..3.0)])
            .expect("valid action");
        if step.done() {
            env.reset(None);
        }
    }
}

fn on_two_threads(f: impl Fn() + Sync) {
    std::thread::scope(|s| {
        s.spawn(&f);
        s.spawn(&f);
    });
}

/// Steps per second of a vector env of `num_envs` copies on `threads` threads, over about
/// `steps` environment steps.
fn vector_env(num_envs: usize, threads: usize, steps: usize) -> f64 {
    let envs = (0..num_envs)
        .map(|_| make_inverted_pendulum(PendulumVersion::V4))
        .collect();
    let mut vec_env = VectorEnv::new(envs, threads).expect("valid vector env");
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    vec_env.reset(Some(0));
    let mut actions = vec![0.0; num_envs];
    let batches = steps / num_envs;
    let start = Instant::now();
    for _ in 0..batches {
        actions
            .iter_mut()
            .for_each(|a| *a = rng.random_range(-3.0..3.0));
        vec_env.step(&actions).expect("valid actions");
    }
    (batches * num_envs) as f64 / start.elapsed().as_secs_f64()
}

fn main() -> std::process::ExitCode {
    anymal::cli::report(run(Args::parse()))
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let anchors = args.anchors.prepare()?;
    let gymnasium = |seed: u64| -> Result<f64, Box<dyn std::error::Error>> {
        let anchors = anchors.as_ref().expect("asked for");
        let args = vec![
            "--steps".to_string(),
            args.steps.to_string(),
            "--seed".to_string(),
            seed.to_string(),
        ];
        anchors.measure("gym_pendulum.py", &args, "steps_per_second")
    };
    let n = args.steps;
    let setups: [&dyn Fn() -> f64; 6] = [
        &|| rate(n, || raw_mj_steps(n)),
        &|| rate(2 * n, || on_two_threads(|| raw_mj_steps(n))),
        &|| rate(n, || single_env(n, 0)),
        &|| rate(2 * n, || on_two_threads(|| single_env(n, 1))),
        &|| vector_env(args.num_envs, 1, n),
        &|| vector_env(args.num_envs, 2, 2 * n),
    ];
    let mut rates: [Vec<f64>; 6] = Default::default();
    let mut gym_rates = Vec::new();
    for round in 0..args.repeats {
        let anchor_first = round % 2 == 1;
        if anchors.is_some() && anchor_first {
            gym_rates.push(gymnasium(round as u64)?);
        }
        for (setup, rates) in setups.iter().zip(rates.iter_mut()) {
            rates.push(setup());
        }
        if anchors.is_some() && !anchor_first {
            gym_rates.push(gymnasium(round as u64)?);
        }
    }
    let [ceiling, ceiling_2, one, two, vec1, vec2] = rates.map(median);
    let gym = (!gym_rates.is_empty()).then(|| median(gym_rates));

    println!(
        "InvertedPendulum-v4, random actions; ceiling = tight loop of raw mj_step, 2 per env step\n"
    );
    println!(
        "| setup | cores | env steps/s | of the ceiling per core | of the raw loop on as many threads | speed-up over 1 core |"
    );
    println!("|---|---|---|---|---|---|");
    let row = |name: &str, cores: usize, value: f64, base: f64| {
        let same_cores = if cores == 1 { ceiling } else { ceiling_2 };
        println!(
            "| {name} | {cores} | {value:.0} | {:.2} | {:.2} | {:.2}x |",
            value / (ceiling * cores as f64),
            value / same_cores,
            value / base
        );
    };
    row("ceiling: raw mj_step loop", 1, ceiling, ceiling);
    row(
        "ceiling: raw mj_step loop, 2 threads",
        2,
        ceiling_2,
        ceiling,
    );
    row("1 env", 1, one, one);
    row("2 envs, one per thread", 2, two, one);
    row(
        &format!("VectorEnv({}), 1 worker thread", args.num_envs),
        1,
        vec1,
        vec1,
    );
    row(
        &format!("VectorEnv({}), 2 worker threads", args.num_envs),
        2,
        vec2,
        vec1,
    );
    if let Some(gym) = gym {
        row("Gymnasium 1.1.1 (Python), same run", 1, gym, gym);
    }
    println!(
        "\n1 env against Gymnasium's InvertedPendulum-v4 (steps/s, ratio): {}",
        anymal::anchors::versus(one, gym)
    );
    Ok(())
}
