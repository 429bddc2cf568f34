use crate::env::{Env, Info, Step};
use crate::error::Result;

/// Replaces each step's reward by `f(&step)`, where `step` holds the observation, the original
/// reward, the end flags and the info (reward shaping from a closure).
pub struct TransformReward<E, F> {
    env: E,
    f: F,
}

impl<E: Env, F: FnMut(&Step<E::Obs>) -> f64 + Send> TransformReward<E, F> {
    /// Wraps `env`, computing rewards with `f`.
    pub fn new(env: E, f: F) -> Self {
        Self { env, f }
    }
}

impl<E: Env, F: FnMut(&Step<E::Obs>) -> f64 + Send + 'static> Env for TransformReward<E, F> {
    type Obs = E::Obs;

    fn reset(&mut self, seed: Option<u64>) -> (E::Obs, Info) {
        self.env.reset(seed)
    }

    fn step(&mut self, action: &[f64]) -> Result<Step<E::Obs>> {
        let mut step = self.env.step(action)?;
        step.reward = (self.f)(&step);
        Ok(step)
    }

    super::forward_spaces!();
}
