//! Deploys a distilled student as on the robot: the student alone, from its own observations
//! (proprioception and the noisy height samples; the privileged state and the noiseless heights
//! are removed before it sees the observation), its memory carried, one action per 20 ms step
//! (50 Hz).
//!
//! It walks the evaluation protocol's success episode (0.8 m/s forward for 10 s) on flat
//! ground under the nominal noise, and prints the distance walked and the batch-1 inference
//! latency per step (median, p99).
//!
//! `cargo run --release --example anymal_deploy` (the shipped student by default)

use std::path::PathBuf;
use std::time::Instant;

use anymal::core::{Anymal, describe_device, parse_device};
use anymal::envs::legged::evaluation::{Actor, walk_episode};
use anymal::envs::{Env, StructuredObs};
use anymal::rl::StudentPolicy;
use anymal::student::NoiseSetting;
use anymal::teacher::{EVALUATION_SPEED, TeacherCard, action_space, walk_env};
use clap::Parser;

#[derive(Parser)]
#[command(
    about = "Run a distilled student alone, from its own observations, and time its inference.",
    allow_negative_numbers = true
)]
struct Args {
    /// The distilled model (`anymal_student` writes it).
    #[arg(long, default_value = "assets/students/flat/student.bpk")]
    student: PathBuf,
    /// The teacher it was distilled from: its card gives the robot's world.
    #[arg(long, default_value = "assets/teachers/flat/teacher.bpk")]
    teacher: PathBuf,
    /// Device: flex (default CPU), ndarray or wgpu.
    #[arg(long, default_value = "flex")]
    device: String,
    /// Seed of the episode.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// The student seeing what the robot has: the privileged state and the noiseless heights are
/// taken out of every observation first. Times every inference.
struct OnBoard {
    student: StudentPolicy,
    latencies: Vec<f64>,
}

impl Actor for OnBoard {
    fn act(&mut self, obs: &StructuredObs) -> anymal::envs::Result<Vec<f64>> {
        let own = StructuredObs {
            proprio: obs.proprio.clone(),
            extero: Vec::new(),
            privileged: Vec::new(),
            noisy_extero: obs.noisy_extero.clone(),
        };
        let started = Instant::now();
        let action = Actor::act(&mut self.student, &own)?;
        self.latencies.push(started.elapsed().as_secs_f64() * 1e6);
        Ok(action)
    }

    fn start_episode(&mut self) {
        self.student.reset();
    }
}

fn main() -> std::process::ExitCode {
    anymal::cli::report(run(Args::parse()))
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let device = parse_device(&args.device)?;
    println!("device: {}", describe_device(&device));
    let card = TeacherCard::load(&args.teacher)?;
    let trained = NoiseSetting::Condition(0).config(&card.setup.env_config()?);
    let model: Anymal = anymal::core::io::load(&args.student, &device)?;
    let space = action_space(&trained);
    let mut on_board = OnBoard {
        student: StudentPolicy::new(model, space, device),
        latencies: Vec::new(),
    };
    let mut env = walk_env(&trained)?;
    let episode = walk_episode(
        &mut env,
        &mut on_board,
        args.seed,
        [0.0, 0.0],
        0.0,
        [EVALUATION_SPEED, 0.0, 0.0],
        10.0,
    )?;
    println!(
        "the student alone, nominal height noise, {:.0} Hz: walked {:.1} m in {:.1} s{}",
        1.0 / env.dt(),
        episode.walked,
        episode.seconds,
        if episode.fell { ", fell" } else { "" }
    );
    let mut latencies = on_board.latencies;
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!(
        "batch-1 inference per step over {} steps: median {:.0} us, p99 {:.0} us (the step's budget: {:.0} us)",
        latencies.len(),
        at(0.5),
        at(0.99),
        env.dt() * 1e6
    );
    Ok(())
}
