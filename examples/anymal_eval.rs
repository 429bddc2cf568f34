//! Evaluates a trained teacher with the paper's protocol (success = walking 4 m along the
//! commanded heading within 10 s): on flat ground (success, velocity- and yaw-rate-tracking
//! errors, falls per minute) and on the grid of terrain types x difficulty levels, with fixed
//! seeds and deterministic actions. Prints the grid as a table and writes
//! `success_grid.png` (success by type and level) and `velocity.png` (commanded and measured
//! velocity over one flat-ground episode) into `--out`.
//!
//! `cargo run --release --example anymal_eval -- --model assets/teachers/flat/teacher.bpk`

use std::path::PathBuf;

use anymal::core::parse_device;
use anymal::envs::legged::{TerrainConfig, TileGrid};
use anymal::plot::{Heatmap, Series, heatmap, line_chart};
use anymal::student::{
    NoiseSetting, Protocol, TracePoint, evaluate_student, student_table, trace_student,
};
use anymal::teacher::{
    evaluate_flat, evaluate_grid, load_teacher, teacher_policy, walk_env, walk_video, watch_walk,
};
use clap::Parser;

#[derive(Parser)]
#[command(
    about = "Evaluate a trained teacher with the paper's protocol on flat ground and on the terrain grid; write the PNGs.",
    allow_negative_numbers = true
)]
struct Args {
    /// A teacher saved by `anymal_teacher` (`teacher.bpk`, its card `teacher.json` beside it).
    #[arg(long, default_value = "assets/teachers/flat/teacher.bpk")]
    model: PathBuf,
    /// Episodes per tile of the grid.
    #[arg(long, default_value_t = 5)]
    episodes: usize,
    /// Difficulty levels evaluated (of the grid's 10), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0,2,4,6,8")]
    levels: Vec<usize>,
    /// First seed of the episodes.
    #[arg(long, default_value_t = 20_000)]
    seed: u64,
    /// Device: flex (default CPU), ndarray or wgpu.
    #[arg(long, default_value = "flex")]
    device: String,
    /// Folder of the PNGs.
    #[arg(long, default_value = "anymal_eval_out")]
    out: PathBuf,
    /// Record one flat-ground success episode (0.8 m/s forward, 10 s) to this file (.gif, or
    /// .mp4 with ffmpeg on the PATH), 640x480 at 25 fps, the camera following the base.
    #[arg(long)]
    video: Option<PathBuf>,
    /// Show that episode in MuJoCo's viewer window, in real time (`human`; needs a display).
    #[arg(long, value_enum)]
    render: Option<anymal::cli::RenderMode>,
    /// Instead: the paper's evaluation of a student distilled from the `--model` teacher
    /// (`anymal_student` writes it), beside the teacher, under each noise condition.
    #[arg(long)]
    student: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    anymal::cli::report(run(Args::parse()))
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    anymal::cli::output_dir(&args.out)?;
    let device = parse_device(&args.device)?;
    let (network, card) = load_teacher(&args.model, &device)?;
    let trained = card.setup.env_config()?;
    println!(
        "teacher {}: {:?} preset, {:?} actions, trained on {:?} ground for {} steps ({:.0} s)",
        args.model.display(),
        card.setup.preset,
        card.setup.action(),
        card.setup.ground,
        card.steps,
        card.seconds
    );
    if let Some(path) = &args.student {
        let model: anymal::core::Anymal = anymal::core::io::load(path, &device)?;
        println!(
            "student {}: flat-ground success episodes under each noise condition (c = 1)\n",
            path.display()
        );
        let mut rows = evaluate_student(
            &model,
            &trained,
            &Protocol::Flat,
            &NoiseSetting::ALL,
            &device,
        )?;
        if let TerrainConfig::Tiles(grid) = &trained.terrain {
            let grid = Protocol::Grid {
                grid: grid.clone(),
                levels: args.levels.clone(),
                episodes: args.episodes,
            };
            rows.extend(evaluate_student(
                &model,
                &trained,
                &grid,
                &NoiseSetting::ALL,
                &device,
            )?);
        }
        print!("{}", student_table(&rows));
        plot_student_traces(&model, &trained, &device, &args.out)?;
        return Ok(());
    }
    let mut policy = teacher_policy(network, &trained, &device);
    let mut watch = anymal::cli::Watch::new(
        args.video.as_deref(),
        args.render,
        &walk_env(&trained)?,
        &walk_video(),
    )?;
    if args.video.is_some() || args.render.is_some() {
        let episode = watch_walk(&mut policy, &trained, args.seed, &mut watch)?;
        println!(
            "watched episode: walked {:.1} m{}",
            episode.walked,
            if episode.fell { ", fell" } else { "" }
        );
    }

