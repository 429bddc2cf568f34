use std::collections::VecDeque;
use std::time::Instant;

use crate::env::{Env, EpisodeStatistics, Info, Step};
use crate::error::Result;

/// How many finished episodes [`RecordEpisodeStatistics`] keeps.
pub const EPISODE_HISTORY: usize = 100;

/// Records each episode's return, length and duration: put in the info of the step that ends
/// it, and kept for the last `EPISODE_HISTORY` episodes.
pub struct RecordEpisodeStatistics<E> {
    env: E,
    episode_return: f64,
    length: usize,
    started: Instant,
    history: VecDeque<EpisodeStatistics>,
}

impl<E: Env> RecordEpisodeStatistics<E> {
    /// Wraps `env`.
    pub fn new(env: E) -> Self {
        Self {
            env,
            episode_return: 0.0,
            length: 0,
            started: Instant::now(),
            history: VecDeque::with_capacity(EPISODE_HISTORY),
        }
    }

    /// The last finished episodes, oldest first.
    pub fn history(&self) -> &VecDeque<EpisodeStatistics> {
        &self.history
    }
}

impl<E: Env> Env for RecordEpisodeStatistics<E> {
    type Obs = E::Obs;

    fn reset(&mut self, seed: Option<u64>) -> (E::Obs, Info) {
        self.episode_return = 0.0;
        self.length = 0;
        self.started = Instant::now();
        self.env.reset(seed)
    }

    fn step(&mut self, action: &[f64]) -> Result<Step<E::Obs>> {
        let mut step = self.env.step(action)?;
        self.episode_return += step.reward;
        self.length += 1;
        if step.done() {
            let stats = EpisodeStatistics {
                episode_return: self.episode_return,
                length: self.length,
                seconds: self.started.elapsed().as_secs_f64(),
            };
            if self.history.len() == EPISODE_HISTORY {
                self.history.pop_front();
            }
            self.history.push_back(stats);
            step.info.episode = Some(stats);
        }
        Ok(step)
    }

    super::forward_spaces!();
}
