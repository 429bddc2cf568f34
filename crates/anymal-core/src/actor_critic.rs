//! Stable-Baselines3's `MlpPolicy` for flat observations: separate policy and value MLPs, an
//! action head (Gaussian mean with a state-independent log-std, or categorical logits) and a
//! value head, with SB3's orthogonal initialisation (gain sqrt(2) for hidden layers, 0.01 for
//! the action head, 1 for the value head, zero biases).
//!
//! ```text
//! obs [B, obs_dim] --(pi: Linear, act, Linear, act)--> action head --> mean or logits [B, A]
//!                  \-(vf: Linear, act, Linear, act)--> value head  --> value [B]
//! ```

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use crate::action_head::ActionKind;
use crate::activation::tanh;
use crate::distribution::{ActionDistribution, Categorical, DiagGaussian};
use crate::error::Error;
use crate::normalization::{RunningStats, RunningStatsConfig};
use crate::shape::BatchShapes;

/// Hidden-layer activation of an [`MlpActorCritic`].
#[derive(Config, Debug, Copy, PartialEq)]
pub enum Activation {
    /// Hyperbolic tangent (SB3's default for PPO).
    Tanh,
    /// Rectified linear unit.
    Relu,
}

impl Activation {
    /// Applies the activation elementwise.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Self::Tanh => tanh(x),
            Self::Relu => relu(x),
        }
    }

    /// The orthogonal-initialisation gain SB3 uses for hidden layers (sqrt(2) for both).
    fn hidden_gain(self) -> f64 {
        std::f64::consts::SQRT_2
    }
}

/// Configuration of an [`MlpActorCritic`]; the defaults are SB3's `MlpPolicy` for PPO.
#[derive(Config, Debug)]
pub struct MlpActorCriticConfig {
    /// Width of the flat observation.
    pub obs_dim: usize,
    /// Number of actions (dimensions of a Gaussian policy or logits of a categorical one).
    pub num_actions: usize,
    /// Hidden widths of the policy network.
    #[config(default = "vec![64, 64]")]
    pub pi_hidden: Vec<usize>,
    /// Hidden widths of the value network.
    #[config(default = "vec![64, 64]")]
    pub vf_hidden: Vec<usize>,
    /// Hidden-layer activation.
    #[config(default = "Activation::Tanh")]
    pub activation: Activation,
    /// Distribution of the actions.
    #[config(default = "ActionKind::Gaussian { init_log_std: 0.0 }")]
    pub action_kind: ActionKind,
    /// Orthogonal initialisation with SB3's gains and zero biases; otherwise Burn's default.
    #[config(default = true)]
    pub ortho_init: bool,
    /// Normalise observations with running statistics kept in the model (and saved with it);
    /// the trainer updates them from the observations it acts on.
    #[config(default = false)]
    pub normalize_observations: bool,
}

/// Separate policy and value MLPs with their heads. See the [module documentation](self).
#[derive(Module, Debug)]
pub struct MlpActorCritic {
    /// Hidden layers of the policy network.
    pub pi: Vec<Linear>,
    /// Hidden layers of the value network.
    pub vf: Vec<Linear>,
    /// Last policy features to action means or logits.
    pub action_net: Linear,
    /// Last value features to the value.
    pub value_net: Linear,
    /// Log standard deviation `[num_actions]` of a Gaussian policy; `None` for categorical.
    pub log_std: Option<Param<Tensor<1>>>,
    /// Running observation statistics, when the configuration asks for normalisation.
    pub obs_normalizer: Option<RunningStats>,
    #[module(skip)]
    config: MlpActorCriticConfig,
}

impl MlpActorCriticConfig {
    /// Builds the network on `device`.
    pub fn init(&self, device: &Device) -> crate::Result<MlpActorCritic> {
        if self.obs_dim == 0 || self.num_actions == 0 {
            return Err(Error::Config(format!(
                "MlpActorCritic needs obs_dim and num_actions of at least 1 (got {} and {})",
                self.obs_dim, self.num_actions
            )));
        }
        let gain = self.activation.hidden_gain();
        let stack = |hidden: &[usize]| -> Vec<Linear> {
            std::iter::once(self.obs_dim)
                .chain(hidden.iter().copied())
                .collect::<Vec<_>>()
                .windows(2)
                .map(|pair| self.linear(pair[0], pair[1], gain, device))
                .collect()
        };
        let last = |hidden: &[usize]| hidden.last().copied().unwrap_or(self.obs_dim);
        let log_std = match self.action_kind {
            ActionKind::Categorical => None,
            ActionKind::Gaussian { init_log_std } => Some(Param::from_tensor(Tensor::full(
                [self.num_actions],
                init_log_std,
                device,
            ))),
        };
        Ok(MlpActorCritic {
            pi: stack(&self.pi_hidden),
            vf: stack(&self.vf_hidden),
            action_net: self.linear(last(&self.pi_hidden), self.num_actions, 0.01, device),
            value_net: self.linear(last(&self.vf_hidden), 1, 1.0, device),
            log_std,
            obs_normalizer: self
                .normalize_observations
                .then(|| RunningStatsConfig::new(self.obs_dim).init(device)),
            config: self.clone(),
        })
    }

