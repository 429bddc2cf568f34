//! Teacher-student training throughput through the trainers themselves (not bare networks), on
//! MockEnv with the package's default sizes and the paper's 16 Gaussian actions:
//! - teacher PPO: one update (`Ppo::train`, 1 epoch) of a minibatch of 8300 samples;
//! - student: one truncated-BPTT gradient step (`StudentTrainer::train`) of 300 envs x 10 steps;
//! - the rollouts feeding them (environment steps per second, acting without autodiff).
//!
//! With `--anchors`, beside the PyTorch package's bare forward+backward+Adam times measured in
//! the same run (`benches/anchors/networks.py` (b) and (c), 2 threads), which include no
//! rollout, normalisation or logging, and use the package's 10 categorical actions.
//!
//! `cargo run --release --example bench_teacher_student -- --device flex`

use std::time::Instant;

use anymal::core::{ActionKind, Anymal, AnymalConfig, describe_device, parse_device};
use anymal::envs::{MockEnv, VectorEnv};
use anymal::rl::{
    HeightNoise, Logger, NoiseCurriculum, Ppo, PpoConfig, StudentTrainer, StudentTrainerConfig,
};
use clap::Parser;

/// mimalloc keeps freed training buffers for reuse; glibc's malloc gives large ones back to the
/// OS and faults them in again on the next step (README, "Benchmarks").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    about = "Trainer benchmark: the teacher's PPO update and the student's TBPTT step beside the PyTorch package.",
    allow_negative_numbers = true
)]
struct Args {
    /// The Burn device.
    #[arg(long, default_value = "flex")]
    device: String,
    /// Timed repetitions of each update.
    #[arg(long, default_value_t = 10)]
    iters: usize,
    /// Also measure the anchor in the same run (README, "Benchmarks").
    #[command(flatten)]
    anchors: anymal::anchors::AnchorArgs,
}

const NUM_ACTIONS: usize = 16;

fn main() -> std::process::ExitCode {
    anymal::cli::report(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let device = parse_device(&args.device)?.autodiff();
    println!("{}", describe_device(&device));
    device.seed(0);
    let anymal = AnymalConfig::new(NUM_ACTIONS)
        .with_action_kind(ActionKind::Gaussian { init_log_std: 0.0 })
        .init(&device)?;

    // Teacher: 83 envs x 100 steps = one minibatch of 8300.
    let mut envs = mock_envs(83);
    let space = envs.single_action_space().clone();
    let config = PpoConfig::anymal_teacher()
        .with_n_steps(100)
        .with_n_epochs(1);
    let mut ppo = Ppo::new(config, anymal, &device, space.clone(), u64::MAX)?;
    let mut logger = Logger::new();
    let started = Instant::now();
    ppo.collect_rollout(&mut envs, &mut logger)?;
    let teacher_rollout = 8300.0 / started.elapsed().as_secs_f64();
    let teacher_update = median(args.iters, || {
        ppo.train().map(|_| ())?;
        Ok(())
    })?;

    // Student: 300 envs x 10 steps, one chunk, one gradient step per train().
    let mut envs = mock_envs(300);
    let config = StudentTrainerConfig::new()
        .with_n_steps(10)
        .with_epochs(1)
        .with_noise(HeightNoise::paper())
        .with_noise_curriculum(NoiseCurriculum::Constant(1.0));
    let teacher: Anymal = ppo.network().clone();
    let mut student = StudentTrainer::new(config, teacher, &device, space)?;
    let started = Instant::now();
    let (rollout, _) = student.collect_rollout(&mut envs, 1.0)?;
    let student_rollout = 3000.0 / started.elapsed().as_secs_f64();
    let student_update = median(args.iters, || {
        student.train(&rollout)?;
        Ok(())
    })?;

    let pytorch = match args.anchors.prepare()? {
        Some(anchors) => {
            let anchor_args = [
                "--workloads",
                "b,c",
                "--train-iters",
                &args.iters.to_string(),
            ]
            .map(String::from);
            let result = anchors.run("networks.py", &anchor_args)?;
            [result["b"].as_f64(), result["c"].as_f64()]
        }
        None => [None, None],
    };
    let rows = [
        (
            "teacher PPO update, minibatch 8300 (Ppo::train)",
            teacher_update,
            pytorch[0],
            8300.0,
        ),
        (
            "student TBPTT step, 300 envs x 10 steps (StudentTrainer::train)",
            student_update,
            pytorch[1],
            3000.0,
        ),
    ];
    println!(
        "\n| workload | median | samples/s | PyTorch package (bare network, 10 categorical actions, same run) | ratio |"
    );
    println!("|---|---|---|---|---|");
    for (name, seconds, reference, samples) in rows {
        let (theirs, ratio) = match reference {
            Some(t) => (format!("{:.0} ms", t * 1e3), format!("{:.2}x", t / seconds)),
            None => (anymal::anchors::NOT_MEASURED.to_string(), "-".to_string()),
        };
        println!(
            "| {name} | {:.1} ms | {:.0} | {theirs} | {ratio} |",
            seconds * 1e3,
            samples / seconds,
        );
    }
    println!(
        "| teacher rollout, 83 MockEnvs (acting + normaliser updates) | | {teacher_rollout:.0} env steps/s | | |"
    );
    println!(
        "| student rollout, 300 MockEnvs (noise, student + teacher labels) | | {student_rollout:.0} env steps/s | | |"
    );
    Ok(())
}

fn mock_envs(n: usize) -> VectorEnv<MockEnv> {
    let envs = (0..n)
        .map(|_| MockEnv::new(NUM_ACTIONS).with_episode_length(1000))
        .collect();
    VectorEnv::new(envs, 2).expect("at least one env")
}

/// Median wall-clock of `iters` runs of `f`, after one warm-up run.
fn median(
    iters: usize,
    mut f: impl FnMut() -> Result<(), Box<dyn std::error::Error>>,
) -> Result<f64, Box<dyn std::error::Error>> {
    f()?;
    let mut times = Vec::with_capacity(iters);
    for _ in 0..iters.max(1) {
        let started = Instant::now();
        f()?;
        times.push(started.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}
