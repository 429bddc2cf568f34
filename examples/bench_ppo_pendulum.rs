//! Steps and wall-clock time to solve InvertedPendulum-v4 with PPO, median over 5 seeds, beside
//! Stable-Baselines3's default PPO measured in the same run with `--anchors`
//! (`benches/anchors/sb3_pendulum.py`) with the same protocol: evaluate every 10,000 steps with
//! 10 deterministic episodes from fixed reset seeds (evaluation time included); solved = all 10
//! returns equal 1000. Seed by seed the two sides alternate which runs first.
//!
//! `cargo run --release --example bench_ppo_pendulum [-- --anchors]`

use std::time::Instant;

use anymal::core::{MlpActorCriticConfig, parse_device};
use anymal::envs::{PendulumTask, PendulumVersion, VectorEnv};
use anymal::rl::{EvalProtocol, Logger, Ppo, PpoConfig, train_with_evaluation};
use clap::Parser;

/// mimalloc keeps freed training buffers for reuse; glibc's malloc gives large ones back to the
/// OS and faults them in again on the next step (README, "Benchmarks").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Also measure the anchor in the same run (README, "Benchmarks").
    #[command(flatten)]
    anchors: anymal::anchors::AnchorArgs,
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
    let anchors = args.anchors.prepare()?;
    if anchors.is_some() {
        println!(
            "SB3 PPO: its defaults (1 env, n_steps 2048, batch 64, 10 epochs, lr 3e-4), torch \
             on 2 threads; the same evaluation protocol and seeds"
        );
    }
    let sb3 = |seed: u64| -> Result<Option<Run>, Box<dyn std::error::Error>> {
        let Some(anchors) = &anchors else {
            return Ok(None);
        };
        let args = vec![
            "--seed".to_string(),
            seed.to_string(),
            "--max-steps".to_string(),
            args.max_steps.to_string(),
        ];
        let result = anchors.run("sb3_pendulum.py", &args)?;
        let number = |key: &str| {
            result[key]
                .as_f64()
                .ok_or_else(|| format!("sb3_pendulum.py printed no '{key}': {result}"))
        };
        let seconds = number("seconds")?;
        let steps = result["steps"].as_u64();
        Ok(Some(Run {
            seed,
            solved: steps.map(|steps| (steps, seconds)),
            fps: number("fps")?,
        }))
    };
    let mut runs = Vec::new();
    let mut sb3_runs = Vec::new();
    for seed in 0..args.seeds {
        if seed % 2 == 1 {
            sb3_runs.push(sb3(seed)?);
        }
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
        if seed % 2 == 0 {
            sb3_runs.push(sb3(seed)?);
        }
        if let Some(Some(sb3)) = sb3_runs.last() {
            println!("seed {seed}, SB3: {}", describe(sb3));
        }
    }

    println!("\n(odd seeds: SB3 ran first)\n");
    println!(
        "| seed | anymal steps | anymal wall-clock | anymal fps | SB3 steps | SB3 wall-clock | SB3 fps |"
    );
    println!("|---|---|---|---|---|---|---|");
    let cells = |run: &Run| match run.solved {
        Some((steps, secs)) => (format!("{steps}"), format!("{secs:.2} s"), run.fps),
        None => ("not solved".into(), "-".into(), run.fps),
    };
    for (run, sb3) in runs.iter().zip(&sb3_runs) {
        let (steps, secs, fps) = cells(run);
        let theirs = match sb3 {
            Some(sb3) => {
                let (steps, secs, fps) = cells(sb3);
                format!("{steps} | {secs} | {fps:.0}")
            }
            None => format!("{} | - | -", anymal::anchors::NOT_MEASURED),
        };
        println!("| {} | {steps} | {secs} | {fps:.0} | {theirs} |", run.seed);
    }
    let ours = median_solve(&runs);
    let theirs: Vec<Run> = sb3_runs.into_iter().flatten().collect();
    let theirs = (!theirs.is_empty()).then(|| median_solve(&theirs));
    match (ours, theirs) {
        (Some((steps, secs)), Some(Some((sb3_steps, sb3_secs)))) => println!(
            "| **median** | **{steps:.0}** | **{secs:.2} s** | | **{sb3_steps:.0}** | **{sb3_secs:.2} s** | |\n\n\
             wall-clock speed-up over SB3, same run: {:.1}x; steps {steps:.0} vs SB3's {sb3_steps:.0}",
            sb3_secs / secs
        ),
        (Some((steps, secs)), None) => println!(
            "| **median** | **{steps:.0}** | **{secs:.2} s** | | | | |\n\nSB3: {}",
            anymal::anchors::NOT_MEASURED
        ),
        (Some(_), Some(None)) => println!(
            "most SB3 seeds did not solve within {} steps",
            args.max_steps
        ),
        (None, _) => println!("most seeds did not solve within {} steps", args.max_steps),
    }
    Ok(())
}

/// The median steps and seconds to solve over `runs`, unsolved runs counting as infinitely
/// slow; `None` when most did not solve.
fn median_solve(runs: &[Run]) -> Option<(f64, f64)> {
    let solved: Vec<(u64, f64)> = runs.iter().filter_map(|r| r.solved).collect();
    if solved.len() * 2 <= runs.len() {
        return None;
    }
    let unsolved = runs.len() - solved.len();
    let mut steps: Vec<f64> = solved.iter().map(|s| s.0 as f64).collect();
    let mut secs: Vec<f64> = solved.iter().map(|s| s.1).collect();
    steps.extend(std::iter::repeat_n(f64::INFINITY, unsolved));
    secs.extend(std::iter::repeat_n(f64::INFINITY, unsolved));
    Some((median(steps), median(secs)))
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