    fn linear(&self, d_input: usize, d_output: usize, gain: f64, device: &Device) -> Linear {
        if !self.ortho_init {
            return LinearConfig::new(d_input, d_output).init(device);
        }
        // Built from parts: Burn's LinearConfig would apply the orthogonal initializer to the
        // 1-D bias too, which it cannot do.
        Linear {
            weight: Initializer::Orthogonal { gain }.init([d_input, d_output], device),
            bias: Some(Param::from_tensor(Tensor::zeros([d_output], device))),
        }
    }
}

impl MlpActorCritic {
    /// The configuration this network was built from.
    pub fn config(&self) -> &MlpActorCriticConfig {
        &self.config
    }

    /// The action distribution and the value `[B]` for observations `[B, obs_dim]`.
    pub fn forward(&self, obs: Tensor<2>) -> crate::Result<(ActionDistribution, Tensor<1>)> {
        self.forward_normalized(self.normalize(obs)?)
    }

    /// The value `[B]` alone (bootstrapping needs no policy).
    pub fn value(&self, obs: Tensor<2>) -> crate::Result<Tensor<1>> {
        self.value_normalized(self.normalize(obs)?)
    }

    /// The action distribution alone (acting needs no value).
    pub fn distribution(&self, obs: Tensor<2>) -> crate::Result<ActionDistribution> {
        self.distribution_normalized(self.normalize(obs)?)
    }

    /// [`MlpActorCritic::forward`] on observations already normalised by
    /// [`MlpActorCritic::normalize`] (what a rollout buffer stores).
    pub fn forward_normalized(
        &self,
        input: Tensor<2>,
    ) -> crate::Result<(ActionDistribution, Tensor<1>)> {
        self.check(&input)?;
        Ok((self.distribution_of(input.clone()), self.value_of(input)))
    }

    /// [`MlpActorCritic::value`] on normalised observations.
    pub fn value_normalized(&self, input: Tensor<2>) -> crate::Result<Tensor<1>> {
        self.check(&input)?;
        Ok(self.value_of(input))
    }

    /// [`MlpActorCritic::distribution`] on normalised observations.
    pub fn distribution_normalized(&self, input: Tensor<2>) -> crate::Result<ActionDistribution> {
        self.check(&input)?;
        Ok(self.distribution_of(input))
    }

    /// Adds observations `[B, obs_dim]` to the running statistics (no-op without normalisation).
    pub fn update_normalizer(&mut self, obs: Tensor<2>) -> crate::Result<()> {
        self.check(&obs)?;
        if let Some(stats) = &mut self.obs_normalizer {
            stats.update(obs);
        }
        Ok(())
    }

    /// Observations `[B, obs_dim]` normalised with the running statistics (unchanged without
    /// normalisation), after checking their shape.
    pub fn normalize(&self, obs: Tensor<2>) -> crate::Result<Tensor<2>> {
        self.check(&obs)?;
        Ok(match &self.obs_normalizer {
            Some(stats) => stats.normalize(obs),
            None => obs,
        })
    }

    fn check(&self, obs: &Tensor<2>) -> crate::Result<()> {
        BatchShapes::on(self.action_net.weight.lazy_device()).check(
            "obs",
            obs,
            &[self.config.obs_dim],
        )?;
        Ok(())
    }

    fn hidden(&self, layers: &[Linear], obs: Tensor<2>) -> Tensor<2> {
        layers.iter().fold(obs, |x, layer| {
            self.config.activation.apply(layer.forward(x))
        })
    }

    fn value_of(&self, obs: Tensor<2>) -> Tensor<1> {
        let [batch, _] = obs.dims();
        self.value_net
            .forward(self.hidden(&self.vf, obs))
            .reshape([batch])
    }

    fn distribution_of(&self, obs: Tensor<2>) -> ActionDistribution {
        let out = self.action_net.forward(self.hidden(&self.pi, obs));
        match &self.log_std {
            None => ActionDistribution::Categorical(Categorical::new(out)),
            Some(log_std) => ActionDistribution::Gaussian(DiagGaussian::new(out, log_std.val())),
        }
    }
}
