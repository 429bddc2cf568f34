use crate::env::{Env, Info, Step};
use crate::error::{EnvError, Result};

/// The tutorial's actuation and perception delay: first-order low-pass filters on the action
/// sent to the environment and on the observation returned,
/// `a_f += alpha (a - a_f)`, `o_f += alpha (o - o_f)`, with `alpha = dt / time_constant`.
///
/// On reset the action filter restarts at zero and the observation filter at the reset
/// observation (the tutorial's wrapper kept both across episodes).
pub struct Delay<E> {
    env: E,
    alpha: f64,
    action: Vec<f64>,
    observation: Vec<f64>,
}

impl<E: Env<Obs = Vec<f64>>> Delay<E> {
    /// Wraps `env` with filters of `time_constant` seconds; `alpha = dt / time_constant` must lie
    /// in (0, 1).
    pub fn new(env: E, time_constant: f64) -> Result<Self> {
        let alpha = env.dt() / time_constant;
        if !(alpha > 0.0 && alpha < 1.0) {
            return Err(EnvError::Parameter(format!(
                "Delay: alpha = dt / time_constant = {} / {time_constant} = {alpha} must lie in (0, 1)",
                env.dt()
            )));
        }
        let action = vec![0.0; env.action_space().dim()];
        Ok(Self {
            env,
            alpha,
            action,
            observation: Vec::new(),
        })
    }

    /// The filter coefficient.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }
}

fn low_pass(filtered: &mut [f64], new: &[f64], alpha: f64) {
    for (f, n) in filtered.iter_mut().zip(new) {
        *f += alpha * (n - *f);
    }
}

impl<E: Env<Obs = Vec<f64>>> Env for Delay<E> {
    type Obs = Vec<f64>;

    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        let (obs, info) = self.env.reset(seed);
        self.action.fill(0.0);
        self.observation = obs.clone();
        (obs, info)
    }

    fn step(&mut self, action: &[f64]) -> Result<Step<Vec<f64>>> {
        crate::env::check_action(action, self.action.len())?;
        low_pass(&mut self.action, action, self.alpha);
        let mut step = self.env.step(&self.action)?;
        low_pass(&mut self.observation, &step.obs, self.alpha);
        step.obs.clone_from(&self.observation);
        Ok(step)
    }

    super::forward_spaces!();
}
