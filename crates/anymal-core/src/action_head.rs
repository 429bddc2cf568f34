//! The last layer of a policy and the distribution it parameterises: categorical logits (the
//! PyTorch package) or a Gaussian mean with a learned, state-independent log-std (the paper).

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use crate::distribution::{ActionDistribution, Categorical, DiagGaussian};
use crate::fused::{LinearActivation, linear};

/// Which distribution a policy's actions follow.
#[derive(Config, Debug, PartialEq)]
pub enum ActionKind {
    /// Discrete actions; the head outputs logits (the PyTorch package's only kind).
    Categorical,
    /// Continuous actions; the head outputs the mean, and one learned log-std per action
    /// starts at `init_log_std`.
    Gaussian {
        /// Initial log standard deviation of every action dimension.
        init_log_std: f64,
    },
}

/// A Linear layer from the trunk's (activated) features to the action outputs; plus the log-std
/// of a Gaussian policy. The package's head starts with a LeakyReLU: here the trunk applies it,
/// once for the action and value heads.
#[derive(Module, Debug)]
pub struct ActionHead {
    /// Trunk features to logits or means.
    pub linear: Linear,
    /// Log standard deviation `[num_actions]` of a Gaussian policy; `None` for categorical.
    pub log_std: Option<Param<Tensor<1>>>,
}

impl ActionHead {
    /// A head from `d_input` trunk features to `num_actions` outputs.
    pub fn new(d_input: usize, num_actions: usize, kind: &ActionKind, device: &Device) -> Self {
        let log_std = match kind {
            ActionKind::Categorical => None,
            ActionKind::Gaussian { init_log_std } => Some(Param::from_tensor(Tensor::full(
                [num_actions],
                *init_log_std,
                device,
            ))),
        };
        Self {
            linear: LinearConfig::new(d_input, num_actions).init(device),
            log_std,
        }
    }

    /// Logits (categorical) or means (Gaussian), `[batch, num_actions]`, from activated trunk
    /// features.
    pub fn forward(&self, features: Tensor<2>) -> Tensor<2> {
        linear(&self.linear, features, LinearActivation::Identity)
    }

    /// The distribution that `actions` (this head's output) parameterise.
    pub fn distribution(&self, actions: Tensor<2>) -> ActionDistribution {
        match &self.log_std {
            None => ActionDistribution::Categorical(Categorical::new(actions)),
            Some(log_std) => {
                ActionDistribution::Gaussian(DiagGaussian::new(actions, log_std.val()))
            }
        }
    }
}
