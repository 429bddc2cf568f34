use crate::env::{Env, Info, ObservationSpace, Step, check_action};
use crate::error::{EnvError, Result};
use crate::space::BoxSpace;

/// Clips actions into the action space before passing them on.
pub struct ClipAction<E> {
    env: E,
    space: BoxSpace,
}

impl<E: Env> ClipAction<E> {
    /// Wraps `env`.
    pub fn new(env: E) -> Self {
        let space = env.action_space();
        Self { env, space }
    }
}

impl<E: Env> Env for ClipAction<E> {
    type Obs = E::Obs;

    fn reset(&mut self, seed: Option<u64>) -> (E::Obs, Info) {
        self.env.reset(seed)
    }

    fn step(&mut self, action: &[f64]) -> Result<Step<E::Obs>> {
        check_action(action, self.space.dim())?;
        self.env.step(&self.space.clip(action))
    }

    fn observation_space(&self) -> ObservationSpace {
        self.env.observation_space()
    }

    fn action_space(&self) -> BoxSpace {
        // Any finite action is accepted; the box is still the meaningful range.
        self.space.clone()
    }

    fn dt(&self) -> f64 {
        self.env.dt()
    }

    fn sim(&self) -> Option<&crate::mujoco::MujocoSim> {
        self.env.sim()
    }
}

/// Affinely maps actions from `[min, max]` onto the environment's action box.
pub struct RescaleAction<E> {
    env: E,
    from: BoxSpace,
    to: BoxSpace,
}

impl<E: Env> RescaleAction<E> {
    /// Wraps `env`, whose action box must be bounded, so that it takes actions in `[min, max]`.
    pub fn new(env: E, min: f64, max: f64) -> Result<Self> {
        let to = env.action_space();
        if !(min.is_finite() && max.is_finite())
            || min >= max
            || to.low().iter().chain(to.high()).any(|b| !b.is_finite())
        {
            return Err(EnvError::Parameter(format!(
                "RescaleAction needs finite min < max (got {min}, {max}) and a bounded action space (got {to:?})"
            )));
        }
        let from = BoxSpace::uniform(to.dim(), min, max)?;
        Ok(Self { env, from, to })
    }
}

impl<E: Env> Env for RescaleAction<E> {
    type Obs = E::Obs;

    fn reset(&mut self, seed: Option<u64>) -> (E::Obs, Info) {
        self.env.reset(seed)
    }

    fn step(&mut self, action: &[f64]) -> Result<Step<E::Obs>> {
        check_action(action, self.from.dim())?;
        let mapped: Vec<f64> = action
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let (from, to) = (&self.from, &self.to);
                let unit = (a - from.low()[i]) / (from.high()[i] - from.low()[i]);
                to.low()[i] + unit * (to.high()[i] - to.low()[i])
            })
            .collect();
        self.env.step(&mapped)
    }

    fn observation_space(&self) -> ObservationSpace {
        self.env.observation_space()
    }

    fn action_space(&self) -> BoxSpace {
        self.from.clone()
    }

    fn dt(&self) -> f64 {
        self.env.dt()
    }

    fn sim(&self) -> Option<&crate::mujoco::MujocoSim> {
        self.env.sim()
    }
}
