//! The quadruped world, shown: the CPG with zero actions (a trot in place) under a scripted
//! command, on flat ground and on a stairs tile of the terrain grid. Writes, into `--out`:
//! - `terrain_map.png`: the whole tile grid, each tile labelled with its type and level;
//! - `<terrain>_scan.png`: the ground around the robot with the 4 x 52 height-scan points and
//!   the feet;
//! - `<terrain>_heights.png`: base height and foot heights over time.
//!
//! `cargo run --release --example legged_demo`

use std::path::PathBuf;

use anymal::envs::Env;
use anymal::envs::legged::env::terminations;
use anymal::envs::legged::height_scan::ScanPattern;
use anymal::envs::legged::{
    ActionSpace, CommandConfig, LeggedConfig, LeggedEnv, Randomization, TerrainConfig, TerrainType,
    TileGrid,
};
use anymal::envs::video::VideoConfig;
use anymal::plot::{HeightMap, MapLabel, Series, height_map, line_chart};
use clap::Parser;

#[derive(Parser)]
#[command(
    about = "The quadruped world shown: terrain map, height-scan points and foot heights of a trot in place, as PNGs.",
    allow_negative_numbers = true
)]
struct Args {
    /// Folder for the PNGs.
    #[arg(long, default_value = "legged_demo_out")]
    out: PathBuf,
    /// Seconds simulated on each terrain.
    #[arg(long, default_value_t = 6.0)]
    seconds: f64,
    /// Level (row) of the stairs tile of the second run.
    #[arg(long, default_value_t = 3)]
    level: usize,
    /// Record each run to a video: FILE with the run's name added (`demo.gif` gives
    /// `demo_flat.gif` and `demo_stairs.gif`; `.mp4` needs ffmpeg), 640x480 at 25 fps, the
    /// camera following the base.
    #[arg(long)]
    video: Option<PathBuf>,
    /// Show both runs in MuJoCo's viewer window, in real time (`human`; needs a display).
    #[arg(long, value_enum)]
    render: Option<anymal::cli::RenderMode>,
}

/// The scripted command: forward, then sideways, then turning (seen in the observation; zero
/// actions do not follow it).
fn command_at(t: f64) -> [f64; 3] {
    match t {
        t if t < 2.0 => [0.5, 0.0, 0.0],
        t if t < 4.0 => [0.0, 0.3, 0.0],
        _ => [0.0, 0.0, 0.5],
    }
}

