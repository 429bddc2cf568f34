//! Quadruped environment throughput: policy steps per second of the full legged environment
//! (PD control, observations, height scans, rewards, the student's noisy copy) for 1 env and
//! VectorEnv(N) on 1 and 2 threads, on flat ground (a plane) and on the rough tile grid, beside
//! the raw `mj_step` loop on the same model in the same run (position targets at the standing
//! pose plus new random offsets every policy step, reset when the base drops by 0.28 m;
//! counted as policy steps, i.e. `decimation` physics steps each). Medians of several rounds;
//! each round runs every setup once. Also the memory of 1024 copies sharing one world, and
//! (`--physics`) the raw loop under other MuJoCo settings than the bundled model's, to show
//! what each setting buys. With `--anchors`, the same raw loop through MuJoCo's Python
//! bindings on the same compiled model (`benches/anchors/mujoco_loop.py`), in the same run.
//!
//! `cargo run --release --example bench_legged [-- --physics] [--anchors]`

use std::time::Instant;

use anymal::envs::legged::robot::{ANYMAL_C_XML, ModelSource};
use anymal::envs::legged::{
    ActionSpace, HeightNoise, LeggedConfig, LeggedEnv, TerrainConfig, TerrainType, TileGrid,
};
use anymal::envs::{Env, VectorEnv};
use clap::Parser;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Parser)]
#[command(
    about = "Quadruped environment benchmark: policy steps per second beside the raw mj_step loop, and memory.",
    allow_negative_numbers = true
)]
struct Args {
    /// Policy steps per measurement and thread.
    #[arg(long, default_value_t = 20_000)]
    steps: usize,
    /// Copies in the vector env.
    #[arg(long, default_value_t = 64)]
    num_envs: usize,
    /// Rounds; medians are reported.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Copies in the memory measurement.
    #[arg(long, default_value_t = 1024)]
    memory_copies: usize,
    /// Also measure the anchor in the same run (README, "Benchmarks").
    #[command(flatten)]
    anchors: anymal::anchors::AnchorArgs,
    /// Also measure the raw loop under other physics settings.
    #[arg(long)]
    physics: bool,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// The environment under test: the paper's CPG actions and noise model on `terrain`.
fn config(terrain: &TerrainConfig) -> LeggedConfig {
    let mut config = LeggedConfig {
        terrain: terrain.clone(),
        action: ActionSpace::CPG,
        noise: Some(HeightNoise::paper()),
        noise_level: 1.0,
        ..LeggedConfig::default()
    };
    config.curriculum.initial_max_level = 9;
    config
}

/// Policy steps per second of the raw loop: new targets for the position actuators, then
/// `decimation` `mj_step`s, nothing else.
fn raw_loop(terrain: &TerrainConfig, steps: usize, seed: u64) -> f64 {
    raw_loop_of(config(terrain), steps, seed)
}

fn raw_loop_of(config: LeggedConfig, steps: usize, seed: u64) -> f64 {
    let mut env = LeggedEnv::new(config).expect("valid config");
    env.reset(Some(seed));
    let world = env.world().clone();
    let (robot, description) = (&world.robot, &world.description);
    let decimation = env.config().decimation;
    let initial = env.data().qpos().to_vec();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let data = env.data_mut();
    let start = Instant::now();
    for _ in 0..steps {
        for j in 0..12 {
            data.ctrl_mut()[robot.actuators[j]] =
                description.default_pose[j] + rng.random_range(-0.3..0.3);
        }
        for _ in 0..decimation {
            data.step();
        }
        if data.qpos()[robot.root_qpos + 2] - initial[robot.root_qpos + 2] < -0.28 {
            data.qpos_mut().copy_from_slice(&initial);
            data.qvel_mut().iter_mut().for_each(|v| *v = 0.0);
        }
    }
    steps as f64 / start.elapsed().as_secs_f64()
}

fn random_action(rng: &mut ChaCha8Rng, out: &mut [f64]) {
    out.iter_mut()
        .for_each(|a| *a = rng.random_range(-0.5..0.5));
}

/// Policy steps per second of one environment.
fn single_env(terrain: &TerrainConfig, steps: usize, seed: u64) -> f64 {
    let mut env = LeggedEnv::new(config(terrain)).expect("valid config");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut action = vec![0.0; 16];
    env.reset(Some(seed));
    let start = Instant::now();
    for _ in 0..steps {
        random_action(&mut rng, &mut action);
        if env.step(&action).expect("valid action").done() {
            env.reset(None);
        }
    }
    steps as f64 / start.elapsed().as_secs_f64()
}

/// Policy steps per second of a vector env.
fn vector_env(terrain: &TerrainConfig, num_envs: usize, threads: usize, steps: usize) -> f64 {
    let envs = LeggedEnv::copies(config(terrain), num_envs).expect("valid config");
    let mut vec_env = VectorEnv::new(envs, threads).expect("valid vector env");
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    vec_env.reset(Some(0));
    let mut actions = vec![0.0; num_envs * 16];
    let batches = (steps / num_envs).max(1);
    let start = Instant::now();
    for _ in 0..batches {
        random_action(&mut rng, &mut actions);
        vec_env.step(&actions).expect("valid actions");
    }
    (batches * num_envs) as f64 / start.elapsed().as_secs_f64()
}

fn on_two_threads(f: impl Fn(u64) -> f64 + Sync) -> f64 {
    std::thread::scope(|s| {
        let a = s.spawn(|| f(1));
        let b = s.spawn(|| f(2));
        a.join().expect("thread") + b.join().expect("thread")
    })
}

/// Resident memory of this process (MB), from /proc.
fn resident_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The bundled model with `edits` (text replacements) and `decimation` physics steps per
/// policy step, on flat ground.
fn physics_variant(edits: &[(&str, &str)], decimation: usize) -> LeggedConfig {
    let mut xml = ANYMAL_C_XML.to_string();
    for (from, to) in edits {
        assert!(xml.contains(from), "the bundled model has no '{from}'");
        xml = xml.replace(from, to);
    }
    let mut config = config(&TerrainConfig::Plane);
    config.robot.model = ModelSource::Xml(xml);
    config.decimation = decimation;
    config
}

/// The raw loop under the bundled model's settings and under others, one change at a time.
fn physics_table(args: &Args) {
    let options = r#"timestep="0.005" integrator="implicitfast" cone="pyramidal" impratio="1" iterations="3" ls_iterations="5""#;
    let feet_only = [
        (r#"<geom name="base""#, r#"<geom name="base" contype="0""#),
        (
            r#"_THIGH" type="capsule""#,
            r#"_THIGH" contype="0" type="capsule""#,
        ),
        (
            r#"_SHANK" type="capsule""#,
            r#"_SHANK" contype="0" type="capsule""#,
        ),
    ];
    let variants: Vec<(&str, LeggedConfig)> = vec![
        (
            "bundled: 5 ms x 4, implicitfast, pyramidal, condim 3, Newton 3/5",
            physics_variant(&[], 4),
        ),
        (
            "elliptic cone",
            physics_variant(&[(r#"cone="pyramidal""#, r#"cone="elliptic""#)], 4),
        ),
        (
            "as Menagerie ships: elliptic, impratio 100, condim 6, Newton 100/50, Euler, 2 ms x 10",
            physics_variant(
                &[
                    (
                        options,
                        r#"timestep="0.002" integrator="Euler" cone="elliptic" impratio="100" iterations="100" ls_iterations="50""#,
                    ),
                    (r#"condim="3""#, r#"condim="6""#),
                ],
                10,
            ),
        ),
        (
            "condim 6",
            physics_variant(&[(r#"condim="3""#, r#"condim="6""#)], 4),
        ),
        (
            "Newton 100/50 iterations (MuJoCo's default)",
            physics_variant(
                &[(
                    r#"iterations="3" ls_iterations="5""#,
                    r#"iterations="100" ls_iterations="50""#,
                )],
                4,
            ),
        ),
        (
            "Euler integrator",
            physics_variant(
                &[(r#"integrator="implicitfast""#, r#"integrator="Euler""#)],
                4,
            ),
        ),
        ("feet-only contacts", physics_variant(&feet_only, 4)),
        (
            "2.5 ms x 8",
            physics_variant(&[(r#"timestep="0.005""#, r#"timestep="0.0025""#)], 8),
        ),
        (
            "2 ms x 10",
            physics_variant(&[(r#"timestep="0.005""#, r#"timestep="0.002""#)], 10),
        ),
    ];
    let mut rates = vec![Vec::new(); variants.len()];
    for _ in 0..args.rounds {
        for ((_, config), rates) in variants.iter().zip(rates.iter_mut()) {
            rates.push(raw_loop_of(config.clone(), args.steps, 0));
        }
    }
    println!(
        "
Raw mj_step loop on flat ground, 1 thread, policy steps/s (50 Hz)
"
    );
    println!("| physics | policy steps/s | of the bundled settings |");
    println!("|---|---|---|");
    let rates: Vec<f64> = rates.into_iter().map(median).collect();
    for ((name, _), rate) in variants.iter().zip(&rates) {
        println!("| {name} | {rate:.0} | {:.2} |", rate / rates[0]);
    }
}

/// Writes the compiled model of `terrain`'s environment and the raw loop's setup into `dir`
/// for MuJoCo's Python loop; returns the anchor's arguments.
fn python_loop_args(
    terrain: &TerrainConfig,
    steps: usize,
    dir: &std::path::Path,
    name: &str,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let mut env = LeggedEnv::new(config(terrain))?;
    env.reset(Some(0));
    let world = env.world().clone();
    let model = dir.join(format!("{name}.mjb"));
    env.data().model().save_to_file(&model)?;
    let setup = serde_json::json!({
        "qpos": env.data().qpos(),
        "actuators": world.robot.actuators,
        "pose": world.description.default_pose,
        "root_z": world.robot.root_qpos + 2,
        "decimation": env.config().decimation,
    });
    let setup_path = dir.join(format!("{name}.json"));
    std::fs::write(&setup_path, setup.to_string())?;
    Ok(vec![
        "--model".into(),
        model.display().to_string(),
        "--setup".into(),
        setup_path.display().to_string(),
        "--steps".into(),
        steps.to_string(),
    ])
}

fn main() -> std::process::ExitCode {
    anymal::cli::report(run(Args::parse()))
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let anchors = args.anchors.prepare()?;
    let scratch = std::env::temp_dir().join(format!("anymal-bench-legged-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    if args.physics {
        physics_table(&args);
    }
    let rough = TerrainConfig::Tiles(TileGrid {
        types: vec![
            TerrainType::Rough,
            TerrainType::RoughDiscrete,
            TerrainType::StairsUp,
            TerrainType::GridSteps,
        ],
        ..TileGrid::default()
    });
    let terrains = [
        ("flat (plane)", TerrainConfig::Plane),
        ("rough (tiles)", rough),
    ];
    let n = args.steps;
    println!(
        "ANYmal C, CPG actions U(-0.5, 0.5), paper noise model on; policy steps at 50 Hz \
         (4 x 5 ms physics steps); medians of {} rounds\n",
        args.rounds
    );
    println!(
        "| terrain | setup | threads | policy steps/s | per core | of the raw loop per core | \
         of the raw loop on as many threads |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut python_rows = Vec::new();
    for (k, (name, terrain)) in terrains.iter().enumerate() {
        let python_args = python_loop_args(terrain, n, &scratch, &format!("terrain{k}"))?;
        let mut python_rates = Vec::new();
        let setups: [(&str, usize, &dyn Fn() -> f64); 6] = [
            ("raw mj_step loop", 1, &|| raw_loop(terrain, n, 0)),
            ("raw mj_step loop", 2, &|| {
                on_two_threads(|s| raw_loop(terrain, n, s))
            }),
            ("1 env", 1, &|| single_env(terrain, n, 0)),
            ("1 env per thread", 2, &|| {
                on_two_threads(|s| single_env(terrain, n, s))
            }),
            ("VectorEnv", 1, &|| vector_env(terrain, args.num_envs, 1, n)),
            ("VectorEnv", 2, &|| {
                vector_env(terrain, args.num_envs, 2, 2 * n)
            }),
        ];
        let mut rates = vec![Vec::new(); setups.len()];
        for round in 0..args.rounds {
            // The anchor runs first in odd rounds and last in even ones.
            let python = |rates: &mut Vec<f64>| -> Result<(), Box<dyn std::error::Error>> {
                if let Some(anchors) = &anchors {
                    let key = "policy_steps_per_second";
                    rates.push(anchors.measure("mujoco_loop.py", &python_args, key)?);
                }
                Ok(())
            };
            if round % 2 == 1 {
                python(&mut python_rates)?;
            }
            for ((_, _, setup), rates) in setups.iter().zip(rates.iter_mut()) {
                rates.push(setup());
            }
            if round % 2 == 0 {
                python(&mut python_rates)?;
            }
        }
        let rates: Vec<f64> = rates.into_iter().map(median).collect();
        let raw = [rates[0], rates[1]];
        for ((setup, threads, _), rate) in setups.iter().zip(&rates) {
            let label = if *setup == "VectorEnv" {
                format!("VectorEnv({})", args.num_envs)
            } else {
                setup.to_string()
            };
            let per_core = rate / *threads as f64;
            println!(
                "| {name} | {label} | {threads} | {rate:.0} | {per_core:.0} | {:.2} | {:.2} |",
                per_core / raw[0],
                rate / raw[threads - 1]
            );
        }
        let python = (!python_rates.is_empty()).then(|| median(python_rates));
        python_rows.push((name, raw[0], python));
    }
    println!("\nThe raw loop against MuJoCo 3.17.0's Python bindings on the same compiled model:");
    for (name, rust, python) in python_rows {
        println!(
            "- {name}: Rust {rust:.0} policy steps/s; Python {}",
            anymal::anchors::versus(rust, python)
        );
    }
    std::fs::remove_dir_all(&scratch)?;
    let before = resident_mb();
    let copies =
        LeggedEnv::copies(LeggedConfig::default(), args.memory_copies).expect("valid config");
    let mut copies = copies;
    for (i, env) in copies.iter_mut().enumerate() {
        env.reset(Some(i as u64));
    }
    let after = resident_mb();
    println!(
        "\n{} copies on the default 10 x 8 tile grid ({} model variants): {:.0} MB resident \
         ({:.0} MB before)",
        args.memory_copies,
        copies[0].world().variants.len(),
        after,
        before
    );
    Ok(())
}
