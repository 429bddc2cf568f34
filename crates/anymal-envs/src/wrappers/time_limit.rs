use crate::env::{Env, Info, Step};
use crate::error::Result;

/// Truncates episodes after `max_steps` steps.
pub struct TimeLimit<E> {
    env: E,
    max_steps: usize,
    elapsed: usize,
}

impl<E: Env> TimeLimit<E> {
    /// Wraps `env` with a limit of `max_steps` steps per episode.
    pub fn new(env: E, max_steps: usize) -> Self {
        Self {
            env,
            max_steps,
            elapsed: 0,
        }
    }

    /// The wrapped environment.
    pub fn inner_mut(&mut self) -> &mut E {
        &mut self.env
    }

    /// Steps taken in the current episode.
    pub fn elapsed_steps(&self) -> usize {
        self.elapsed
    }
}

impl<E: Env> Env for TimeLimit<E> {
    type Obs = E::Obs;

    fn reset(&mut self, seed: Option<u64>) -> (E::Obs, Info) {
        self.elapsed = 0;
        self.env.reset(seed)
    }

    fn step(&mut self, action: &[f64]) -> Result<Step<E::Obs>> {
        let mut step = self.env.step(action)?;
        self.elapsed += 1;
        if self.elapsed >= self.max_steps {
            step.truncated = true;
        }
        Ok(step)
    }

    super::forward_spaces!();
}
