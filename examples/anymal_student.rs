//! Distils a trained teacher into the recurrent student on the quadruped (Miki et al. 2022,
//! "Student training").
//!
//! - The student acts (DAgger). The frozen teacher labels every step from the noiseless
//!   observation.
//! - Loss: L_bc + 0.5 L_rec, truncated BPTT of 10 steps, the hidden state zeroed where an
//!   episode ended.
//! - The student sees the environment's noisy heights. That is the paper's full noise model:
//!   shifted sample points and height errors, in three conditions (nominal, offset, noisy).
//!   The noise factor c rises linearly from 0 at `--noise-from` to 1 at `--noise-to`
//!   (iterations); before that the student learns without noise.
//! - The ground is the teacher's: flat ground only for a flat teacher; for a teacher trained
//!   on the tile grid, `--flat-iterations` on flat ground, then the grid with its terrain
//!   curriculum.
//! - Every `--eval-every` iterations the student runs the flat-ground protocol alone, from its
//!   own observations (8 success episodes, 0.8 m/s for 10 s). The program reports the samples
//!   and the wall-clock time it took to match the teacher's success.
//! - TensorBoard: the losses, c, the gate, and the student's success rate.
//!
//! `cargo run --release --example anymal_student` (the shipped flat teacher by default)

use std::path::PathBuf;
use std::time::Instant;

use anymal::core::burn::module::Module;
use anymal::core::{Anymal, describe_device, parse_device};
use anymal::envs::legged::{HeightNoise, LeggedConfig, LeggedEnv, TerrainConfig};
use anymal::envs::{BoxSpace, VectorEnv};
use anymal::rl::{Logger, NoiseCurriculum, StudentPolicy, StudentTrainer, StudentTrainerConfig};
use anymal::teacher::{
    TRAINING_EVALUATION_SEED, action_space, evaluate_flat, load_teacher, teacher_policy,
};
use clap::Parser;

/// mimalloc keeps freed training buffers for reuse (README, "Benchmarks").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    about = "Distil a trained teacher into the recurrent student on the quadruped, through noisy height scans.",
    allow_negative_numbers = true
)]
struct Args {
    /// A teacher saved by `anymal_teacher` (its card `teacher.json` beside it).
    #[arg(long, default_value = "assets/teachers/flat/teacher.bpk")]
    teacher: PathBuf,
    /// Device: flex (default CPU), ndarray or wgpu.
    #[arg(long, default_value = "flex")]
    device: String,
    /// Environments stepped together.
    #[arg(long, default_value_t = 32)]
    num_envs: usize,
    /// Threads stepping them.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Steps per environment per iteration (the paper: 400 with 300 environments).
    #[arg(long, default_value_t = 100)]
    n_steps: usize,
    /// Iterations (rollout and update).
    #[arg(long, default_value_t = 150)]
    iterations: usize,
    /// Iterations on flat ground before the teacher's terrain (and its curriculum), for a
    /// teacher trained on the tile grid.
    #[arg(long, default_value_t = 20)]
    flat_iterations: usize,
    /// Iteration at which the noise starts (c = 0 before; the paper: 20).
    #[arg(long, default_value_t = 20)]
    noise_from: usize,
    /// Iteration at which the noise reaches its full size (c = 1; the paper: 100).
    #[arg(long, default_value_t = 100)]
    noise_to: usize,
    /// Evaluate the student alone on flat ground every this many iterations.
    #[arg(long, default_value_t = 10)]
    eval_every: usize,
    /// Seed of the environments, the noise and the shuffling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Start the student from its random weights, instead of copying the teacher's height
    /// encoder, trunk and action head into it.
    #[arg(long)]
    from_scratch: bool,
    /// TensorBoard and CSV logs go to LOGDIR/anymal_student_n.
    #[arg(long, default_value = "runs")]
    logdir: PathBuf,
    /// The trained model (`student.bpk`) and the trainer's checkpoint go here.
    #[arg(long, default_value = "anymal_student_out")]
    out: PathBuf,
}

