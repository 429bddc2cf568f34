//! PPO trains the paper's teacher (Gaussian actions, privileged observations, running
//! observation statistics saved with the model) on the quadruped, on flat ground or on the
//! terrain grid with its curriculum.
//!
//! Presets: `paper` is the paper's PPO table (lr 5e-4 x 0.9999 per update, gamma 0.996,
//! lambda 0.95, 2 epochs, clip 0.2, entropy 0.005, minibatch 8300, 250 steps per env per update)
//! with the paper's reward and CPG actions; `fast` is legged_gym's shape scaled to a CPU (24
//! steps per env per update, 4 minibatches, 5 epochs, lr 3e-4, entropy 0.01, gradient norm 1,
//! clipped value loss) with legged_gym's reward and joint targets.
//!
//! After training, a first evaluation on flat ground: forward commands of 0.5 and 1 m/s, 4
//! episodes of 10 s each, deterministic actions; the distance walked, the velocity error and the
//! paper's success (4 m) and falls.
//!
//! Work in progress (the teacher issue): training, checkpoints and this evaluation run (about
//! 12,000 steps/s on 2 threads with 256 copies), but neither preset is tuned yet. The `fast`
//! preset uses legged_gym's gains (kp 80, kd 2) for the joint targets, because its reward scales
//! (torques) are set for them: with the model's kp 200 the torque penalty outweighed tracking
//! and the clipped reward stayed at 0. With kp 80 the robot learns to stand (episodes of about
//! 850 of 1000 steps after 8M steps) but does not walk yet. The paper-protocol evaluation on the
//! terrain grid, per-term reward logging and the time-to-walk benchmark are not written yet.
//!
//! `cargo run --release --example anymal_teacher -- --terrain flat --preset fast`

use std::path::PathBuf;

use anymal::core::burn::module::Module;
use anymal::core::{ActionKind, AnymalConfig, describe_device, parse_device};
use anymal::envs::legged::{
    ActionSpace, CommandConfig, LeggedConfig, LeggedEnv, Randomization, RewardConfig, Termination,
    TerrainConfig, TileGrid,
};
use anymal::envs::{Env, FlatObservation, VectorEnv};
use anymal::rl::{Logger, Ppo, PpoConfig, Schedule};
use clap::{Parser, ValueEnum};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Clone, Copy, ValueEnum)]
enum Terrain {
    Flat,
    Rough,
}

#[derive(Clone, Copy, ValueEnum)]
enum Action {
    Joints,
    Cpg,
}

#[derive(Clone, Copy, ValueEnum)]
enum Preset {
    Paper,
    Fast,
}

#[derive(Parser)]
struct Args {
    /// Ground: a plane, or the tile grid with the terrain curriculum.
    #[arg(long, value_enum, default_value = "flat")]
    terrain: Terrain,
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
    #[arg(long, default_value_t = 5_000_000)]
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
    /// Folder of the saved model and checkpoint.
    #[arg(long, default_value = "anymal_teacher_out")]
    out: PathBuf,
    /// Resume from a checkpoint written by this program.
    #[arg(long)]
    resume: Option<PathBuf>,
}

