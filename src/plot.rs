//! Line charts written to PNG files with plotters, for the examples' observation trajectories
//! and learning curves. Text needs a TrueType font: the first of the usual system fonts that
//! exists is used; without one the chart is drawn without text.

use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

const FONT_CANDIDATES: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
];

/// A named series of (x, y) points.
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// One entry of an episode's observations over time: `entry` picks it from each
    /// observation, the `k`-th at `k * dt` seconds.
    pub fn trace(
        name: &str,
        observations: &[Vec<f64>],
        dt: f64,
        entry: impl Fn(&[f64]) -> f64,
    ) -> Self {
        Self {
            name: name.to_string(),
            points: observations
                .iter()
                .enumerate()
                .map(|(k, obs)| (k as f64 * dt, entry(obs)))
                .collect(),
        }
    }
}

/// Whether a font could be registered (once per process).
fn font_available() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED.get_or_init(|| {
        FONT_CANDIDATES
            .iter()
            .any(|path| match std::fs::read(path) {
                Ok(bytes) => register_font(
                    "sans-serif",
                    FontStyle::Normal,
                    Box::leak(bytes.into_boxed_slice()),
                )
                .is_ok(),
                Err(_) => false,
            })
    })
}

/// Draws `series` as lines into a 1000x600 PNG at `path`; a series of at most
/// [`MARKED_POINTS`] points also gets a marker at each point.
pub fn line_chart(
    path: impl AsRef<Path>,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<(), Box<dyn std::error::Error>> {
    line_charts(path, title, x_label, &[Panel { y_label, series }])
}

/// Series that share a y axis (and its unit) in [`line_charts`].
pub struct Panel<'a> {
    /// The y axis' name, with its unit.
    pub y_label: &'a str,
    /// The series drawn on it.
    pub series: &'a [Series],
}

/// Series with fewer points than this get a marker at each point.
pub const MARKED_POINTS: usize = 50;

/// Draws `panels` one above the other, sharing the x axis, into a 1000-pixel-wide PNG at
/// `path` (600 pixels high for one panel, 400 per panel for more).
pub fn line_charts(
    path: impl AsRef<Path>,
    title: &str,
    x_label: &str,
    panels: &[Panel],
) -> Result<(), Box<dyn std::error::Error>> {
    let path = path.as_ref();
    let points = panels.iter().flat_map(|p| p.series).flat_map(|s| &s.points);
    let (x_min, x_max) = points.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &(x, _)| {
        (a.min(x), b.max(x))
    });
    if !x_min.is_finite() {
        return Err(format!("{}: nothing to plot", path.display()).into());
    }
    let height = if panels.len() == 1 {
        600
    } else {
        400 * panels.len() as u32
    };
    let root = BitMapBackend::new(path, (1000, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let text = font_available();
    let root = if text {
        root.titled(title, ("sans-serif", 24))?
    } else {
        root
    };
    let areas = root.split_evenly((panels.len(), 1));
    let mut colour = 0;
    for (panel, area) in panels.iter().zip(&areas) {
        let (y_min, y_max) = panel
            .series
            .iter()
            .flat_map(|s| &s.points)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &(_, y)| {
                (a.min(y), b.max(y))
            });
        if !y_min.is_finite() {
            return Err(
                format!("{}: nothing to plot on '{}'", path.display(), panel.y_label).into(),
            );
        }
        let pad = ((y_max - y_min) * 0.05).max(1e-6);
        let mut builder = ChartBuilder::on(area);
        builder.margin(20);
        if text {
            builder.x_label_area_size(40).y_label_area_size(70);
        }
        let mut chart = builder
            .build_cartesian_2d(x_min..x_max.max(x_min + 1e-9), (y_min - pad)..(y_max + pad))?;
        if text {
            chart
                .configure_mesh()
                .x_desc(x_label)
                .y_desc(panel.y_label)
                .draw()?;
        }
        for s in panel.series {
            let color = Palette99::pick(colour).to_rgba();
            colour += 1;
            let drawn = chart.draw_series(LineSeries::new(
                s.points.iter().copied(),
                color.stroke_width(2),
            ))?;
            if text {
                drawn
                    .label(s.name.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
            }
            if s.points.len() <= MARKED_POINTS {
                chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
            }
        }
        if text {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()?;
        }
    }
    root.present()?;
    Ok(())
}

/// A text placed on a [`height_map`], in the map's coordinates.
pub struct MapLabel {
    /// Where the text starts.
    pub at: (f64, f64),
    /// The text.
    pub text: String,
}

/// What a [`height_map`] shows: `height(x, y)` over a rectangle, sampled on a `cells` grid,
/// blue (low) to yellow (high), with labels and marked points (`(x, y, colour index)`).
/// `colour_range` fixes the heights of the two ends of the colour scale (values outside take
/// the end colours); `None` spans the data.
pub struct HeightMap<'a> {
    /// Title above the map.
    pub title: &'a str,
    /// The x range shown.
    pub x: (f64, f64),
    /// The y range shown.
    pub y: (f64, f64),
    /// Cells along x and y.
    pub cells: (usize, usize),
    /// Labels drawn on the map.
    pub labels: Vec<MapLabel>,
    /// Points drawn as small circles; the index picks the colour.
    pub points: Vec<(f64, f64, usize)>,
    /// Heights of the ends of the colour scale.
    pub colour_range: Option<(f64, f64)>,
}

