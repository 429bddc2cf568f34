//! Time to walk: trains the teacher from scratch with the `fast` preset on flat ground and
//! runs the flat-ground evaluation of [`anymal::teacher::evaluate_flat`] every `--eval-every`
//! environment steps, until it first passes (>= 90 % of the 8 success episodes walk 4 m in
//! 10 s, mean velocity-tracking error <= 0.15 m/s over all 16 episodes) or `--max-steps`.
//! For each seed it prints the steps and training wall-clock (evaluations excluded) to that
//! point, then the median over seeds, and where the training time went: physics (MuJoCo's
//! steps), the rest of the environment step (measurements, observations, rewards), the rollout's
//! network and bookkeeping, and the PPO update.
//!
//! `cargo run --release --example bench_teacher_walk -- --seeds 2,3,4 --threads 2`
//! (`--action cpg`: the same with the paper's CPG actions)

use std::path::PathBuf;
use std::time::Instant;

use anymal::core::{describe_device, parse_device};
use anymal::envs::VectorEnv;
use anymal::envs::legged::LeggedEnv;
use anymal::rl::{Logger, Ppo};
use anymal::teacher::{
    Action, FlatReport, Ground, Preset, TRAINING_EVALUATION_SEED, TeacherSetup, evaluate_flat,
};
use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    about = "Time to walk: train the teacher from scratch and evaluate it until it walks, over seeds.",
    allow_negative_numbers = true
)]
struct Args {
    /// Seeds, one training each (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "2,3,4")]
    seeds: Vec<u64>,
    /// Action space (default: the preset's joint targets).
    #[arg(long, value_enum)]
    action: Option<Action>,
    /// Environment copies.
    #[arg(long, default_value_t = 256)]
    num_envs: usize,
    /// Threads stepping the copies.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Environment steps between evaluations.
    #[arg(long, default_value_t = 1_000_000)]
    eval_every: u64,
    /// Give up after this many environment steps.
    #[arg(long, default_value_t = 20_000_000)]
    max_steps: u64,
    /// Device of the networks: flex (default CPU), ndarray or wgpu.
    #[arg(long, default_value = "flex")]
    device: String,
    /// Folder of the TensorBoard runs and CSV logs.
    #[arg(long, default_value = "runs")]
    logdir: PathBuf,
}

/// One seed's run.
struct Outcome {
    seed: u64,
    walked_at: Option<(u64, f64)>,
    last: FlatReport,
    shares: [f64; 4],
}

fn main() -> std::process::ExitCode {
    anymal::cli::report(run(Args::parse()))
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let device = parse_device(&args.device)?.autodiff();
    println!(
        "device: {}; {:?} actions; {} copies on {} threads; evaluation every {} steps",
        describe_device(&device),
        args.action.unwrap_or(Action::Joints),
        args.num_envs,
        args.threads,
        args.eval_every
    );
    let mut outcomes = Vec::new();
    for &seed in &args.seeds {
        outcomes.push(train_until_walking(&args, seed, &device)?);
    }

    println!(
        "\n| seed | steps to walk | training time to walk (s) | success | velocity error (m/s) |"
    );
    println!("|---|---|---|---|---|");
    for o in &outcomes {
        let (steps, time) = match o.walked_at {
            Some((steps, time)) => (steps.to_string(), format!("{time:.0}")),
            None => (format!("> {}", args.max_steps), "-".into()),
        };
        println!(
            "| {} | {steps} | {time} | {:.0} % | {:.3} |",
            o.seed,
            100.0 * o.last.success_rate,
            o.last.linear_error
        );
    }
    let mut times: Vec<f64> = outcomes
        .iter()
        .filter_map(|o| o.walked_at.map(|w| w.1))
        .collect();
    times.sort_by(f64::total_cmp);
    if times.len() == outcomes.len() && !times.is_empty() {
        println!(
            "median time to walk over {} seeds: {:.0} s ({:.1} min)",
            times.len(),
            times[times.len() / 2],
            times[times.len() / 2] / 60.0
        );
    } else {
        println!(
            "{} of {} seeds walked within {} steps",
            times.len(),
            outcomes.len(),
            args.max_steps
        );
    }
    println!("\n| seed | physics | rest of env step | rollout network and bookkeeping | update |");
    println!("|---|---|---|---|---|");
    for o in &outcomes {
        let [a, b, c, d] = o.shares.map(|s| format!("{:.0} %", 100.0 * s));
        println!("| {} | {a} | {b} | {c} | {d} |", o.seed);
    }
    Ok(())
}

fn train_until_walking(
    args: &Args,
    seed: u64,
    device: &anymal::core::burn::tensor::Device,
) -> Result<Outcome, Box<dyn std::error::Error>> {
    device.seed(seed);
    let setup = TeacherSetup {
        preset: Preset::Fast,
        ground: Ground::Flat,
        action: args.action,
        num_envs: args.num_envs,
        seed,
        reward_weights: Vec::new(),
    };
    let config = setup.env_config()?;
    let mut envs = VectorEnv::new(
        LeggedEnv::copies(config.clone(), args.num_envs)?,
        args.threads,
    )?;
    let space = envs.single_action_space().clone();
    let mut ppo = Ppo::new(
        setup.ppo_config(),
        setup.init_network(device)?,
        device,
        space,
        args.max_steps,
    )?;
    let mut logger = Logger::for_run(&args.logdir, &format!("bench_teacher_walk_seed{seed}"))?;
    let (mut training, mut next_eval) = (0.0, args.eval_every);
    let mut last = None;
    let mut walked_at = None;
    while ppo.num_timesteps() < args.max_steps {
        let started = Instant::now();
        ppo.iterate(&mut envs, &mut logger)?;
        training += started.elapsed().as_secs_f64();
        if ppo.num_timesteps() >= next_eval {
            next_eval += args.eval_every;
            let (report, _) = evaluate_flat(&mut ppo.policy(), &config, TRAINING_EVALUATION_SEED)?;
            println!(
                "seed {seed}: {} steps, {training:.0} s: {report}",
                ppo.num_timesteps()
            );
            last = Some(report);
            if report.walks() {
                walked_at = Some((ppo.num_timesteps(), training));
                break;
            }
        }
    }
    logger.finish();
    let split = ppo.time_split();
    let (physics, env_total) = envs.envs().fold((0.0, 0.0), |(p, t), env| {
        let s = env.time_spent();
        (p + s.physics, t + s.total)
    });
    // The copies step in parallel: their summed time over the threads is the env's wall time.
    let threads = args.threads.max(1) as f64;
    let (physics, env_wall) = (physics / threads, env_total / threads);
    let total = split.rollout + split.update;
    let shares = [
        physics / total,
        (env_wall - physics) / total,
        (split.rollout - env_wall).max(0.0) / total,
        split.update / total,
    ];
    Ok(Outcome {
        seed,
        walked_at,
        last: last.ok_or("no evaluation ran: --max-steps is below --eval-every")?,
        shares,
    })
}
