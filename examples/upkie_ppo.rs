//! The tutorial's bonus question B2: PPO learns to balance the Upkie-like wheeled biped
//! (`UpkieConfig::ppo_balancer()`: its reward, wheel damping, initial-state noise, 2000-step
//! episodes) with the PPO balancer's settings (SB3's defaults, gamma 0.995, tanh [64, 64]),
//! until `rollout/ep_len_mean` reaches 2000, then saves the policy and evaluates it.
//!
//! `cargo run --release --example upkie_ppo` (then `tensorboard --logdir runs`)
//! `cargo run --release --example upkie_ppo -- --sweep 1,2,4,8` (fps against the number of envs)
//! `cargo run --release --example upkie_ppo -- --num-envs 8 --n-steps 256` and
//! `... -- --normalize-observations` (two changes tried; docs/tutorial.md has the numbers)

use std::path::PathBuf;
use std::time::Instant;

use anymal::core::{MlpActorCritic, MlpActorCriticConfig, describe_device, parse_device};
use anymal::envs::upkie::env::BALANCER_EPISODE_STEPS;
use anymal::envs::upkie::make_ppo_balancer_env;
use anymal::envs::{VectorEnv, rollout};
use anymal::rl::{Logger, Policy, Ppo, PpoConfig};
use clap::Parser;

/// mimalloc keeps freed training buffers for reuse (README, "Benchmarks").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    about = "Train the Upkie PPO balancer until every recent episode lasts 2000 steps, save it, evaluate it; or sweep fps against the number of envs.",
    allow_negative_numbers = true
)]
struct Args {
    /// Burn device: flex, ndarray, wgpu, ...
    #[arg(long, default_value = "flex")]
    device: String,
    /// Environments stepped together (the tutorial's --nb-envs).
    #[arg(long, default_value_t = 1)]
    num_envs: usize,
    /// Worker threads stepping them.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Steps per environment per rollout (SB3: 2048).
    #[arg(long, default_value_t = 2048)]
    n_steps: usize,
    /// Environment steps at most.
    #[arg(long, default_value_t = 1_000_000)]
    total_steps: u64,
    /// Seed of the network, the environments and the sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// TensorBoard and CSV logs go to LOGDIR/upkie_ppo_n.
    #[arg(long, default_value = "runs")]
    logdir: PathBuf,
    /// Checkpoints go here.
    #[arg(long, default_value = "upkie_ppo_out")]
    out: PathBuf,
    /// Normalise observations with running statistics kept in the network (an improvement
    /// to try; the balancer's settings have none).
    #[arg(long)]
    normalize_observations: bool,
    /// Instead of training: PPO's steps per second for each of these numbers of envs (each
    /// on as many threads as envs, up to the cores), over two updates each.
    #[arg(long, value_delimiter = ',')]
    sweep: Vec<usize>,
}

/// The PPO balancer's hyperparameters: SB3's PPO with gamma 0.995 (1 - dt / 1 s).
fn balancer_config(args: &Args) -> PpoConfig {
    PpoConfig::sb3()
        .with_gamma(0.995)
        .with_n_steps(args.n_steps)
        .with_seed(args.seed)
}