    let (flat, episodes) = evaluate_flat(&mut policy, &trained, args.seed)?;
    println!("\n| flat ground | value |\n|---|---|");
    println!(
        "| success (4 m in 10 s at 0.8 m/s, 8 headings) | {:.0} % |",
        100.0 * flat.success_rate
    );
    println!(
        "| velocity-tracking error (16 episodes) | {:.3} m/s |",
        flat.linear_error
    );
    println!("| yaw-rate-tracking error | {:.3} rad/s |", flat.yaw_error);
    println!("| falls per minute | {:.2} |", flat.falls_per_minute);
    let trace = &episodes[0].trace;
    let series =
        |name: &str, f: &dyn Fn(&anymal::envs::legged::evaluation::TracePoint) -> f64| Series {
            name: name.into(),
            points: trace.iter().map(|p| (p.time, f(p))).collect(),
        };
    let velocity_png = args.out.join("velocity.png");
    line_chart(
        &velocity_png,
        "Commanded and measured forward velocity, flat ground",
        "time (s)",
        "velocity (m/s)",
        &[
            series("commanded vx", &|p| p.command[0]),
            series("measured vx", &|p| p.measured[0]),
            series("measured vy", &|p| p.measured[1]),
        ],
    )?;

    let grid = TileGrid::default();
    if let Some(&level) = args.levels.iter().find(|&&l| l >= grid.levels) {
        return Err(format!(
            "--levels: level {level} is outside the grid's 0..{}",
            grid.levels
        )
        .into());
    }
    let results = evaluate_grid(
        &mut policy,
        &trained,
        &grid,
        &args.levels,
        args.episodes,
        args.seed,
    )?;
    let names: Vec<String> = grid.types.iter().map(|t| t.name().to_string()).collect();
    let summary = |column: usize, level: usize| {
        results
            .iter()
            .find(|r| r.column == column && r.level == level)
            .map(|r| r.summary)
    };
    let success = |column, level| summary(column, level).map_or(0.0, |s| s.success_rate);
    println!("\nsuccess per tile (mean distance along the heading, falls per minute):");
    print!("\n| level (difficulty) |");
    for name in &names {
        print!(" {name} |");
    }
    print!("\n|---|");
    println!("{}", "---|".repeat(names.len()));
    let mut values = Vec::new();
    for &level in &args.levels {
        print!("| {level} ({:.2}) |", grid.difficulty(level));
        let row: Vec<f64> = (0..names.len()).map(|c| success(c, level)).collect();
        for (c, v) in row.iter().enumerate() {
            let s = summary(c, level).expect("evaluated");
            print!(
                " {:.0} % ({:.1} m, {:.1}) |",
                100.0 * v,
                s.walked,
                s.falls_per_minute
            );
        }
        println!();
        values.push(row);
    }
    let grid_png = args.out.join("success_grid.png");
    heatmap(
        &grid_png,
        &Heatmap {
            title: &format!("Success (4 m in 10 s), {} episodes per tile", args.episodes),
            rows: args.levels.iter().map(|l| format!("level {l}")).collect(),
            columns: names,
            values,
        },
    )?;
    println!(
        "\nwrote {} and {}",
        grid_png.display(),
        velocity_png.display()
    );
    Ok(())
}

/// The student crossing a noisy patch (the noise switched on 5 s into the episode): the true,
/// noisy and reconstructed heights of the first foot's first sample under the noisy
/// condition, and the gate's opening under each condition.
fn plot_student_traces(
    model: &anymal::core::Anymal,
    trained: &anymal::envs::legged::LeggedConfig,
    device: &anymal::core::burn::tensor::Device,
    out: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    const PATCH_FROM: f64 = 5.0;
    let series = |name: &str, trace: &[TracePoint], f: fn(&TracePoint) -> f64| Series {
        name: name.into(),
        points: trace.iter().map(|p| (p.time, f(p))).collect(),
    };
    let noisy = trace_student(
        model,
        trained,
        NoiseSetting::Condition(2),
        PATCH_FROM,
        device,
    )?;
    let heights_png = out.join("student_heights.png");
    line_chart(
        &heights_png,
        "Student, noisy condition from 5 s: the left front foot's first height sample",
        "time (s)",
        "height below the foot (m)",
        &[
            series("true", &noisy, |p| p.true_height),
            series("noisy (the student's input)", &noisy, |p| p.noisy_height),
            series("reconstructed", &noisy, |p| p.reconstructed_height),
        ],
    )?;
    let mut gates = Vec::new();
    for noise in NoiseSetting::ALL {
        let trace = trace_student(model, trained, noise, PATCH_FROM, device)?;
        gates.push(series(noise.name(), &trace, |p| p.gate));
    }
    let gate_png = out.join("student_gate.png");
    line_chart(
        &gate_png,
        "Student: the attention gate on the heights, noise switched on at 5 s",
        "time (s)",
        "mean gate opening (0 closed, 1 open)",
        &gates,
    )?;
    println!(
        "\nplots: {} and {}",
        heights_png.display(),
        gate_png.display()
    );
    Ok(())
}
