//! Running one episode with a policy and recording it.

use crate::env::Env;
use crate::error::Result;

/// One recorded episode.
#[derive(Debug, Clone)]
pub struct Episode<O> {
    /// Observations, the reset one first: one more than actions.
    pub observations: Vec<O>,
    /// Actions taken.
    pub actions: Vec<Vec<f64>>,
    /// Rewards received.
    pub rewards: Vec<f64>,
    /// Whether the episode ended in a terminal state.
    pub terminated: bool,
    /// Whether it was cut short.
    pub truncated: bool,
}

impl<O> Episode<O> {
    /// Sum of the rewards.
    pub fn episode_return(&self) -> f64 {
        self.rewards.iter().sum()
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    /// Whether no step was taken.
    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }
}

/// Resets `env` with `seed` and steps it with `policy` until the episode ends or `max_steps`.
pub fn rollout<E: Env>(
    env: &mut E,
    seed: Option<u64>,
    max_steps: usize,
    policy: impl FnMut(&E::Obs) -> Vec<f64>,
) -> Result<Episode<E::Obs>> {
    rollout_watched(env, seed, max_steps, policy, |_| Ok(()))
}

/// [`rollout`], calling `watch` with the environment after the reset and after every step (to
/// record a video, say); an error from `watch` ends the rollout with it.
pub fn rollout_watched<E: Env>(
    env: &mut E,
    seed: Option<u64>,
    max_steps: usize,
    mut policy: impl FnMut(&E::Obs) -> Vec<f64>,
    mut watch: impl FnMut(&E) -> Result<()>,
) -> Result<Episode<E::Obs>> {
    let (obs, _) = env.reset(seed);
    watch(env)?;
    let mut episode = Episode {
        observations: vec![obs],
        actions: Vec::new(),
        rewards: Vec::new(),
        terminated: false,
        truncated: false,
    };
    for _ in 0..max_steps {
        let action = policy(
            episode
                .observations
                .last()
                .expect("at least the reset observation"),
        );
        let step = env.step(&action)?;
        watch(env)?;
        episode.actions.push(action);
        episode.rewards.push(step.reward);
        episode.observations.push(step.obs);
        episode.terminated = step.terminated;
        episode.truncated = step.truncated;
        if step.terminated || step.truncated {
            break;
        }
    }
    Ok(episode)
}
