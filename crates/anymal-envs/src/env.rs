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
}

/// An environment. Actions are real vectors; observations are `Self::Obs`.
pub trait Env: Send {
    /// The observation type: `Vec<f64>` for flat observations, [`StructuredObs`] for robots.
    type Obs: Clone + Send;

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
