//! The environment API, with Gymnasium's semantics.
//!
//! - `reset(seed)`: a seed reseeds the environment's generator; `None` continues its stream.
//! - `step(action)`: `terminated` is a true end (do not bootstrap), `truncated` a cut such as a
//!   time limit (bootstrap from the final observation); both can be true.

use crate::error::Result;
use crate::space::BoxSpace;

/// Extra information returned by `reset` and `step`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Info {
    /// Set by [`crate::wrappers::RecordEpisodeStatistics`] on the step that ends an episode.
    pub episode: Option<EpisodeStatistics>,
    /// Named scalars an environment or wrapper reports (for example `reward_survive`).
    pub values: Vec<(&'static str, f64)>,
}

/// Return, length and duration of a finished episode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpisodeStatistics {
    /// Sum of the rewards.
    pub episode_return: f64,
    /// Number of steps.
    pub length: usize,
    /// Wall-clock seconds from reset to the last step.
    pub seconds: f64,
}

/// What `step` returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Step<O> {
    /// The observation after the step.
    pub obs: O,
    /// The reward of the step.
    pub reward: f64,
    /// Whether a terminal state was reached.
    pub terminated: bool,
    /// Whether the episode was cut short (time limit).
    pub truncated: bool,
    /// Extra information.
    pub info: Info,
}

impl<O> Step<O> {
    /// Whether the episode ended, either way.
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// The shape of an environment's observations.
#[derive(Debug, Clone, PartialEq)]
pub enum ObservationSpace {
    /// A flat vector.
    Box(BoxSpace),
    /// Proprioception, per-leg heights and the privileged state (see [`StructuredObs`]).
    Structured {
        /// Width of `proprio`.
        proprio_dim: usize,
        /// Height samples per leg.
        extero_dim: usize,
        /// Number of legs.
        num_legs: usize,
        /// Width of `privileged`.
        privileged_dim: usize,
    },
}

/// A robot's observation split as the teacher-student method needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct StructuredObs {
    /// Proprioception.
    pub proprio: Vec<f32>,
    /// Height samples, `num_legs * extero_dim`, leg after leg.
    pub extero: Vec<f32>,
    /// Privileged state (simulation only).
    pub privileged: Vec<f32>,
    /// The student's noisy copy of `extero`, from the same step; empty when the environment
    /// computes none (then a trainer adds its own noise).
    pub noisy_extero: Vec<f32>,
}

/// An observation that a network reads as one flat `f32` row.
pub trait FlatObservation {
    /// Appends the observation to `out`.
    fn write_flat(&self, out: &mut Vec<f32>);
}

impl FlatObservation for Vec<f64> {
    fn write_flat(&self, out: &mut Vec<f32>) {
        out.extend(self.iter().map(|&x| x as f32));
    }
}

/// Proprio, then extero, then privileged, the order [`ObservationSpace::flat_dim`] counts.
impl FlatObservation for StructuredObs {
    fn write_flat(&self, out: &mut Vec<f32>) {
        out.extend_from_slice(&self.proprio);
        out.extend_from_slice(&self.extero);
        out.extend_from_slice(&self.privileged);
    }
}

impl ObservationSpace {
    /// Width of the flat row [`FlatObservation::write_flat`] writes.
    pub fn flat_dim(&self) -> usize {
        match self {
            Self::Box(space) => space.dim(),
            Self::Structured {
                proprio_dim,
                extero_dim,
                num_legs,
                privileged_dim,
            } => proprio_dim + extero_dim * num_legs + privileged_dim,
        }
    }
}

/// An environment. Actions are real vectors; observations are `Self::Obs`. An environment owns
/// its state (`Send + 'static`), so that a [`crate::VectorEnv`] can step it on a worker thread.
pub trait Env: Send + 'static {
    /// The observation type: `Vec<f64>` for flat observations, [`StructuredObs`] for robots.
    type Obs: Clone + Send + 'static;

    /// Starts an episode. A `seed` reseeds the environment's generator.
    fn reset(&mut self, seed: Option<u64>) -> (Self::Obs, Info);

    /// Applies `action` for one step.
    fn step(&mut self, action: &[f64]) -> Result<Step<Self::Obs>>;

    /// The observations' shape and bounds.
    fn observation_space(&self) -> ObservationSpace;

    /// The actions' bounds.
    fn action_space(&self) -> BoxSpace;

    /// Seconds of simulated time per step.
    fn dt(&self) -> f64;

    /// The MuJoCo simulation behind the environment, for rendering (`None` for environments
    /// without one); wrappers pass their inner environment's on.
    fn sim(&self) -> Option<&crate::mujoco::MujocoSim> {
        None
    }
}

/// An environment chosen at run time, e.g. a wrapper stack built from command-line options.
pub type BoxedEnv<O = Vec<f64>> = Box<dyn Env<Obs = O>>;

impl<E: Env + ?Sized> Env for Box<E> {
    type Obs = E::Obs;
    fn reset(&mut self, seed: Option<u64>) -> (Self::Obs, Info) {
        (**self).reset(seed)
    }
    fn step(&mut self, action: &[f64]) -> Result<Step<Self::Obs>> {
        (**self).step(action)
    }
    fn observation_space(&self) -> ObservationSpace {
        (**self).observation_space()
    }
    fn action_space(&self) -> BoxSpace {
        (**self).action_space()
    }
    fn dt(&self) -> f64 {
        (**self).dt()
    }
    fn sim(&self) -> Option<&crate::mujoco::MujocoSim> {
        (**self).sim()
    }
}

/// Checks an action's length and finiteness against an action space of `dim` dimensions.
pub fn check_action(action: &[f64], dim: usize) -> Result<()> {
    use crate::error::EnvError;
    if action.len() != dim {
        return Err(EnvError::ActionLength {
            expected: dim,
            got: action.len(),
        });
    }
    match action.iter().position(|a| !a.is_finite()) {
        Some(index) => Err(EnvError::NonFiniteAction {
            index,
            value: action[index],
        }),
        None => Ok(()),
    }
}
