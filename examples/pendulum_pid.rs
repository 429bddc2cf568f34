//! The tutorial's first question: a PID controller that balances Gymnasium's InvertedPendulum-v4
//! for the full 1000 steps. Runs 10 episodes, prints their returns, and plots the observations
//! of the first one (the tutorial's plot).
//!
//! `cargo run --release --example pendulum_pid`

use anymal::envs::{Env, PendulumVersion, Pid, make_inverted_pendulum, rollout};
use anymal::plot::{Series, line_chart};
use clap::Parser;

/// Names of the observation entries, in order.
const OBSERVATION_NAMES: [&str; 4] = [
    "cart position",
    "pole angle",
    "cart velocity",
    "pole angular velocity",
];

#[derive(Parser)]
#[command(
    about = "A PID controller that balances InvertedPendulum-v4 for 1000 steps: 10 episodes, returns and a plot.",
    allow_negative_numbers = true
)]
struct Args {
    /// Episodes to run (reset seeds 0, 1, ...).
    #[arg(long, default_value_t = 10)]
    episodes: u64,
    /// Where to write the plot of the first episode.
    #[arg(long, default_value = "pendulum_pid.png")]
    plot: String,
    /// Proportional gains on [position, angle, velocity, angular velocity] (error = -observation).
    #[arg(long, value_parser = gains, default_value = "-1,-10,-0.5,-1", allow_hyphen_values = true)]
    kp: Gains,
    /// Derivative gains.
    #[arg(long, value_parser = gains, default_value = "0,0,0,0", allow_hyphen_values = true)]
    kd: Gains,
    /// Integral gains.
    #[arg(long, value_parser = gains, default_value = "0,0,0,0", allow_hyphen_values = true)]
    ki: Gains,
}

/// One gain per observation entry (an alias, so that clap parses it as one value).
type Gains = Vec<f64>;

/// Four comma-separated gains, one per observation entry.
fn gains(text: &str) -> Result<Vec<f64>, String> {
    let values: Vec<f64> = text
        .split(',')
        .map(|v| v.trim().parse::<f64>().map_err(|e| format!("'{v}': {e}")))
        .collect::<Result<_, _>>()?;
    if values.len() != OBSERVATION_NAMES.len() {
        return Err(format!(
            "expected 4 comma-separated gains, got {}",
            values.len()
        ));
    }
    Ok(values)
}

fn main() -> std::process::ExitCode {
    anymal::cli::report(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut env = make_inverted_pendulum(PendulumVersion::V4);
    let mut pid = Pid::new(args.kp, args.ki, args.kd, env.dt());
    let mut balanced = 0;
    for seed in 0..args.episodes {
        pid.reset();
        let episode = rollout(&mut env, Some(seed), usize::MAX, |obs| vec![pid.act(obs)])?;
        let full = episode.episode_return() == 1000.0;
        balanced += usize::from(full);
        println!(
            "episode {seed}: return {:.0}{}",
            episode.episode_return(),
            if full { "" } else { " (fell)" }
        );
        if seed == 0 {
            let series: Vec<Series> = OBSERVATION_NAMES
                .iter()
                .enumerate()
                .map(|(i, name)| Series {
                    name: name.to_string(),
                    points: episode
                        .observations
                        .iter()
                        .enumerate()
                        .map(|(t, o)| (t as f64 * env.dt(), o[i]))
                        .collect(),
                })
                .collect();
            line_chart(
                &args.plot,
                "InvertedPendulum-v4 under PID control",
                "time (s)",
                "observation",
                &series,
            )?;
            println!("plot of episode 0: {}", args.plot);
        }
    }
    println!("balanced for 1000 steps: {balanced}/{}", args.episodes);
    Ok(())
}