fn main() -> std::process::ExitCode {
    anymal::cli::report(run(Args::parse()))
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    anymal::cli::output_dir(&args.out)?;
    let device = parse_device(&args.device)?;
    println!("device: {}", describe_device(&device));
    if !args.sweep.is_empty() {
        return sweep(&args, &device);
    }
    device.seed(args.seed);
    let train_device = device.clone().autodiff();
    let mut envs = balancer_envs(args.num_envs, args.threads)?;
    let network = MlpActorCriticConfig::new(4, 1) // tanh [64, 64]
        .with_normalize_observations(args.normalize_observations)
        .init(&train_device)?;
    let space = envs.single_action_space().clone();
    let mut ppo = Ppo::new(
        balancer_config(&args),
        network,
        &train_device,
        space,
        args.total_steps,
    )?;
    let mut logger =
        Logger::for_run(&args.logdir, "upkie_ppo")?.with_progress_bar(args.total_steps);
    let checkpoint = args.out.join("upkie_ppo.ckpt");
    let started = Instant::now();
    let mut balanced = None;
    let mut updates = 0;
    while ppo.num_timesteps() < args.total_steps {
        ppo.iterate(&mut envs, &mut logger)?;
        updates += 1;
        if updates % 20 == 0 {
            ppo.save(&checkpoint)?;
        }
        if ppo.mean_episode_length() >= Some(BALANCER_EPISODE_STEPS as f64) {
            balanced = Some((ppo.num_timesteps(), started.elapsed().as_secs_f64()));
            break;
        }
    }
    logger.finish();
    ppo.save(&checkpoint)?;
    match balanced {
        Some((steps, seconds)) => println!(
            "ep_len_mean reached {BALANCER_EPISODE_STEPS} after {steps} steps in {seconds:.0} s \
             ({} envs; upstream's shipped policy: about 500k steps in 4626 s on one env)",
            args.num_envs
        ),
        None => println!(
            "ep_len_mean {:.0} after {} steps ({:.0} s): not balanced yet",
            ppo.mean_episode_length().unwrap_or(0.0),
            ppo.num_timesteps(),
            started.elapsed().as_secs_f64()
        ),
    }
    println!("checkpoint: {}", checkpoint.display());

    // The saved policy, reloaded, on ten episodes from seeds training never used.
    let mut policy: Policy<MlpActorCritic> = Policy::load(&checkpoint, &device)?;
    let mut env = make_ppo_balancer_env()?;
    let mut full = 0;
    println!("| seed | episode length | return |");
    println!("|---|---|---|");
    for seed in 0..10 {
        let seed = 1_000_000 + seed;
        let mut failure = None;
        let episode = rollout(&mut env, Some(seed), BALANCER_EPISODE_STEPS, |obs| {
            policy.predict(obs, true).unwrap_or_else(|e| {
                failure = Some(e);
                vec![0.0]
            })
        })?;
        if let Some(e) = failure {
            return Err(e.into());
        }
        let length = episode.rewards.len();
        full += usize::from(length == BALANCER_EPISODE_STEPS);
        println!("| {seed} | {length} | {:.0} |", episode.episode_return());
    }
    println!("the reloaded policy balanced {full}/10 evaluation episodes");
    Ok(())
}

/// `n` PPO balancer envs on `threads` worker threads.
fn balancer_envs(
    n: usize,
    threads: usize,
) -> Result<
    VectorEnv<anymal::envs::wrappers::TimeLimit<anymal::envs::upkie::UpkieGroundVelocity>>,
    Box<dyn std::error::Error>,
> {
    let envs = (0..n)
        .map(|_| make_ppo_balancer_env())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(VectorEnv::new(envs, threads)?)
}

/// PPO's steps per second (rollout and update, as SB3's `time/fps`) for each number of envs.
fn sweep(
    args: &Args,
    device: &anymal::core::burn::tensor::Device,
) -> Result<(), Box<dyn std::error::Error>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "| envs | threads | steps per update | fps (rollout + update) | rollout fps | of 1 env |"
    );
    println!("|---|---|---|---|---|---|");
    let mut first = None;
    for &n in &args.sweep {
        device.seed(args.seed);
        let train_device = device.clone().autodiff();
        let threads = n.min(cores);
        let mut envs = balancer_envs(n, threads)?;
        let network = MlpActorCriticConfig::new(4, 1).init(&train_device)?;
        let space = envs.single_action_space().clone();
        let per_update = (args.n_steps * n) as u64;
        let mut ppo = Ppo::new(
            balancer_config(args),
            network,
            &train_device,
            space,
            2 * per_update,
        )?;
        let mut logger = Logger::new();
        let started = Instant::now();
        ppo.iterate(&mut envs, &mut logger)?;
        ppo.iterate(&mut envs, &mut logger)?;
        let seconds = started.elapsed().as_secs_f64();
        let fps = ppo.num_timesteps() as f64 / seconds;
        let rollout_fps = ppo.num_timesteps() as f64 / ppo.time_split().rollout;
        let base = *first.get_or_insert(fps);
        println!(
            "| {n} | {threads} | {per_update} | {fps:.0} | {rollout_fps:.0} | {:.2} |",
            fps / base
        );
    }
    Ok(())
}
