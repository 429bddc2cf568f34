//! The PyTorch package's "To train the student" on its MockEnv, in Rust: load the Anymal with
//! the trained teacher (`anymal_mock_teacher` writes it), `StudentTrainer` with the package's
//! arguments (`PackageStudentArgs`) plus the paper's height noise and curriculum, save the
//! trained Anymal, reload it, and run the student as it would be deployed: proprioception and
//! noisy heights in, its hidden state carried from step to step.
//!
//! `cargo run --release --example anymal_mock_student`

use std::path::PathBuf;

use anymal::core::burn::tensor::{Tensor, TensorData};
use anymal::core::{Anymal, describe_device, parse_device};
use anymal::envs::{Env, MockEnv, VectorEnv};
use anymal::rl::{Logger, NoiseCurriculum, PackageStudentArgs, StudentTrainer};
use clap::Parser;

/// mimalloc keeps freed training buffers for reuse; glibc's malloc gives large ones back to the
/// OS and faults them in again on the next step (README, "Benchmarks").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    about = "The PyTorch package's README student script on its MockEnv: distil a saved Anymal's teacher into the student and run it.",
    allow_negative_numbers = true
)]
struct Args {
    /// Device: flex (default CPU), ndarray or wgpu.
    #[arg(long, default_value = "flex")]
    device: String,
    /// Number of calls of the package's `trainer()` to reproduce (each `max_timesteps` steps).
    #[arg(long, default_value_t = 5)]
    calls: u64,
    /// Environments stepped together.
    #[arg(long, default_value_t = 50)]
    num_envs: usize,
    /// Seed of the environments, the noise and the shuffling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The Anymal with the trained teacher.
    #[arg(
        long,
        default_value = "anymal_mock_out/anymal-with-trained-teacher.bpk"
    )]
    teacher: PathBuf,
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
    let anymal: Anymal = anymal::core::io::load(&args.teacher, &device).map_err(|e| {
        format!("{e} (run `cargo run --release --example anymal_mock_teacher` first)")
    })?;
    let c = anymal.config().clone();

    let mock_env = || {
        MockEnv::with_dims(
            c.proprio_dim,
            c.extero_dim,
            c.num_legs,
            c.privileged_dim,
            c.num_actions,
        )
        .with_episode_length(1000)
    };
    let mut envs = VectorEnv::new((0..args.num_envs).map(|_| mock_env()).collect(), 2)?;

    // StudentTrainer(anymal=anymal, env=mock_env), the package's defaults; the paper's noise
    // curriculum compressed into this short run.
    let package = PackageStudentArgs::default();
    let iterations =
        (args.calls * package.max_timesteps / package.update_timesteps as u64) as usize;
    let config = package
        .to_config(args.num_envs)?
        .with_noise_curriculum(NoiseCurriculum::Linear {
            from: 0,
            to: iterations.saturating_sub(1).max(1),
        })
        .with_seed(args.seed);
    let space = envs.single_action_space().clone();
    let mut trainer = StudentTrainer::new(config, anymal, &device, space)?;
    let steps = iterations as u64 * package.update_timesteps as u64;
    let mut logger = Logger::for_run(&args.logdir, "student")?.with_progress_bar(steps);
    let stats = trainer.learn(&mut envs, iterations, &mut logger)?;
    logger.finish();
    println!(
        "{iterations} iterations: behaviour loss {:.2e}, privileged reconstruction {:.4} (MockEnv's privileged state is fresh noise every step: 1 is the floor), \
         height reconstruction {:.4}, extero gate {:.3}, noise level {:.2}",
        stats.behaviour,
        stats.reconstruction_privileged,
        stats.reconstruction_extero,
        stats.rollout.extero_gate,
        stats.noise_level
    );

    // Save, reload on the plain device, and deploy the student.
    let model_path = args.out.join("anymal-with-trained-student.bpk");
    anymal::core::io::save(&trainer.trained(), &model_path)?;
    trainer.save(args.out.join("student.ckpt"))?;
    let plain = device.clone().without_autodiff();
    let deployed: Anymal = anymal::core::io::load(&model_path, &plain)?;
    let mut env = mock_env();
    let (mut obs, _) = env.reset(Some(args.seed));
    let mut hiddens = None;
    for step in 0..5 {
        let proprio = Tensor::<2>::from_data(
            TensorData::new(obs.proprio.clone(), [1, c.proprio_dim]),
            &plain,
        );
        let extero = Tensor::<3>::from_data(
            TensorData::new(obs.extero.clone(), [1, c.num_legs, c.extero_dim]),
            &plain,
        );
        let out = deployed.student_step(proprio, extero, hiddens)?;
        let action = deployed.student.distribution(out.action).mode();
        let action: Vec<f64> = action
            .into_data()
            .convert::<f64>()
            .try_into_vec::<f64>()
            .expect("f64 data");
        println!("student step {step}: action[..3] = {:.3?}", &action[..3]);
        hiddens = Some(out.hiddens);
        obs = env.step(&action)?.obs;
    }
    println!(
        "saved {} and {}",
        model_path.display(),
        args.out.join("student.ckpt").display()
    );
    Ok(())
}
