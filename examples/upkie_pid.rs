//! The tutorial's bonus question B1 on the Upkie-like biped: the tutorial's `10 * pitch`
//! baseline, upstream's PI balancer (`v = 10 pitch + 20 int(pitch) + 5 p + 2 int(p)`) and a
//! tuned PID (`--kp`, `--ki`) from the PPO balancer's initial-state noise (pitch 0.1 rad, v_x
//! 1 m/s, omega_y 2 rad/s), 2000-step episodes on seeds 0..N, under two command limits:
//! v1's registered 1 m/s and 10 m/s^2, from which a third of these draws cannot be saved
//! (docs/tutorial.md, B1), and the 2 m/s and 20 m/s^2 of the env upstream's shipped policy
//! trained in. Prints each episode's length and the initial forward velocity, and writes a PNG
//! of pitch, ground position and ground velocity over the tuned controller's first episode
//! under the second limits.
//!
//! `cargo run --release --example upkie_pid`

use anymal::envs::upkie::env::BALANCER_EPISODE_STEPS;
use anymal::envs::upkie::{UpkieConfig, UpkieGroundVelocity, make_balancer_env};
use anymal::envs::video::VideoConfig;
use anymal::envs::{Env, Pid, rollout_watched};
use anymal::plot::{Panel, Series, line_charts};
use clap::Parser;

#[derive(Parser)]
#[command(
    about = "The 10 x pitch baseline and upstream PI balancer on the Upkie-like biped, from the PPO balancer initial-state noise.",
    allow_negative_numbers = true
)]
struct Args {
    /// Episodes (reset seeds 0, 1, ...).
    #[arg(long, default_value_t = 10)]
    episodes: u64,
    /// First reset seed (the tuned gains were searched on seeds 100..120, not on 0..10).
    #[arg(long, default_value_t = 0)]
    first_seed: u64,
    /// Where to write the plot of the first episode of the tuned balancer.
    #[arg(long, default_value = "upkie_pid.png")]
    plot: String,
    /// Record the tuned balancer's first episode to this file (.gif, or .mp4 with ffmpeg),
    /// 640x480 at 25 fps, the camera following the base.
    #[arg(long)]
    video: Option<std::path::PathBuf>,
    /// Show the tuned balancer's first episode in MuJoCo's viewer window, in real time
    /// (`human`; needs a display).
    #[arg(long, value_enum)]
    render: Option<anymal::cli::RenderMode>,
    /// The base's height at reset (m): upstream's 0.6 drops the robot 4 cm, 0.557 starts it
    /// with its tires on the floor.
    #[arg(long, default_value_t = 0.6)]
    reset_height: f64,
    /// The tuned balancer's proportional gains on [pitch, position, pitch rate, velocity]
    /// (error = -observation, so v = -kp . obs).
    #[arg(long, value_parser = anymal::cli::four_gains, default_value = TUNED_KP, allow_hyphen_values = true)]
    kp: anymal::cli::Gains,
    /// The tuned balancer's integral gains.
    #[arg(long, value_parser = anymal::cli::four_gains, default_value = TUNED_KI, allow_hyphen_values = true)]
    ki: anymal::cli::Gains,
}

/// Gains found by a random search over state-feedback and integral gains on seeds 100..120
/// (best: 14 of 20 balanced; docs/tutorial.md, B1): v = 5 pitch + 0.5 p + 1 pitch rate
/// + 2 ground velocity + 20 int(pitch) + 2 int(p).
const TUNED_KP: &str = "-5,-0.5,-1,-2";
/// See [`TUNED_KP`].
const TUNED_KI: &str = "-20,-2,0,0";

/// Builds a controller for a step of `dt` seconds.
type MakePid<'a> = Box<dyn Fn(f64) -> anymal::envs::Result<Pid> + 'a>;

