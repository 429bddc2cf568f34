use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::env::{Env, Info, Step};
use crate::error::{EnvError, Result};

/// Running mean and (population) variance, Gymnasium's `RunningMeanStd`: starts at mean 0,
/// variance 1 and a count of 1e-4.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningMeanStd {
    /// Mean per feature.
    pub mean: Vec<f64>,
    /// Variance per feature.
    pub var: Vec<f64>,
    /// Number of samples seen (plus the initial 1e-4).
    pub count: f64,
}

impl RunningMeanStd {
    /// Statistics of `dim` features before any sample.
    pub fn new(dim: usize) -> Self {
        Self {
            mean: vec![0.0; dim],
            var: vec![1.0; dim],
            count: 1e-4,
        }
    }

    /// Adds one sample.
    pub fn update(&mut self, x: &[f64]) {
        let total = self.count + 1.0;
        for ((mean, var), x) in self.mean.iter_mut().zip(&mut self.var).zip(x) {
            let delta = x - *mean;
            *mean += delta / total;
            *var = (*var * self.count + delta * delta * self.count / total) / total;
        }
        self.count = total;
    }

    /// `(x - mean) / sqrt(var + 1e-8)`.
    pub fn normalize(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .zip(&self.mean)
            .zip(&self.var)
            .map(|((x, m), v)| (x - m) / (v + 1e-8).sqrt())
            .collect()
    }
}

/// Normalises observations by their running mean and variance (Gymnasium's
/// `NormalizeObservation`), updated on every reset and step while training. The statistics can
/// be saved and loaded so that an evaluation sees what training saw.
pub struct NormalizeObservation<E> {
    env: E,
    stats: RunningMeanStd,
    update: bool,
}

impl<E: Env<Obs = Vec<f64>>> NormalizeObservation<E> {
    /// Wraps `env` with fresh statistics.
    pub fn new(env: E) -> Self {
        let dim = match env.observation_space() {
            crate::env::ObservationSpace::Box(space) => space.dim(),
            crate::env::ObservationSpace::Structured { .. } => {
                panic!("NormalizeObservation needs flat observations")
            }
        };
        Self {
            env,
            stats: RunningMeanStd::new(dim),
            update: true,
        }
    }

    /// Whether new observations update the statistics (turn off to evaluate).
    pub fn set_update(&mut self, update: bool) {
        self.update = update;
    }

    /// The statistics.
    pub fn stats(&self) -> &RunningMeanStd {
        &self.stats
    }

    /// Replaces the statistics.
    pub fn set_stats(&mut self, stats: RunningMeanStd) {
        self.stats = stats;
    }

    /// Writes the statistics to a JSON file.
    pub fn save_stats(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let json = serde_json::to_string(&self.stats).expect("statistics serialise");
        std::fs::write(path, json)
            .map_err(|e| EnvError::Parameter(format!("{}: {e}", path.display())))
    }

    /// Reads statistics written by [`Self::save_stats`].
    pub fn load_stats(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| EnvError::Parameter(format!("{}: {e}", path.display())))?;
        let stats: RunningMeanStd = serde_json::from_str(&text)
            .map_err(|e| EnvError::Parameter(format!("{}: {e}", path.display())))?;
        if stats.mean.len() != self.stats.mean.len() {
            return Err(EnvError::Parameter(format!(
                "{}: statistics of {} features, the observations have {}",
                path.display(),
                stats.mean.len(),
                self.stats.mean.len()
            )));
        }
        self.stats = stats;
        Ok(())
    }

    fn observe(&mut self, obs: &[f64]) -> Vec<f64> {
        if self.update {
            self.stats.update(obs);
        }
        self.stats.normalize(obs)
    }
}

impl<E: Env<Obs = Vec<f64>>> Env for NormalizeObservation<E> {
    type Obs = Vec<f64>;

    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        let (obs, info) = self.env.reset(seed);
        (self.observe(&obs), info)
    }

    fn step(&mut self, action: &[f64]) -> Result<Step<Vec<f64>>> {
        let step = self.env.step(action)?;
        let obs = self.observe(&step.obs);
        Ok(Step { obs, ..step })
    }

    super::forward_spaces!();
}
