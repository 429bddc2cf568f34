//! The recent training episodes behind `rollout/ep_rew_mean` and `rollout/ep_len_mean`.

use std::collections::VecDeque;

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

#[cfg(test)]
mod tests {
    use super::*;

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
