//! PPO trains the paper's teacher (Gaussian actions, privileged observations, running
//! observation statistics saved with the model) on the quadruped, on flat ground or on the
//! terrain grid with its curriculum. The presets are described in [`anymal::teacher`].
//!
//! Writes TensorBoard and CSV logs (every reward term as `rewards/<term>`, tracking errors,
//! terrain level, the reward curriculum, terminations by cause, `episode/success`, fps), a
//! checkpoint every 50 updates (`--resume` continues it), and at the end the model
//! (`teacher.bpk`, with its normaliser) and its card (`teacher.json`: setup, command line,
//! steps, time, commit, flat-ground evaluation), then prints the flat-ground evaluation.
//!
//! `cargo run --release --example anymal_teacher -- --terrain flat --preset fast`

use std::path::PathBuf;

use anymal::core::{describe_device, parse_device};
use anymal::envs::VectorEnv;
use anymal::envs::legged::LeggedEnv;
use anymal::rl::{Logger, Ppo};
use anymal::teacher::{
    Action, Ground, Preset, TRAINING_EVALUATION_SEED, TeacherCard, TeacherSetup, current_commit,
    evaluate_flat,
};
use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    about = "Train the paper's teacher with PPO on the quadruped (flat or rough), evaluate it and save it with its card.",
    allow_negative_numbers = true
)]
struct Args {
    /// Ground: a plane, or the tile grid with the terrain curriculum.
    #[arg(long, value_enum, default_value = "flat")]
    terrain: Ground,
    /// Action space (default: the preset's).
    #[arg(long, value_enum)]
    action: Option<Action>,
    /// PPO settings and reward.
    #[arg(long, value_enum, default_value = "fast")]
    preset: Preset,
    /// Environment copies.
    #[arg(long, default_value_t = 256)]
    num_envs: usize,
    /// Threads stepping the copies.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Environment steps to train for.
    #[arg(long, default_value_t = 10_000_000)]
    total_steps: u64,
    /// Seed of the weights, the environments and the sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Device: flex (default CPU), ndarray or wgpu.
    #[arg(long, default_value = "flex")]
    device: String,
    /// Folder of the TensorBoard runs and CSV logs.
    #[arg(long, default_value = "runs")]
    logdir: PathBuf,
    /// Folder of the saved model, its card and the checkpoint.
    #[arg(long, default_value = "anymal_teacher_out")]
    out: PathBuf,
    /// Resume from a checkpoint written by this program.
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Override a reward term's weight, `TERM=WEIGHT` with the term's logged name without
    /// `rewards/` (e.g. `feet_air_time=0`, which removes it); repeatable.
    #[arg(long, value_parser = parse_weight)]
    reward_weight: Vec<(String, f64)>,
}

fn parse_weight(text: &str) -> Result<(String, f64), String> {
    let (name, weight) = text
        .split_once('=')
        .ok_or_else(|| format!("--reward-weight {text}: expected TERM=WEIGHT"))?;
    let weight: f64 = weight
        .parse()
        .map_err(|_| format!("--reward-weight {text}: {weight} is not a number"))?;
    Ok((name.to_string(), weight))
}

fn main() -> std::process::ExitCode {
    anymal::cli::report(run(Args::parse()))
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    anymal::cli::output_dir(&args.out)?;
    let device = parse_device(&args.device)?.autodiff();
    println!("device: {}", describe_device(&device));
    device.seed(args.seed);

    let setup = TeacherSetup {
        preset: args.preset,
        ground: args.terrain,
        action: args.action,
        num_envs: args.num_envs,
        seed: args.seed,
        reward_weights: args.reward_weight.clone(),
    };
    let env_config = setup.env_config()?;
    let mut envs = VectorEnv::new(
        LeggedEnv::copies(env_config.clone(), args.num_envs)?,
        args.threads,
    )?;
    let mut ppo = match &args.resume {
        Some(path) => Ppo::load(path, &device)?,
        None => {
            let space = envs.single_action_space().clone();
            let network = setup.init_network(&device)?;
            Ppo::new(
                setup.ppo_config(),
                network,
                &device,
                space,
                args.total_steps,
            )?
        }
    };
    ppo.set_total_timesteps(args.total_steps);
    let mut logger =
        Logger::for_run(&args.logdir, "anymal_teacher")?.with_progress_bar(args.total_steps);
    let checkpoint = args.out.join("teacher_ppo.ckpt");
    let started = std::time::Instant::now();
    let mut iteration = 0u64;
    while ppo.num_timesteps() < ppo.total_timesteps() {
        ppo.iterate(&mut envs, &mut logger)?;
        iteration += 1;
        if iteration.is_multiple_of(50) {
            ppo.save(&checkpoint)?;
        }
    }
    logger.finish();
    ppo.save(&checkpoint)?;
    let seconds = started.elapsed().as_secs_f64();

    let mut policy = ppo.policy();
    let (report, _) = evaluate_flat(&mut policy, &env_config, TRAINING_EVALUATION_SEED)?;
    let model_path = args.out.join("teacher.bpk");
    anymal::core::io::save(&policy.network, &model_path)?;
    TeacherCard {
        setup,
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
        steps: ppo.num_timesteps(),
        seconds,
        commit: current_commit(),
        flat: Some(report),
    }
    .save(&model_path)?;
    println!("flat ground: {report}");
    println!(
        "{} steps in {seconds:.0} s; saved {} (and its card) and {}",
        ppo.num_timesteps(),
        model_path.display(),
        checkpoint.display()
    );
    Ok(())
}
