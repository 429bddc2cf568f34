//! The tutorial's PPO workflow on InvertedPendulum: train with TensorBoard logs and a progress
//! bar, evaluate every 10k steps with 10 deterministic episodes, stop when all 10 reach 1000
//! ("solved"), save the policy, reload it, and plot the learning curve and an evaluation
//! rollout.
//!
//! `cargo run --release --example pendulum_ppo` (then `tensorboard --logdir runs`)
//!
//! The tutorial's questions are options: `--delay 0.2` (the low-pass delay), `--frame-stack 10`
//! (its fix), `--shaped-reward` (reward shaping through a closure), `--lr-schedule affine
//! --lr 3e-3 --lr-end 3e-4` (its `affine_schedule(3e-4, 3e-3)`: 3e-3 at the start, 3e-4 at the
//! end).

use std::path::PathBuf;

use anymal::core::{
    ActionKind, MlpActorCritic, MlpActorCriticConfig, describe_device, parse_device,
};
use anymal::envs::video::VideoConfig;
use anymal::envs::{
    Env, PendulumTask, PendulumVersion, RewardFn, Step, VectorEnv, rollout_watched,
};
use anymal::plot::{Panel, Series, line_chart, line_charts};
use anymal::rl::{EvalProtocol, Logger, Policy, Ppo, PpoConfig, Schedule, train_with_evaluation};
use clap::{Parser, ValueEnum};