fn main() -> std::process::ExitCode {
    anymal::cli::report(run(Args::parse()))
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    anymal::cli::output_dir(&args.out)?;
    let grid = TileGrid::default();
    let stairs = grid
        .types
        .iter()
        .position(|&t| t == TerrainType::StairsUp)
        .expect("the default grid has stairs");
    let make_env = |terrain| {
        let mut config = LeggedConfig {
            terrain,
            action: ActionSpace::CPG,
            randomization: Randomization::none(),
            commands: CommandConfig::fixed(0.0, 0.0, 0.0),
            ..LeggedConfig::default()
        };
        config.curriculum.enabled = false;
        LeggedEnv::new(config)
    };
    let video_config = VideoConfig {
        every: 2,
        ..VideoConfig::tracking("base", 2.0)
    };
    // One recorder and one window for both runs: they follow the change of terrain model.
    let mut watch = anymal::cli::Watch::new(
        args.video.as_deref(),
        args.render,
        &make_env(TerrainConfig::Plane)?,
        &video_config,
    )?;
    let runs = [
        ("flat", TerrainConfig::Plane),
        ("stairs", TerrainConfig::Tiles(grid.clone())),
    ];
    for (name, terrain) in runs {
        let mut env = make_env(terrain)?;
        if name == "stairs" {
            env.set_tile(args.level.min(grid.levels - 1), stairs)?;
        }
        let mut obs = env.reset(Some(0)).0;
        if let Some(tiles) = env.world().tiles() {
            // On the platform, facing the stairs, front feet 6 cm from the first step: the
            // front feet's scans reach the first two steps.
            let [cx, cy] = tiles.tile_center(env.tile().0, stairs);
            obs = env.place([cx + tiles.platform / 2.0 - 0.5, cy], 0.0)?;
        }
        let steps = (args.seconds / env.dt()).round() as usize;
        let mut base = Vec::new();
        let mut feet: [Vec<(f64, f64)>; 4] = Default::default();
        let mut ground = Vec::new();
        let mut ended = None;
        for step in 0..steps {
            let t = step as f64 * env.dt();
            env.set_command(command_at(t));
            let step = env.step(&[0.0; 16])?;
            watch.step(&env)?;
            let state = env.state();
            base.push((t, state.base_position[2]));
            for (leg, series) in feet.iter_mut().enumerate() {
                series.push((t, state.foot_position[leg][2]));
            }
            let [x, y, _] = state.base_position;
            ground.push((t, env.world().ground_height(x, y)));
            if step.done() {
                ended = Some((t, terminations(&step.info).join(", ")));
                break;
            }
        }
        watch.save_video(Some(name), env.dt())?;
        let legs = ["LF", "RF", "LH", "RH"];
        let mut series = vec![
            Series {
                name: "base".into(),
                points: base,
            },
            Series {
                name: "ground under the base".into(),
                points: ground,
            },
        ];
        series.extend(feet.into_iter().zip(legs).map(|(points, leg)| Series {
            name: format!("{leg} foot"),
            points,
        }));
        let heights = args.out.join(format!("{name}_heights.png"));
        line_chart(
            &heights,
            &format!("CPG with zero actions on {name} ground: heights (m)"),
            "time (s)",
            "height (m)",
            &series,
        )?;
        // The scan around the robot at the end.
        let state = env.state().clone();
        let offsets = ScanPattern::FootCircles.offsets();
        let (s, c) = state.yaw.sin_cos();
        let mut points = Vec::new();
        for (leg, foot) in state.foot_position.iter().enumerate() {
            for o in &offsets {
                points.push((
                    foot[0] + c * o[0] - s * o[1],
                    foot[1] + s * o[0] + c * o[1],
                    leg,
                ));
            }
        }
        let [x, y, _] = state.base_position;
        let world = env.world().clone();
        let scan = args.out.join(format!("{name}_scan.png"));
        height_map(
            &scan,
            &HeightMap {
                title: &format!("{name}: the 4 x 52 height samples around the feet"),
                x: (x - 1.2, x + 1.2),
                y: (y - 1.0, y + 1.0),
                cells: (240, 200),
                labels: legs
                    .iter()
                    .zip(&state.foot_position)
                    .map(|(leg, f)| MapLabel {
                        at: (f[0] + 0.05, f[1] + 0.05),
                        text: leg.to_string(),
                    })
                    .collect(),
                points,
                colour_range: None,
            },
            (1000, 850),
            |x, y| world.ground_height(x, y),
        )?;
        let scan_low = obs.extero.iter().cloned().fold(f32::INFINITY, f32::min);
        let scan_high = obs.extero.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        println!(
            "{name}: {} s simulated{}; height scan at the start from {scan_low:.3} to {scan_high:.3} m; wrote {} and {}",
            args.seconds,
            ended.map_or(String::new(), |(t, why)| format!(
                " (ended at {t:.2} s: {why})"
            )),
            heights.display(),
            scan.display()
        );
        if let Some(tiles) = world.tiles() {
            let [lx, ly] = tiles.extent();
            let mut labels = Vec::new();
            for (column, kind) in tiles.types.iter().enumerate() {
                for level in (0..tiles.levels).step_by(3) {
                    let [cx, cy] = tiles.tile_center(level, column);
                    labels.push(MapLabel {
                        at: (cx - tiles.tile_size * 0.45, cy + tiles.tile_size * 0.3),
                        text: format!("{} {level}", kind.name()),
                    });
                }
            }
            let map = args.out.join("terrain_map.png");
            height_map(
                &map,
                &HeightMap {
                    title: "terrain grid: levels along x, types along y, colours clipped",
                    x: (0.0, lx),
                    y: (0.0, ly),
                    cells: (440, 360),
                    labels,
                    points: vec![(x, y, 0)],
                    colour_range: Some((-0.4, 0.4)),
                },
                (1300, 1100),
                |x, y| world.ground_height(x, y),
            )?;
            println!("wrote {}", map.display());
        }
    }
    Ok(())
}
