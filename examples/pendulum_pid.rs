//! The tutorial's first question: a PID controller that balances Gymnasium's InvertedPendulum-v4
//! for the full 1000 steps. Runs 10 episodes, prints their returns, and plots the observations
//! of the first one (the tutorial's plot).
//!
//! `cargo run --release --example pendulum_pid`

use anymal::envs::video::VideoConfig;
use anymal::envs::{Env, PendulumVersion, Pid, make_inverted_pendulum, rollout_watched};
use anymal::plot::{Panel, Series, line_charts};
use clap::Parser;

/// Names of the observation entries, in order.
/// The observation's entries, each on its own axis with its unit.
const OBSERVATION_AXES: [(&str, &str); 4] = [
    ("cart position", "cart position (m)"),
    ("pole angle", "pole angle (rad)"),
    ("cart velocity", "cart velocity (m/s)"),
    ("pole angular velocity", "pole angular velocity (rad/s)"),
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
    /// Record the first episode to this file (.gif, or .mp4 with ffmpeg), 640x480 at 25 fps.
    #[arg(long)]
    video: Option<std::path::PathBuf>,
    /// Show the first episode in MuJoCo's viewer window, in real time (`human`; needs a display).
    #[arg(long, value_enum)]
    render: Option<anymal::cli::RenderMode>,
    /// Proportional gains on [position, angle, velocity, angular velocity] (error = -observation).
    #[arg(long, value_parser = anymal::cli::four_gains, default_value = "-1,-10,-0.5,-1", allow_hyphen_values = true)]
    kp: anymal::cli::Gains,
    /// Derivative gains.
    #[arg(long, value_parser = anymal::cli::four_gains, default_value = "0,0,0,0", allow_hyphen_values = true)]
    kd: anymal::cli::Gains,
    /// Integral gains.
    #[arg(long, value_parser = anymal::cli::four_gains, default_value = "0,0,0,0", allow_hyphen_values = true)]
    ki: anymal::cli::Gains,
}

fn main() -> std::process::ExitCode {
    anymal::cli::report(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    anymal::cli::output_file(&args.plot)?;
    let mut env = make_inverted_pendulum(PendulumVersion::V4);
    // Every step: the pendulum's 0.04 s steps give 25 frames/s.
    let video_config = VideoConfig::default();
    let mut watch =
        anymal::cli::Watch::new(args.video.as_deref(), args.render, &env, &video_config)?;
    let mut pid = Pid::new(args.kp, args.ki, args.kd, env.dt())?;
    let mut balanced = 0;
    for seed in 0..args.episodes {
        pid.reset();
        let episode = rollout_watched(
            &mut env,
            Some(seed),
            usize::MAX,
            |obs| vec![pid.act(obs)],
            |env| match seed {
                0 => watch.step(env),
                _ => Ok(()),
            },
        )?;
        if seed == 0 {
            watch.save_video(None, env.dt())?;
        }
        let full = episode.episode_return() == 1000.0;
        balanced += usize::from(full);
        println!(
            "episode {seed}: return {:.0}{}",
            episode.episode_return(),
            if full { "" } else { " (fell)" }
        );
        if seed == 0 {
            let trace = |i: usize, name: &str| {
                Series::trace(name, &episode.observations, env.dt(), |o| o[i])
            };
            let series: Vec<[Series; 1]> = OBSERVATION_AXES
                .iter()
                .enumerate()
                .map(|(i, (name, _))| [trace(i, name)])
                .collect();
            let panels: Vec<Panel> = OBSERVATION_AXES
                .iter()
                .zip(&series)
                .map(|((_, y_label), series)| Panel { y_label, series })
                .collect();
            line_charts(
                &args.plot,
                "InvertedPendulum-v4 under PID control",
                "time (s)",
                &panels,
            )?;
            println!("plot of episode 0: {}", args.plot);
        }
    }
    println!("balanced for 1000 steps: {balanced}/{}", args.episodes);
    Ok(())
}
