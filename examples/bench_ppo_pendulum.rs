//! Steps and wall-clock time to solve InvertedPendulum-v4 with PPO, median over 5 seeds, beside
//! Stable-Baselines3 measured on this machine kind with the same protocol: evaluate every 10,000
//! steps with 10 deterministic episodes from fixed reset seeds (evaluation time included);
//! solved = all 10 returns equal 1000.
//!
//! `cargo run --release --example bench_ppo_pendulum`

use std::time::Instant;

use anymal::core::{MlpActorCriticConfig, parse_device};
use anymal::envs::{PendulumTask, PendulumVersion, VectorEnv};
use anymal::rl::{EvalProtocol, Logger, Ppo, PpoConfig, train_with_evaluation};
use clap::Parser;

/// mimalloc keeps freed training buffers for reuse; glibc's malloc gives large ones back to the
/// OS and faults them in again on the next step (README, "Benchmarks").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// SB3 2.9.2 default PPO, torch 2.15 with 2 threads, Gymnasium 1.1.1 InvertedPendulum-v4:
/// (seed, steps to solve, seconds to solve, fps).
const SB3: [(u64, u64, f64, f64); 5] = [
    (0, 40_000, 35.1, 1141.0),
    (1, 30_000, 31.1, 965.0),
    (2, 30_000, 32.8, 914.0),
    (3, 30_000, 32.4, 926.0),
    (4, 30_000, 34.4, 873.0),
];

#[derive(Parser)]
#[command(
    about = "PPO benchmark: steps and time to solve InvertedPendulum-v4 over seeds, beside Stable-Baselines3.",
    allow_negative_numbers = true
)]
struct Args {
    /// Burn device.
    #[arg(long, default_value = "flex")]
    device: String,
    /// Seeds 0..SEEDS.
    #[arg(long, default_value_t = 5)]
    seeds: u64,
    /// Environments stepped together.
    #[arg(long, default_value_t = 8)]
    num_envs: usize,
    /// Worker threads stepping them.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Give up after this many steps.
    #[arg(long, default_value_t = 100_000)]
    max_steps: u64,
}

struct Run {
    seed: u64,
    solved: Option<(u64, f64)>,
    fps: f64,
}

fn main() -> std::process::ExitCode {
    anymal::cli::report(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let device = parse_device(&args.device)?;
    let config = PpoConfig::inverted_pendulum();
    println!(
        "anymal PPO: {} envs x n_steps {}, batch {}, {} epochs, lr {:?}, {} threads, device {}",
        args.num_envs,
        config.n_steps,
        config.batch_size,
        config.n_epochs,
        config.learning_rate,
        args.threads,
        args.device
    );
    let mut runs = Vec::new();
    for seed in 0..args.seeds {
        let started = Instant::now();
        device.seed(seed);
        let train_device = device.clone().autodiff();
        let task = PendulumTask::new(PendulumVersion::V4);
        let envs = (0..args.num_envs)
            .map(|_| task.make())
            .collect::<Result<Vec<_>, _>>()?;
        let mut envs = VectorEnv::new(envs, args.threads)?;
        let mut eval_envs = (0..10)
            .map(|_| task.make())
            .collect::<Result<Vec<_>, _>>()?;
        let space = envs.single_action_space().clone();
        let network = MlpActorCriticConfig::new(4, 1).init(&train_device)?;
        let config = PpoConfig::inverted_pendulum().with_seed(seed);
        let mut ppo = Ppo::new(config, network, &train_device, space, args.max_steps)?;
        let protocol = EvalProtocol {
            every_steps: 10_000,
            seed: 0,
            deterministic: true,
            solved_return: Some(1000.0),
            checkpoint: None, // timed: no file writes
        };
        let report = train_with_evaluation(
            &mut ppo,
            &mut envs,
            &mut eval_envs,
            &mut Logger::new(),
            &protocol,
        )?;
        let seconds = started.elapsed().as_secs_f64();
        let run = Run {
            seed,
            solved: report.solved.map(|(steps, _)| (steps, seconds)),
            fps: ppo.num_timesteps() as f64 / seconds,
        };
        println!("seed {seed}: {}", describe(&run));
        runs.push(run);
    }

    println!();
    println!(
        "| seed | anymal steps | anymal wall-clock | anymal fps | SB3 steps | SB3 wall-clock | SB3 fps |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (run, sb3) in runs.iter().zip(SB3.iter().cycle()) {
        let (steps, secs) = match run.solved {
            Some((steps, secs)) => (format!("{steps}"), format!("{secs:.2} s")),
            None => ("not solved".into(), "-".into()),
        };
        println!(
            "| {} | {steps} | {secs} | {:.0} | {} | {:.1} s | {:.0} |",
            run.seed, run.fps, sb3.1, sb3.2, sb3.3
        );
    }
    let solved: Vec<(u64, f64)> = runs.iter().filter_map(|r| r.solved).collect();
    if solved.len() * 2 > runs.len() {
        let unsolved = runs.len() - solved.len();
        // Unsolved runs count as infinitely slow for the median.
        let mut steps: Vec<f64> = solved.iter().map(|s| s.0 as f64).collect();
        let mut secs: Vec<f64> = solved.iter().map(|s| s.1).collect();
        steps.extend(std::iter::repeat_n(f64::INFINITY, unsolved));
        secs.extend(std::iter::repeat_n(f64::INFINITY, unsolved));
        let (steps, secs) = (median(steps), median(secs));
        let sb3_secs = median(SB3.iter().map(|s| s.2).collect());
        let sb3_steps = median(SB3.iter().map(|s| s.1 as f64).collect());
        println!(
            "| **median** | **{steps:.0}** | **{secs:.2} s** | | **{sb3_steps:.0}** | **{sb3_secs:.1} s** | |"
        );
        println!();
        println!(
            "wall-clock speed-up over SB3: {:.1}x (target 20x, i.e. <= {:.2} s); steps {steps:.0} vs SB3's {sb3_steps:.0} (target: no more)",
            sb3_secs / secs,
            sb3_secs / 20.0
        );
    } else {
        println!("most seeds did not solve within {} steps", args.max_steps);
    }
    Ok(())
}

fn describe(run: &Run) -> String {
    match run.solved {
        Some((steps, secs)) => format!(
            "solved after {steps} steps in {secs:.2} s ({:.0} fps)",
            run.fps
        ),
        None => format!("not solved ({:.0} fps)", run.fps),
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}