/// Forward commands of 0.5 and 1.0 m/s on flat ground, 4 episodes each of 10 s from rest,
/// without randomisation, deterministic actions: the distance walked along the command, the
/// mean planar velocity error, and how many episodes reached 4 m (the paper's success) or fell.
fn evaluate_on_flat<P>(
    ppo: &mut Ppo<P>,
    config: &LeggedConfig,
) -> Result<(), Box<dyn std::error::Error>>
where
    P: anymal::rl::ActorCritic,
{
    let mut policy = ppo.policy();
    println!(
        "\n| command (m/s) | distance in 10 s (m) | mean velocity error (m/s) | reached 4 m | fell |"
    );
    println!("|---|---|---|---|---|");
    for speed in [0.5, 1.0] {
        let eval_config = LeggedConfig {
            terrain: TerrainConfig::Plane,
            randomization: Randomization::none(),
            commands: CommandConfig::fixed(speed, 0.0, 0.0),
            ..config.clone()
        };
        let mut env = LeggedEnv::new(eval_config)?;
        let (mut distance, mut error, mut reached, mut fell) = (0.0, 0.0, 0, 0);
        for episode in 0..4u64 {
            env.reset(Some(10_000 + episode));
            let mut obs = env.place([0.0, 0.0], 0.0)?;
            let mut flat = Vec::new();
            let steps = (10.0 / env.dt()).round() as usize;
            let mut sum_error = 0.0;
            let mut taken = 0;
            for _ in 0..steps {
                flat.clear();
                obs.write_flat(&mut flat);
                let action = policy.predict_batch(&flat, true)?;
                let step = env.step(&action)?;
                let v = env.state().linear_velocity_body;
                sum_error += (v[0] - speed).hypot(v[1]);
                taken += 1;
                obs = step.obs;
                if step.terminated {
                    fell += 1;
                    break;
                }
                if step.truncated {
                    break;
                }
            }
            let walked = env.state().base_position[0];
            distance += walked / 4.0;
            error += sum_error / taken as f64 / 4.0;
            reached += usize::from(walked >= 4.0);
        }
        println!("| {speed} | {distance:.2} | {error:.2} | {reached}/4 | {fell}/4 |");
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    anymal::cli::report(run(Args::parse()))
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let device = parse_device(&args.device)?.autodiff();
    println!("device: {}", describe_device(&device));
    device.seed(args.seed);

    let (mut env_config, ppo_config, default_action) = match args.preset {
        Preset::Paper => (
            LeggedConfig::default(),
            PpoConfig::new()
                .with_learning_rate(Schedule::Exponential {
                    initial: 5e-4,
                    factor: 0.9999,
                })
                .with_n_steps(250)
                .with_batch_size(8300)
                .with_n_epochs(2)
                .with_gamma(0.996)
                .with_ent_coef(0.005),
            ActionSpace::CPG,
        ),
        Preset::Fast => (
            LeggedConfig {
                reward: match args.terrain {
                    Terrain::Flat => RewardConfig::legged_gym_flat(),
                    Terrain::Rough => RewardConfig::legged_gym(),
                },
                // legged_gym ends episodes on base contact only: with kp 200, a joint target
                // 0.4 rad off already asks for more than 80 N m.
                termination: Termination {
                    torque_limit_factor: None,
                    ..Termination::default()
                },
                ..LeggedConfig::default()
            },
            PpoConfig::new()
                .with_learning_rate(Schedule::Constant(3e-4))
                .with_n_steps(24)
                .with_batch_size(args.num_envs * 24 / 4)
                .with_n_epochs(5)
                .with_ent_coef(0.01)
                .with_vf_coef(1.0)
                .with_max_grad_norm(1.0)
                .with_clip_range_vf(Some(0.2)),
            ActionSpace::JOINTS,
        ),
    };
    env_config.action = match args.action {
        Some(Action::Joints) => ActionSpace::JOINTS,
        Some(Action::Cpg) => ActionSpace::CPG,
        None => default_action,
    };
    env_config.terrain = match args.terrain {
        Terrain::Flat => TerrainConfig::Plane,
        Terrain::Rough => TerrainConfig::Tiles(TileGrid::default()),
    };
    env_config.world_seed = args.seed;
    if matches!(args.preset, Preset::Fast) {
        // legged_gym's gains, which its reward scales (torques) are set for.
        env_config.robot.kp = [80.0; 12];
        env_config.robot.kd = [2.0; 12];
    }
    let num_actions = env_config.action.dim();
    let base_config = env_config.clone();
    let mut envs = VectorEnv::new(LeggedEnv::copies(env_config, args.num_envs)?, args.threads)?;

    let mut ppo = match &args.resume {
        Some(path) => Ppo::load(path, &device)?,
        None => {
            let teacher = AnymalConfig::new(num_actions)
                .with_action_kind(ActionKind::Gaussian { init_log_std: 0.0 })
                .init(&device)?;
            let config = ppo_config.with_seed(args.seed);
            let space = envs.single_action_space().clone();
            Ppo::new(config, teacher, &device, space, args.total_steps)?
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
    evaluate_on_flat(&mut ppo, &base_config)?;
    let model_path = args.out.join("teacher.bpk");
    anymal::core::io::save(&ppo.network().valid(), &model_path)?;
    println!(
        "{} steps in {:.0} s; mean episode return {:.2}; saved {} and {}",
        ppo.num_timesteps(),
        started.elapsed().as_secs_f64(),
        ppo.mean_episode_return().unwrap_or(f64::NAN),
        model_path.display(),
        checkpoint.display()
    );
    Ok(())
}