fn main() -> std::process::ExitCode {
    anymal::cli::report(run(Args::parse()))
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    anymal::cli::output_file(&args.plot)?;
    // v1's control with the PPO balancer's initial-state noise, under v1's command limits and
    // under those of the env upstream's shipped policy trained in.
    let v1 = UpkieConfig {
        reset_noise: UpkieConfig::ppo_balancer().reset_noise,
        reset_height: args.reset_height,
        ..UpkieConfig::v1()
    };
    let shipped = UpkieConfig::shipped_policy();
    let wide = UpkieConfig {
        max_ground_velocity: shipped.max_ground_velocity,
        max_ground_acceleration: shipped.max_ground_acceleration,
        ..v1
    };
    let limits = [
        ("v1's command limits, 1 m/s and 10 m/s^2", v1),
        (
            "the shipped policy's command limits, 2 m/s and 20 m/s^2",
            wide,
        ),
    ];
    // The tuned balancer's first episode: following the base, 25 frames/s at 200 Hz.
    let video_config = VideoConfig {
        every: 8,
        ..VideoConfig::tracking("base", 1.5)
    };
    let mut watch = anymal::cli::Watch::new(
        args.video.as_deref(),
        args.render,
        &UpkieGroundVelocity::new(wide)?,
        &video_config,
    )?;
    let tuned = format!("tuned PID: kp {:?}, ki {:?}", args.kp, args.ki);
    let controllers: [(&str, MakePid); 3] = [
        (
            "tutorial: 10 * pitch",
            Box::new(|_| Pid::linear(vec![-10.0, 0.0, 0.0, 0.0])),
        ),
        (
            "upstream PI (Bullet gains): 10 pitch + 20 int pitch + 5 p + 2 int p",
            Box::new(|dt| {
                Pid::new(
                    vec![-10.0, -5.0, 0.0, 0.0],
                    vec![-20.0, -2.0, 0.0, 0.0],
                    vec![0.0; 4],
                    dt,
                )
            }),
        ),
        (
            &tuned,
            Box::new(|dt| Pid::new(args.kp.clone(), args.ki.clone(), vec![0.0; 4], dt)),
        ),
    ];
    for ((limits_name, config), (name, make)) in limits
        .iter()
        .flat_map(|l| controllers.iter().map(move |c| (l, c)))
    {
        let config = *config;
        println!("\n{limits_name}: {name}");
        println!("| seed | initial v_x (m/s) | episode length | return |");
        println!("|---|---|---|---|");
        let mut balanced = 0;
        for seed in args.first_seed..args.first_seed + args.episodes {
            let mut env = make_balancer_env(config)?;
            let mut pid = make(env.dt())?;
            let watched = seed == args.first_seed && name.starts_with("tuned") && config == wide;
            let episode = rollout_watched(
                &mut env,
                Some(seed),
                BALANCER_EPISODE_STEPS,
                |obs| vec![pid.act(obs)],
                |env| if watched { watch.step(env) } else { Ok(()) },
            )?;
            if watched {
                watch.save_video(None, env.dt())?;
            }
            // The rollout reset the env with `seed`; the base's initial velocity is the draw.
            let mut probe = UpkieGroundVelocity::new(config)?;
            probe.reset(Some(seed));
            let v_x = probe.sim().qvel()[0];
            let length = episode.rewards.len();
            balanced += usize::from(length == BALANCER_EPISODE_STEPS);
            let total: f64 = episode.rewards.iter().sum();
            println!("| {seed} | {v_x:+.2} | {length} | {total:.0} |");
            if watched {
                let dt = env.dt();
                let trace =
                    |i: usize, name: &str| Series::trace(name, &episode.observations, dt, |o| o[i]);
                line_charts(
                    &args.plot,
                    "Upkie, tuned balancer, first seed",
                    "time (s)",
                    &[
                        Panel {
                            y_label: "pitch (rad)",
                            series: &[trace(0, "pitch")],
                        },
                        Panel {
                            y_label: "ground position (m)",
                            series: &[trace(1, "ground position")],
                        },
                        Panel {
                            y_label: "ground velocity (m/s)",
                            series: &[trace(3, "ground velocity")],
                        },
                    ],
                )?;
            }
        }
        println!("balanced {balanced}/{} episodes", args.episodes);
    }
    println!("\nwrote {}", args.plot);
    Ok(())
}