/// Draws a [`HeightMap`] of `height` into a PNG of `size` pixels at `path`.
pub fn height_map(
    path: impl AsRef<Path>,
    map: &HeightMap,
    size: (u32, u32),
    height: impl Fn(f64, f64) -> f64,
) -> Result<(), Box<dyn std::error::Error>> {
    let (nx, ny) = map.cells;
    if nx == 0 || ny == 0 || !(map.x.1 > map.x.0 && map.y.1 > map.y.0) {
        return Err(format!("{}: empty map", path.as_ref().display()).into());
    }
    let (dx, dy) = (
        (map.x.1 - map.x.0) / nx as f64,
        (map.y.1 - map.y.0) / ny as f64,
    );
    let samples: Vec<f64> = (0..ny)
        .flat_map(|j| (0..nx).map(move |i| (i, j)))
        .map(|(i, j)| {
            height(
                map.x.0 + (i as f64 + 0.5) * dx,
                map.y.0 + (j as f64 + 0.5) * dy,
            )
        })
        .collect();
    let (low, high) = map.colour_range.unwrap_or_else(|| {
        let low = samples.iter().cloned().fold(f64::INFINITY, f64::min);
        let high = samples.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        (low, high)
    });
    let span = (high - low).max(1e-9);
    let root = BitMapBackend::new(path.as_ref(), size).into_drawing_area();
    root.fill(&WHITE)?;
    let text = font_available();
    let mut builder = ChartBuilder::on(&root);
    builder.margin(15);
    if text {
        let title = format!("{} (blue {low:.2} m .. yellow {high:.2} m)", map.title);
        builder
            .caption(title, ("sans-serif", 22))
            .x_label_area_size(35)
            .y_label_area_size(50);
    }
    let mut chart = builder.build_cartesian_2d(map.x.0..map.x.1, map.y.0..map.y.1)?;
    if text {
        chart
            .configure_mesh()
            .x_desc("x (m)")
            .y_desc("y (m)")
            .draw()?;
    }
    chart.draw_series(samples.iter().enumerate().map(|(k, h)| {
        let (i, j) = (k % nx, k / nx);
        let t = ((h - low) / span).clamp(0.0, 1.0);
        let colour = HSLColor(0.66 - 0.5 * t, 0.75, 0.35 + 0.3 * t);
        let (x0, y0) = (map.x.0 + i as f64 * dx, map.y.0 + j as f64 * dy);
        Rectangle::new([(x0, y0), (x0 + dx, y0 + dy)], colour.filled())
    }))?;
    chart.draw_series(
        map.points
            .iter()
            .map(|&(x, y, c)| Circle::new((x, y), 3, Palette99::pick(c).to_rgba().filled())),
    )?;
    if text {
        for label in &map.labels {
            chart.draw_series(std::iter::once(Text::new(
                label.text.clone(),
                label.at,
                ("sans-serif", 16).into_font().color(&BLACK),
            )))?;
        }
    }
    root.present()?;
    Ok(())
}

/// A table of values in [0, 1] drawn as coloured cells (red 0 .. green 1), each with its value
/// as a percentage: rows top to bottom, columns left to right.
pub struct Heatmap<'a> {
    /// Title above the table.
    pub title: &'a str,
    /// One label per row.
    pub rows: Vec<String>,
    /// One label per column.
    pub columns: Vec<String>,
    /// `values[row][column]`.
    pub values: Vec<Vec<f64>>,
}

/// Draws a [`Heatmap`] into a PNG at `path`.
pub fn heatmap(path: impl AsRef<Path>, map: &Heatmap) -> Result<(), Box<dyn std::error::Error>> {
    let path = path.as_ref();
    let (rows, columns) = (map.rows.len(), map.columns.len());
    if rows == 0 || columns == 0 || map.values.len() != rows {
        return Err(format!("{}: heatmap needs rows x columns values", path.display()).into());
    }
    if let Some(row) = map.values.iter().find(|r| r.len() != columns) {
        return Err(format!(
            "{}: a heatmap row has {} values for {columns} columns",
            path.display(),
            row.len()
        )
        .into());
    }
    let (cell_w, cell_h, left, top) = (110u32, 40u32, 130u32, 60u32);
    let size = (
        left + cell_w * columns as u32 + 20,
        top + cell_h * rows as u32 + 20,
    );
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE)?;
    let text = font_available();
    if text {
        root.draw_text(
            map.title,
            &("sans-serif", 20).into_text_style(&root),
            (10, 8),
        )?;
    }
    let style = ("sans-serif", 15).into_text_style(&root);
    for (c, label) in map.columns.iter().enumerate() {
        if text {
            let x = (left + c as u32 * cell_w + 6) as i32;
            root.draw_text(label, &style, (x, (top - 22) as i32))?;
        }
    }
    for (r, label) in map.rows.iter().enumerate() {
        let y = (top + r as u32 * cell_h) as i32;
        if text {
            root.draw_text(label, &style, (8, y + 12))?;
        }
        for (c, &value) in map.values[r].iter().enumerate() {
            let x = (left + c as u32 * cell_w) as i32;
            let t = value.clamp(0.0, 1.0);
            let colour = HSLColor(0.33 * t, 0.7, 0.55);
            root.draw(&Rectangle::new(
                [(x, y), (x + cell_w as i32 - 2, y + cell_h as i32 - 2)],
                colour.filled(),
            ))?;
            if text {
                let label = format!("{:.0} %", 100.0 * value);
                root.draw_text(&label, &style, (x + 30, y + 12))?;
            }
        }
    }
    root.present()?;
    Ok(())
}
