//! What PPO trains: an actor-critic network ([`ActorCritic`]), and a trained policy ready to
//! act ([`Policy`], with `predict(obs, deterministic)` as in Stable-Baselines3).

use std::path::Path;

use anymal_core::io::SavedModel;
use anymal_core::{ActionDistribution, MlpActorCritic};
use anymal_envs::{BoxSpace, FlatObservation};
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::checkpoint;
use crate::error::{Result, RlError};

/// A network with a policy head and a value head over flat observations `[B, obs_dim]`.
///
/// A network that keeps running observation statistics normalises in
/// [`ActorCritic::normalize`]; the heads take its output. PPO stores normalised observations
/// in its buffer (as Stable-Baselines3 with `VecNormalize` and rsl_rl do), so the update sees
/// exactly the inputs the actions were sampled from.
pub trait ActorCritic: SavedModel + Sync {
    /// Width of the flat observation.
    fn obs_dim(&self) -> usize;
    /// Raw observations normalised with the running statistics (unchanged without), after
    /// checking their shape.
    fn normalize(&self, obs: Tensor<2>) -> anymal_core::Result<Tensor<2>>;
    /// The action distribution and the value `[B]` of normalised observations.
    fn forward_normalized(
        &self,
        input: Tensor<2>,
    ) -> anymal_core::Result<(ActionDistribution, Tensor<1>)>;
    /// The value `[B]` alone, of normalised observations.
    fn value_normalized(&self, input: Tensor<2>) -> anymal_core::Result<Tensor<1>>;
    /// The action distribution alone, of normalised observations.
    fn distribution_normalized(&self, input: Tensor<2>) -> anymal_core::Result<ActionDistribution>;
    /// Whether the network keeps running observation statistics.
    fn normalizes_observations(&self) -> bool;
    /// Adds observations to the network's running statistics, if it keeps any.
    fn update_normalizer(&mut self, obs: Tensor<2>) -> anymal_core::Result<()>;
}

impl ActorCritic for MlpActorCritic {
    fn obs_dim(&self) -> usize {
        self.config().obs_dim
    }
    fn normalize(&self, obs: Tensor<2>) -> anymal_core::Result<Tensor<2>> {
        MlpActorCritic::normalize(self, obs)
    }
    fn forward_normalized(
        &self,
        input: Tensor<2>,
    ) -> anymal_core::Result<(ActionDistribution, Tensor<1>)> {
        MlpActorCritic::forward_normalized(self, input)
    }
    fn value_normalized(&self, input: Tensor<2>) -> anymal_core::Result<Tensor<1>> {
        MlpActorCritic::value_normalized(self, input)
    }
    fn distribution_normalized(&self, input: Tensor<2>) -> anymal_core::Result<ActionDistribution> {
        MlpActorCritic::distribution_normalized(self, input)
    }
    fn normalizes_observations(&self) -> bool {
        self.obs_normalizer.is_some()
    }
    fn update_normalizer(&mut self, obs: Tensor<2>) -> anymal_core::Result<()> {
        MlpActorCritic::update_normalizer(self, obs)
    }
}

/// Rows of `values` (`rows * width` numbers) as a `[rows, width]` tensor on `device`.
pub(crate) fn rows_tensor(values: Vec<f32>, width: usize, device: &Device) -> Tensor<2> {
    let rows = values.len() / width.max(1);
    Tensor::from_data(TensorData::new(values, [rows, width]), device)
}

/// Reads a tensor back to the host.
pub(crate) fn to_host<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 data converts to f32")
}

/// A trained policy that acts: the network without autodiff, the action space its actions are
/// clipped to (Stable-Baselines3's semantics for continuous actions), and its own sampling RNG.
#[derive(Debug, Clone)]
pub struct Policy<P: ActorCritic> {
    /// The network.
    pub network: P,
    /// The action space actions are clipped to.
    pub action_space: BoxSpace,
    device: Device,
    rng: ChaCha8Rng,
}

