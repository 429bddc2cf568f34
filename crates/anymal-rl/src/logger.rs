//! What a user watches while training: TensorBoard scalars, a CSV of the same values, an
//! indicatif progress bar (steps, fps, ETA, mean return) and, when verbose, the console table
//! Stable-Baselines3 prints after every update. Values use SB3's names (`rollout/ep_rew_mean`,
//! `time/fps`, `train/approx_kl`, ...).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};

use crate::error::{Result, RlError};
use crate::tensorboard::EventWriter;

/// Collects values during an update and writes them to every enabled output at [`Logger::dump`].
#[derive(Default)]
pub struct Logger {
    run_dir: Option<PathBuf>,
    tensorboard: Option<EventWriter>,
    csv: Option<CsvLog>,
    progress: Option<ProgressBar>,
    verbose: bool,
    pending: BTreeMap<String, f64>,
}

impl Logger {
    /// A logger with every output off (values recorded are dropped at each dump).
    pub fn new() -> Self {
        Self::default()
    }

    /// Logs a run as Stable-Baselines3 does: a new folder `logdir/{name}_{n}` (the first free
    /// `n` from 1) holding the TensorBoard event file and `progress.csv`.
    pub fn for_run(logdir: impl AsRef<Path>, name: &str) -> Result<Self> {
        let logdir = logdir.as_ref();
        let run_dir = (1..)
            .map(|n| logdir.join(format!("{name}_{n}")))
            .find(|dir| !dir.exists())
            .expect("a free run folder");
        let mut logger = Self::new();
        logger.tensorboard = Some(EventWriter::create(&run_dir)?);
        logger.csv = Some(CsvLog::create(run_dir.join("progress.csv"))?);
        logger.run_dir = Some(run_dir);
        Ok(logger)
    }

