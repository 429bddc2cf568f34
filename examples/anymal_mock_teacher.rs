//! The PyTorch package's "PPO training of the Teacher" on its MockEnv, in Rust: the same
//! arguments (`PackagePpoArgs`), ten calls' worth of training, then the Anymal saved for student
//! training (`anymal_mock_student`). Unlike the package, PPO here trains on GAE returns, runs
//! several environments at once, and keeps running observation statistics across episodes,
//! saved inside the model.
//!
//! The actions are the paper's continuous (Gaussian) ones; `ActionKind::Categorical` gives the
//! package's discrete logits for environments with discrete actions.
//!
//! `cargo run --release --example anymal_mock_teacher`

use std::path::PathBuf;

use anymal::core::burn::module::Module;
use anymal::core::{ActionKind, AnymalConfig, describe_device, parse_device};
use anymal::envs::{MockEnv, VectorEnv};
use anymal::rl::{Logger, PackagePpoArgs, Ppo};
use clap::Parser;

/// mimalloc keeps freed training buffers for reuse; glibc's malloc gives large ones back to the
/// OS and faults them in again on the next step (README, "Benchmarks").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    about = "The PyTorch package's README teacher script on its MockEnv: train the teacher with PPO and save the Anymal.",
    allow_negative_numbers = true
)]
struct Args {
    /// Device: flex (default CPU), ndarray or wgpu.
    #[arg(long, default_value = "flex")]
    device: String,
    /// Number of calls of the package's `ppo()` to reproduce (each `max_timesteps` steps).
    #[arg(long, default_value_t = 10)]
    calls: u64,
    /// Environments stepped together.
    #[arg(long, default_value_t = 10)]
    num_envs: usize,
    /// Seed of the weights, the environments and the sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Folder of the TensorBoard runs.
    #[arg(long, default_value = "runs")]
    logdir: PathBuf,
    /// Folder of the saved model and checkpoint.
    #[arg(long, default_value = "anymal_mock_out")]
    out: PathBuf,
}

fn main() -> std::process::ExitCode {
    anymal::cli::report(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    anymal::cli::output_dir(&args.out)?;
    let device = parse_device(&args.device)?.autodiff();
    println!("device: {}", describe_device(&device));
    device.seed(args.seed);

    let anymal = AnymalConfig::new(10)
        .with_num_legs(4)
        .with_extero_dim(52)
        .with_proprio_dim(133)
        .with_privileged_dim(50)
        .with_recon_loss_weight(0.5)
        .with_action_kind(ActionKind::Gaussian { init_log_std: 0.0 })
        .init(&device)?;

    let mock_env = || MockEnv::with_dims(133, 52, 4, 50, 10).with_episode_length(1000);
    let mut envs = VectorEnv::new((0..args.num_envs).map(|_| mock_env()).collect(), 2)?;

    // PPO(env=mock_env, anymal=anymal, epochs=10, lr=3e-4, eps_clip=0.2, beta_s=0.01,
    //     value_clip=0.4, max_timesteps=10000, update_timesteps=5000)
    let package = PackagePpoArgs {
        epochs: 10,
        lr: 3e-4,
        eps_clip: 0.2,
        beta_s: 0.01,
        value_clip: 0.4,
        max_timesteps: 10_000,
        update_timesteps: 5000,
        ..PackagePpoArgs::default()
    };
    let config = package.to_config(args.num_envs)?.with_seed(args.seed);
    let total = args.calls * package.max_timesteps;
    let space = envs.single_action_space().clone();
    let mut ppo = Ppo::new(config, anymal, &device, space, total)?;
    let mut logger = Logger::for_run(&args.logdir, "teacher")?.with_progress_bar(total);
    ppo.learn(&mut envs, &mut logger)?;
    logger.finish();

    // torch.save(anymal.state_dict(), './anymal-with-trained-teacher.pt')
    let model_path = args.out.join("anymal-with-trained-teacher.bpk");
    let trained = ppo.network().valid();
    anymal::core::io::save(&trained, &model_path)?;
    let checkpoint = args.out.join("teacher_ppo.ckpt");
    ppo.save(&checkpoint)?;
    println!(
        "{} steps; mean episode return {:.1} (MockEnv rewards are N(0, 1) noise); running \
         statistics over {} observations",
        ppo.num_timesteps(),
        ppo.mean_episode_return().unwrap_or(f64::NAN),
        trained.normalizer.proprio.count()
    );
    println!(
        "saved {} (model) and {} (resumable checkpoint); logs in {}",
        model_path.display(),
        checkpoint.display(),
        logger
            .run_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
    Ok(())
}