impl<P: ActorCritic> Policy<P> {
    /// A policy acting with `network` (use `network.valid()` for a network trained with
    /// autodiff) on `device`, sampling with a generator seeded by `seed`.
    pub fn new(network: P, action_space: BoxSpace, device: Device, seed: u64) -> Self {
        Self {
            network,
            action_space,
            device,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// Loads the policy of a checkpoint written by [`crate::Ppo::save`].
    pub fn load(path: impl AsRef<Path>, device: &Device) -> Result<Self> {
        checkpoint::load_policy(path.as_ref(), device)
    }

    /// The action for one observation: the distribution's mode when `deterministic`, a sample
    /// otherwise, clipped to the action space.
    pub fn predict(&mut self, obs: &[f64], deterministic: bool) -> Result<Vec<f64>> {
        let width = self.network.obs_dim();
        if obs.len() != width {
            return Err(RlError::Input(format!(
                "observation: expected {width} numbers, got {}",
                obs.len()
            )));
        }
        let obs: Vec<f32> = obs.iter().map(|&x| x as f32).collect();
        self.predict_batch(&obs, deterministic)
    }

    /// Actions for `obs` holding whole rows of `obs_dim` numbers, row after row.
    pub fn predict_batch(&mut self, obs: &[f32], deterministic: bool) -> Result<Vec<f64>> {
        let width = self.network.obs_dim();
        if obs.is_empty() || !obs.len().is_multiple_of(width) {
            return Err(RlError::Input(format!(
                "observations: expected whole rows of {width} numbers, got {} numbers",
                obs.len()
            )));
        }
        if let Some(i) = obs.iter().position(|x| !x.is_finite()) {
            return Err(RlError::Input(format!(
                "observation row {}, value {}, is {} (an observation must be finite)",
                i / width,
                i % width,
                obs[i]
            )));
        }
        let input = self
            .network
            .normalize(rows_tensor(obs.to_vec(), width, &self.device))?;
        let dist = self.network.distribution_normalized(input)?;
        let actions = if deterministic {
            dist.mode()
        } else {
            dist.sample_with_rng(&mut self.rng)
        };
        Ok(self.clip(&to_host(actions)))
    }

    /// Clips a batch of actions (rows of the action space's width) to the action space.
    pub(crate) fn clip(&self, actions: &[f32]) -> Vec<f64> {
        clip_to_space(&self.action_space, actions)
    }
}

/// Clips rows of actions to `space` (as Stable-Baselines3 does before stepping the env).
pub(crate) fn clip_to_space(space: &BoxSpace, actions: &[f32]) -> Vec<f64> {
    let dim = space.dim().max(1);
    actions
        .iter()
        .enumerate()
        .map(|(i, &a)| (a as f64).clamp(space.low()[i % dim], space.high()[i % dim]))
        .collect()
}

/// Checks that the environments act in the action space a trainer was built for.
pub(crate) fn check_action_space(trainer: &BoxSpace, envs: &BoxSpace) -> Result<()> {
    if envs != trainer {
        return Err(RlError::Input(format!(
            "the environments' action space {envs:?} differs from the trainer's {trainer:?}"
        )));
    }
    Ok(())
}

/// A policy of the paper's network acts in the legged environment's evaluation episodes (the
/// teacher, deterministic: the mode of its action distribution).
impl anymal_envs::legged::evaluation::Actor for Policy<anymal_core::Anymal> {
    fn act(&mut self, obs: &anymal_envs::StructuredObs) -> anymal_envs::Result<Vec<f64>> {
        let mut flat =
            Vec::with_capacity(obs.proprio.len() + obs.extero.len() + obs.privileged.len());
        obs.write_flat(&mut flat);
        self.predict_batch(&flat, true)
            .map_err(|e| anymal_envs::EnvError::Parameter(format!("policy: {e}")))
    }
}