    /// Adds a progress bar counting environment steps up to `total_steps`.
    pub fn with_progress_bar(mut self, total_steps: u64) -> Self {
        let bar = ProgressBar::new(total_steps);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30} {human_pos}/{human_len} steps [{elapsed_precise} < {eta_precise}, \
                 {per_sec}] {msg}",
            )
            .expect("valid progress template"),
        );
        self.progress = Some(bar);
        self
    }

    /// Prints the table of values after every dump when `verbose`.
    pub fn with_verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }

    /// The run's folder, when logging to files.
    pub fn run_dir(&self) -> Option<&Path> {
        self.run_dir.as_deref()
    }

    /// Records `value` under `key` for the next dump (a later record of the same key wins).
    pub fn record(&mut self, key: &str, value: f64) {
        self.pending.insert(key.to_string(), value);
    }

    /// Moves the progress bar to `steps` and shows `message` beside it.
    pub fn progress(&mut self, steps: u64, message: String) {
        if let Some(bar) = &self.progress {
            bar.set_position(steps);
            bar.set_message(message);
        }
    }

    /// Writes the recorded values at `step` to TensorBoard, the CSV and the console. Every
    /// row carries its step as `time/total_timesteps` (unless recorded otherwise), so rows that
    /// record only an evaluation are placed too.
    pub fn dump(&mut self, step: u64) -> Result<()> {
        self.pending
            .entry("time/total_timesteps".to_string())
            .or_insert(step as f64);
        let values: Vec<(String, f64)> = std::mem::take(&mut self.pending).into_iter().collect();
        if let Some(tb) = &mut self.tensorboard {
            tb.add_scalars(step, &values)?;
        }
        if let Some(csv) = &mut self.csv {
            csv.append(&values)?;
        }
        if self.verbose {
            let table = console_table(&values);
            match &self.progress {
                Some(bar) => bar.suspend(|| eprintln!("{table}")),
                None => eprintln!("{table}"),
            }
        }
        Ok(())
    }

    /// Prints a line without breaking the progress bar.
    pub fn println(&self, line: &str) {
        match &self.progress {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the progress bar.
    pub fn finish(&mut self) {
        if let Some(bar) = self.progress.take() {
            bar.finish_and_clear();
        }
    }
}

/// `progress.csv`: one row per dump. A key seen for the first time after some rows were
/// written adds a column, and the file is rewritten with the wider header (as SB3 does).
struct CsvLog {
    path: PathBuf,
    columns: Vec<String>,
    rows: Vec<BTreeMap<String, f64>>,
    writer: csv::Writer<File>,
}

impl CsvLog {
    fn create(path: PathBuf) -> Result<Self> {
        let writer = csv::Writer::from_path(&path).map_err(|e| RlError::file(&path, e))?;
        Ok(Self {
            path,
            columns: Vec::new(),
            rows: Vec::new(),
            writer,
        })
    }

    fn append(&mut self, values: &[(String, f64)]) -> Result<()> {
        let row: BTreeMap<String, f64> = values.iter().cloned().collect();
        let new_column = row.keys().any(|k| !self.columns.contains(k));
        self.rows.push(row);
        let fail = |path: &Path, e: &dyn std::fmt::Display| RlError::file(path, e);
        if new_column {
            let mut columns: Vec<String> =
                self.rows.iter().flat_map(|r| r.keys().cloned()).collect();
            columns.sort();
            columns.dedup();
            self.columns = columns;
            self.writer = csv::Writer::from_path(&self.path).map_err(|e| fail(&self.path, &e))?;
            self.writer
                .write_record(&self.columns)
                .map_err(|e| fail(&self.path, &e))?;
            for i in 0..self.rows.len() {
                self.write_row(i)?;
            }
        } else {
            self.write_row(self.rows.len() - 1)?;
        }
        self.writer.flush().map_err(|e| fail(&self.path, &e))
    }

    fn write_row(&mut self, i: usize) -> Result<()> {
        let row = &self.rows[i];
        let cells = self
            .columns
            .iter()
            .map(|c| row.get(c).map(|v| v.to_string()).unwrap_or_default());
        self.writer
            .write_record(cells)
            .map_err(|e| RlError::file(&self.path, e))
    }
}

/// The table Stable-Baselines3 prints: keys grouped by their prefix.
fn console_table(values: &[(String, f64)]) -> String {
    let mut lines: Vec<(String, String)> = Vec::new();
    let mut group = "";
    for (key, value) in values {
        let (prefix, name) = key.split_once('/').unwrap_or(("", key));
        if prefix != group {
            lines.push((format!("{prefix}/"), String::new()));
            group = prefix;
        }
        let shown = if value.fract() == 0.0 && value.abs() < 1e15 {
            format!("{value:.0}")
        } else {
            format!("{value:.3e}")
        };
        lines.push((format!("   {name}"), shown));
    }
    let key_width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let value_width = lines.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    let rule = "-".repeat(key_width + value_width + 7);
    let mut out = vec![rule.clone()];
    for (k, v) in lines {
        out.push(format!("| {k:<key_width$} | {v:<value_width$} |"));
    }
    out.push(rule);
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_gains_a_column_without_losing_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut logger = Logger::for_run(dir.path(), "PPO").unwrap();
        let run = logger.run_dir().unwrap().to_path_buf();
        assert!(run.ends_with("PPO_1"));
        logger.record("time/fps", 100.0);
        logger.dump(10).unwrap();
        logger.record("time/fps", 200.0);
        logger.record("rollout/ep_rew_mean", 5.5);
        logger.dump(20).unwrap();
        logger.record("eval/mean_reward", 7.0);
        logger.dump(30).unwrap();
        let text = std::fs::read_to_string(run.join("progress.csv")).unwrap();
        assert_eq!(
            text,
            "eval/mean_reward,rollout/ep_rew_mean,time/fps,time/total_timesteps\n\
             ,,100,10\n,5.5,200,20\n7,,,30\n"
        );
        // A second run gets the next folder.
        let second = Logger::for_run(dir.path(), "PPO").unwrap();
        assert!(second.run_dir().unwrap().ends_with("PPO_2"));
    }

    #[test]
    fn console_table_groups_by_prefix() {
        let table = console_table(&[
            ("rollout/ep_len_mean".into(), 22.0),
            ("rollout/ep_rew_mean".into(), 22.0),
            ("train/approx_kl".into(), 0.0123),
        ]);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[1].starts_with("| rollout/"), "{table}");
        assert!(
            lines[2].contains("ep_len_mean") && lines[2].contains("22"),
            "{table}"
        );
        assert!(lines[4].starts_with("| train/"), "{table}");
        assert!(lines[5].contains("1.230e-2"), "{table}");
    }
}