fn main() -> std::process::ExitCode {
    anymal::cli::report(run(Args::parse()))
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    anymal::cli::output_dir(&args.out)?;
    let device = parse_device(&args.device)?;
    let train_device = device.clone().autodiff();
    println!("device: {}", describe_device(&device));
    let (teacher, card) = load_teacher(&args.teacher, &train_device)?;
    let trained = card.setup.env_config()?;
    let space = action_space(&trained);

    // The teacher's own success on the protocol, the student's target.
    let mut teacher_alone = teacher_policy(teacher.valid(), &trained, &device);
    let (teacher_report, _) =
        evaluate_flat(&mut teacher_alone, &trained, TRAINING_EVALUATION_SEED)?;
    println!(
        "teacher {}: flat-ground success {:.0} %",
        args.teacher.display(),
        100.0 * teacher_report.success_rate
    );

    // The teacher's world, with the student's noisy copy of the heights; flat ground first.
    let env_config = LeggedConfig {
        noise: Some(HeightNoise::paper()),
        noise_level: 0.0,
        ..trained.clone()
    };
    let make_envs = |terrain: TerrainConfig| {
        let copies = (0..args.num_envs)
            .map(|_| {
                LeggedEnv::new(LeggedConfig {
                    terrain: terrain.clone(),
                    ..env_config.clone()
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        VectorEnv::new(copies, args.threads)
    };
    let on_tiles = matches!(trained.terrain, TerrainConfig::Tiles(_));
    let mut envs = make_envs(TerrainConfig::Plane)?;

    let config = StudentTrainerConfig::new()
        .with_n_steps(args.n_steps)
        .with_minibatch_envs(args.num_envs)
        .with_noise_curriculum(NoiseCurriculum::Linear {
            from: args.noise_from,
            to: args.noise_to,
        })
        .with_init_student_with_teacher(!args.from_scratch)
        .with_seed(args.seed);
    let mut trainer = StudentTrainer::new(config, teacher, &train_device, space.clone())?;
    let total = (args.iterations * args.n_steps * args.num_envs) as u64;
    let mut logger = Logger::for_run(&args.logdir, "anymal_student")?.with_progress_bar(total);
    let started = Instant::now();
    let mut matched = None;
    for iteration in 0..args.iterations {
        if on_tiles && iteration == args.flat_iterations {
            println!("iteration {iteration}: on to the teacher's terrain and its curriculum");
            envs = make_envs(trained.terrain.clone())?;
            trainer.reset_environments();
        }
        if on_tiles && iteration >= args.flat_iterations {
            let levels: f64 = envs.envs().map(|env| env.tile().0 as f64).sum();
            logger.record("curriculum/terrain_level", levels / envs.len() as f64);
        }
        let c = trainer.noise_level();
        envs.envs_mut().for_each(|env| env.set_noise_level(c));
        if iteration % args.eval_every == 0 {
            let success = student_success(&trainer, &trained, &space, &device)?;
            logger.record("eval/student_success_rate", success);
            if matched.is_none() && success >= teacher_report.success_rate {
                matched = Some((trainer.num_timesteps(), started.elapsed().as_secs_f64()));
            }
        }
        trainer.iterate(&mut envs, &mut logger)?;
    }
    logger.finish();
    let seconds = started.elapsed().as_secs_f64();

    let model_path = args.out.join("student.bpk");
    anymal::core::io::save(&trainer.trained(), &model_path)?;
    trainer.save(args.out.join("student.ckpt"))?;
    let success = student_success(&trainer, &trained, &space, &device)?;
    println!(
        "{} iterations, {} samples in {seconds:.0} s ({:.0} samples/s); the student alone on flat \
         ground: success {:.0} % (the teacher: {:.0} %)",
        args.iterations,
        trainer.num_timesteps(),
        trainer.num_timesteps() as f64 / seconds,
        100.0 * success,
        100.0 * teacher_report.success_rate
    );
    match matched {
        Some((samples, at)) => {
            println!("matched the teacher's success after {samples} samples and {at:.0} s")
        }
        None => println!("did not match the teacher's success"),
    }
    println!(
        "saved {} and {}",
        model_path.display(),
        args.out.join("student.ckpt").display()
    );
    Ok(())
}

/// The student alone (its own observations, its hidden state carried) on the flat-ground
/// protocol: the success rate.
fn student_success(
    trainer: &StudentTrainer,
    trained: &LeggedConfig,
    space: &BoxSpace,
    device: &anymal::core::burn::tensor::Device,
) -> Result<f64, Box<dyn std::error::Error>> {
    let model: Anymal = trainer.trained();
    let mut student = StudentPolicy::new(model, space.clone(), device.clone());
    let (report, _) = evaluate_flat(&mut student, trained, TRAINING_EVALUATION_SEED)?;
    Ok(report.success_rate)
}
