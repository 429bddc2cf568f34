//! Learning curves from a training log: reads a run's `progress.csv` (what [`anymal::rl::Logger`]
//! writes beside its TensorBoard file) and draws every column whose name starts with one of the
//! `--y` prefixes against `--x` into a PNG.
//!
//! `cargo run --release --example plot_run -- --csv runs/anymal_teacher_1/progress.csv \
//!     --y terrain_level/ --smooth 50 --out terrain_levels.png`

use std::path::PathBuf;

use anymal::plot::{Series, line_chart};
use clap::Parser;

#[derive(Parser)]
#[command(
    about = "Draw learning curves from a run's progress.csv into a PNG.",
    allow_negative_numbers = true
)]
struct Args {
    /// The run's `progress.csv`.
    #[arg(long)]
    csv: PathBuf,
    /// Column on the x axis.
    #[arg(long, default_value = "time/time_elapsed")]
    x: String,
    /// Prefixes of the columns drawn (comma-separated), e.g. `terrain_level/,rollout/ep_rew_mean`.
    #[arg(long, value_delimiter = ',', required = true)]
    y: Vec<String>,
    /// Draw each curve as the mean of its last N points (per-update values of episode
    /// statistics are noisy).
    #[arg(long, default_value_t = 1)]
    smooth: usize,
    /// Title of the chart (default: the prefixes).
    #[arg(long)]
    title: Option<String>,
    /// The PNG written.
    #[arg(long, default_value = "curves.png")]
    out: PathBuf,
}

fn main() -> std::process::ExitCode {
    anymal::cli::report(run(Args::parse()))
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    anymal::cli::output_file(&args.out)?;
    let text = std::fs::read_to_string(&args.csv)
        .map_err(|e| format!("cannot read {}: {e}", args.csv.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| format!("{}: empty file", args.csv.display()))?
        .split(',')
        .collect();
    let x = header.iter().position(|h| *h == args.x).ok_or_else(|| {
        format!(
            "{}: no column {} (columns: {})",
            args.csv.display(),
            args.x,
            header.join(", ")
        )
    })?;
    let columns: Vec<usize> = (0..header.len())
        .filter(|&c| c != x && args.y.iter().any(|p| header[c].starts_with(p.as_str())))
        .collect();
    if columns.is_empty() {
        return Err(format!(
            "{}: no column starts with {:?} (columns: {})",
            args.csv.display(),
            args.y,
            header.join(", ")
        )
        .into());
    }
    let mut series: Vec<Series> = columns
        .iter()
        .map(|&c| Series {
            name: header[c].to_string(),
            points: Vec::new(),
        })
        .collect();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let Some(Ok(xv)) = cells.get(x).map(|v| v.parse::<f64>()) else {
            continue;
        };
        for (s, &c) in series.iter_mut().zip(&columns) {
            // A column added later in the run is empty in the rows before it.
            if let Some(Ok(y)) = cells.get(c).map(|v| v.parse::<f64>()) {
                s.points.push((xv, y));
            }
        }
    }
    let window = args.smooth.max(1);
    for s in &mut series {
        let raw: Vec<f64> = s.points.iter().map(|p| p.1).collect();
        for (i, point) in s.points.iter_mut().enumerate() {
            let from = (i + 1).saturating_sub(window);
            point.1 = raw[from..=i].iter().sum::<f64>() / (i + 1 - from) as f64;
        }
    }
    let title = args.title.unwrap_or_else(|| args.y.join(", "));
    line_chart(&args.out, &title, &args.x, "value", &series)?;
    println!("wrote {} ({} curves)", args.out.display(), series.len());
    Ok(())
}
