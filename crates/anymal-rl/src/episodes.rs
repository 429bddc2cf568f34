//! The recent training episodes behind `rollout/ep_rew_mean` and `rollout/ep_len_mean`, and the
//! named values environments report in their step infos.

use std::collections::{BTreeMap, VecDeque};

use anymal_envs::Info;
use serde::{Deserialize, Serialize};

use crate::logger::Logger;

/// Return and length of the last `capacity` finished episodes (Stable-Baselines3's
/// `stats_window_size`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeWindow {
    capacity: usize,
    episodes: VecDeque<(f64, usize)>,
}

impl EpisodeWindow {
    /// An empty window of `capacity` episodes (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            episodes: VecDeque::with_capacity(capacity.max(1)),
        }
    }

    /// Adds a finished episode, dropping the oldest when full.
    pub fn push(&mut self, episode_return: f64, length: usize) {
        if self.episodes.len() == self.capacity {
            self.episodes.pop_front();
        }
        self.episodes.push_back((episode_return, length));
    }

    /// Mean return, if any episode finished.
    pub fn mean_return(&self) -> Option<f64> {
        self.mean(|e| e.0)
    }

    /// Mean length, if any episode finished.
    pub fn mean_length(&self) -> Option<f64> {
        self.mean(|e| e.1 as f64)
    }

    /// Records both means under Stable-Baselines3's names.
    pub fn record(&self, logger: &mut Logger) {
        if let (Some(ret), Some(len)) = (self.mean_return(), self.mean_length()) {
            logger.record("rollout/ep_rew_mean", ret);
            logger.record("rollout/ep_len_mean", len);
        }
    }

    fn mean(&self, field: impl Fn(&(f64, usize)) -> f64) -> Option<f64> {
        (!self.episodes.is_empty())
            .then(|| self.episodes.iter().map(field).sum::<f64>() / self.episodes.len() as f64)
    }
}

/// The named values of the step infos of one rollout (`Info::values`: reward terms, tracking
/// errors, terminations...), each averaged over the steps that reported it and logged under its
/// own name. A value an environment reports on every step is a per-step mean; one reported only
/// when an episode ends (a success flag, its cause of termination) is a mean over the episodes
/// that ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InfoMeans {
    sums: BTreeMap<&'static str, (f64, u64)>,
}

impl InfoMeans {
    /// Adds one step's values.
    pub fn add(&mut self, info: &Info) {
        for &(name, value) in &info.values {
            let (sum, count) = self.sums.entry(name).or_default();
            *sum += value;
            *count += 1;
        }
    }

    /// The mean of `name` so far, if any step reported it.
    pub fn mean(&self, name: &str) -> Option<f64> {
        self.sums.get(name).map(|(sum, count)| sum / *count as f64)
    }

    /// Records every mean and starts over.
    pub fn record(&mut self, logger: &mut Logger) {
        for (name, (sum, count)) in std::mem::take(&mut self.sums) {
            logger.record(name, sum / count as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_values_are_averaged_over_the_steps_that_reported_them() {
        let mut means = InfoMeans::default();
        let info = |values: Vec<(&'static str, f64)>| Info {
            episode: None,
            values,
        };
        means.add(&info(vec![("rewards/a", 1.0), ("success", 1.0)]));
        means.add(&info(vec![("rewards/a", 2.0)]));
        means.add(&info(vec![("rewards/a", 6.0), ("success", 0.0)]));
        assert_eq!(means.mean("rewards/a"), Some(3.0));
        assert_eq!(means.mean("success"), Some(0.5));
        assert_eq!(means.mean("other"), None);
        let mut logger = Logger::new();
        means.record(&mut logger);
        assert_eq!(means.mean("rewards/a"), None);
    }

    #[test]
    fn keeps_the_last_episodes() {
        let mut window = EpisodeWindow::new(2);
        assert_eq!(window.mean_return(), None);
        for (r, l) in [(1.0, 10), (2.0, 20), (4.0, 40)] {
            window.push(r, l);
        }
        assert_eq!(window.mean_return(), Some(3.0));
        assert_eq!(window.mean_length(), Some(30.0));
    }
}