/// mimalloc keeps freed training buffers for reuse; glibc's malloc gives large ones back to the
/// OS and faults them in again on the next step (README, "Benchmarks").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    about = "Train PPO on InvertedPendulum until it is solved, save the policy, reload it, evaluate and plot.",
    allow_negative_numbers = true
)]
struct Args {
    /// Burn device: flex, ndarray, wgpu, ...
    #[arg(long, default_value = "flex")]
    device: String,
    /// Gymnasium version of the environment.
    #[arg(long, value_enum, default_value_t = Version::V4)]
    env: Version,
    /// Environments stepped together.
    #[arg(long, default_value_t = 8)]
    num_envs: usize,
    /// Worker threads stepping them.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Environment steps at most.
    #[arg(long, default_value_t = 200_000)]
    total_steps: u64,
    /// Seed of the network, the environments and the sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// TensorBoard and CSV logs go to LOGDIR/PPO_n.
    #[arg(long, default_value = "runs")]
    logdir: PathBuf,
    /// Checkpoint and plots go here.
    #[arg(long, default_value = "pendulum_ppo_out")]
    out: PathBuf,
    /// Time constant (s) of the tutorial's low-pass delay on actions and observations.
    #[arg(long)]
    delay: Option<f64>,
    /// Observations stacked.
    #[arg(long)]
    frame_stack: Option<usize>,
    /// Train on a shaped reward (upright and centred is better); evaluation keeps the original.
    #[arg(long)]
    shaped_reward: bool,
    /// Steps per environment per rollout.
    #[arg(long, default_value_t = PpoConfig::inverted_pendulum().n_steps)]
    n_steps: usize,
    /// Minibatch size.
    #[arg(long, default_value_t = PpoConfig::inverted_pendulum().batch_size)]
    batch_size: usize,
    /// Epochs per update.
    #[arg(long, default_value_t = PpoConfig::inverted_pendulum().n_epochs)]
    n_epochs: usize,
    /// Learning rate (at the start of training for a schedule).
    #[arg(long, default_value_t = PpoConfig::inverted_pendulum().learning_rate.value(1.0, 0))]
    lr: f64,
    /// How the learning rate evolves.
    #[arg(long, value_enum, default_value_t = LrSchedule::Constant)]
    lr_schedule: LrSchedule,
    /// Learning rate at the end (affine), or the decay factor per update (exponential).
    #[arg(long)]
    lr_end: Option<f64>,
    /// KL the adaptive-kl schedule aims for.
    #[arg(long, default_value_t = 0.01)]
    target_kl: f64,
    /// Clip range of the probability ratio.
    #[arg(long, default_value_t = 0.2)]
    clip_range: f64,
    /// Clip range at the end of training (affine clip-range schedule).
    #[arg(long)]
    clip_range_end: Option<f64>,
    /// Use Stable-Baselines3's defaults for every PPO hyperparameter (ignores the options above).
    #[arg(long)]
    sb3_defaults: bool,
    /// Evaluate every this many steps.
    #[arg(long, default_value_t = 10_000)]
    eval_freq: u64,
    /// Print SB3's table after every update.
    #[arg(long)]
    verbose: bool,
    /// Record the reloaded policy's evaluation episode to this file (.gif, or .mp4 with
    /// ffmpeg on the PATH), 640x480, every step (25 fps).
    #[arg(long)]
    video: Option<PathBuf>,
    /// Show the reloaded policy's evaluation episode in MuJoCo's viewer window, in real time (`human`; needs a display).
    #[arg(long, value_enum)]
    render: Option<anymal::cli::RenderMode>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Version {
    V4,
    V5,
}

#[derive(Clone, Copy, ValueEnum)]
enum LrSchedule {
    Constant,
    Affine,
    Exponential,
    AdaptiveKl,
}

/// Reward shaping for the tutorial's question 4: stay alive, upright and near the centre.
fn shaped_reward(step: &Step<Vec<f64>>) -> f64 {
    let (x, angle) = (step.obs[0], step.obs[1]);
    step.reward - 5.0 * angle * angle - 0.1 * x * x
}

fn main() -> std::process::ExitCode {
    anymal::cli::report(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    anymal::cli::output_dir(&args.out)?;
    let device = parse_device(&args.device)?;
    println!("device: {}", describe_device(&device));
    device.seed(args.seed);
    let train_device = device.clone().autodiff();

    let version = match args.env {
        Version::V4 => PendulumVersion::V4,
        Version::V5 => PendulumVersion::V5,
    };
    let eval_task = PendulumTask {
        delay: args.delay,
        frame_stack: args.frame_stack,
        ..PendulumTask::new(version)
    };
    // Fails here, before training, when the file cannot be written or nothing can render.
    let watch = anymal::cli::Watch::new(
        args.video.as_deref(),
        args.render,
        &eval_task.make()?,
        &rollout_video(),
    )?;
    let train_task = PendulumTask {
        reward: args.shaped_reward.then_some(shaped_reward as RewardFn),
        ..eval_task
    };
    let train_envs = (0..args.num_envs)
        .map(|_| train_task.make())
        .collect::<Result<Vec<_>, _>>()?;
    let mut envs = VectorEnv::new(train_envs, args.threads)?;
    let mut eval_envs = (0..10)
        .map(|_| eval_task.make())
        .collect::<Result<Vec<_>, _>>()?;
    let obs_dim = envs.single_observation_space().flat_dim();
    let action_space = envs.single_action_space().clone();

    let network = MlpActorCriticConfig::new(obs_dim, action_space.dim())
        .with_action_kind(ActionKind::Gaussian { init_log_std: 0.0 })
        .init(&train_device)?;
    let config = ppo_config(&args)?;
    let mut ppo = Ppo::new(
        config,
        network,
        &train_device,
        action_space,
        args.total_steps,
    )?;

    let mut logger = Logger::for_run(&args.logdir, "PPO")?
        .with_progress_bar(args.total_steps)
        .with_verbose(args.verbose);
    let protocol = EvalProtocol {
        every_steps: args.eval_freq,
        seed: 0,
        deterministic: true,
        solved_return: Some(1000.0),
        checkpoint: Some(args.out.join("pendulum_ppo.ckpt")),
    };
    let report =
        train_with_evaluation(&mut ppo, &mut envs, &mut eval_envs, &mut logger, &protocol)?;
    logger.finish();

    match report.solved {
        Some((steps, seconds)) => {
            println!("solved after {steps} steps in {seconds:.2} s (evaluation included)")
        }
        None => println!(
            "not solved within {} steps; last evaluation returns: {:?}",
            ppo.num_timesteps(),
            report
                .last_eval
                .iter()
                .map(|e| e.episode_return)
                .collect::<Vec<_>>()
        ),
    }
    let checkpoint = args.out.join("pendulum_ppo.ckpt");
    ppo.save(&checkpoint)?;
    println!("checkpoint: {}", checkpoint.display());
    if let Some(dir) = logger.run_dir() {
        println!(
            "logs: {} (tensorboard --logdir {})",
            dir.display(),
            args.logdir.display()
        );
    }

    // Reload the policy as a user would, and plot one deterministic evaluation episode.
    let mut policy: Policy<MlpActorCritic> = Policy::load(&checkpoint, &device)?;
    plot_learning_curve(&report.curve, &args.out.join("learning_curve.png"))?;
    plot_rollout(
        &mut policy,
        &eval_task,
        &args.out.join("evaluation_rollout.png"),
        watch,
    )?;
    println!(
        "plots: {} and {}",
        args.out.join("learning_curve.png").display(),
        args.out.join("evaluation_rollout.png").display()
    );
    Ok(())
}

/// The PPO configuration the options describe.
fn ppo_config(args: &Args) -> Result<PpoConfig, String> {
    if args.sb3_defaults {
        return Ok(PpoConfig::sb3().with_seed(args.seed));
    }
    let learning_rate = match (args.lr_schedule, args.lr_end) {
        (LrSchedule::Constant, _) => Schedule::Constant(args.lr),
        (LrSchedule::Affine, Some(end)) => Schedule::Affine {
            at_start: args.lr,
            at_end: end,
        },
        (LrSchedule::Exponential, Some(factor)) => Schedule::Exponential {
            initial: args.lr,
            factor,
        },
        (LrSchedule::AdaptiveKl, _) => Schedule::adaptive_kl(args.lr, args.target_kl),
        (_, None) => {
            return Err("--lr-end is needed by the affine and exponential schedules".into());
        }
    };
    let clip_range = match args.clip_range_end {
        Some(end) => Schedule::Affine {
            at_start: args.clip_range,
            at_end: end,
        },
        None => Schedule::Constant(args.clip_range),
    };
    Ok(PpoConfig::inverted_pendulum()
        .with_seed(args.seed)
        .with_n_steps(args.n_steps)
        .with_batch_size(args.batch_size)
        .with_n_epochs(args.n_epochs)
        .with_learning_rate(learning_rate)
        .with_clip_range(clip_range))
}

fn plot_learning_curve(
    curve: &[anymal::rl::CurvePoint],
    path: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let train = curve
        .iter()
        .filter_map(|p| p.train_return.map(|r| (p.steps as f64, r)))
        .collect();
    let eval = curve
        .iter()
        .filter_map(|p| p.eval_return.map(|r| (p.steps as f64, r)))
        .collect();
    line_chart(
        path,
        "InvertedPendulum PPO: mean episode return",
        "environment steps",
        "return",
        &[
            Series {
                name: "training episodes (last 100)".into(),
                points: train,
            },
            Series {
                name: "evaluation (10 deterministic episodes)".into(),
                points: eval,
            },
        ],
    )?;
    Ok(())
}

/// The evaluation video: 640x480, every step (the pendulum's 0.04 s steps: 25 frames/s).
fn rollout_video() -> VideoConfig {
    VideoConfig::default()
}

fn plot_rollout(
    policy: &mut Policy<MlpActorCritic>,
    task: &PendulumTask,
    path: &std::path::Path,
    mut watch: anymal::cli::Watch,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut env = task.make()?;
    let mut failure = None;
    let episode = rollout_watched(
        &mut env,
        Some(0),
        usize::MAX,
        |obs| {
            policy.predict(obs, true).unwrap_or_else(|e| {
                failure = Some(e);
                vec![f64::NAN]
            })
        },
        |env| watch.step(env),
    );
    if let Some(e) = failure {
        return Err(e.into());
    }
    let episode = episode?;
    println!(
        "reloaded policy: evaluation episode return {:.0}",
        episode.episode_return()
    );
    watch.save_video(None, env.dt())?;
    // With frame stacking the newest frame is the last four numbers (the tutorial's x[-1]).
    let trace = |i: usize, name: &str| {
        Series::trace(name, &episode.observations, env.dt(), |o| {
            o[o.len() - 4 + i]
        })
    };
    line_charts(
        path,
        "Evaluation rollout of the reloaded policy",
        "time (s)",
        &[
            Panel {
                y_label: "cart position (m)",
                series: &[trace(0, "cart position")],
            },
            Panel {
                y_label: "pole angle (rad)",
                series: &[trace(1, "pole angle")],
            },
        ],
    )?;
    Ok(())
}
