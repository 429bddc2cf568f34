//! The teacher policy: trained by PPO with privileged information and noiseless heights.
//!
//! ```text
//! extero [B, legs, 52] --(per-leg encoder, shared weights)--> [B, legs*24] --+
//! privileged [B, 50] --(privileged encoder)--> [B, 24] -----------------------+--> trunk --> action head
//! proprio [B, 133] -----------------------------------------------------------+         \-> value head
//! ```
//! The trunk input is `[proprio, extero latent, privileged latent]`, as in the PyTorch package.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use crate::action_head::{ActionHead, ActionKind};
use crate::distribution::ActionDistribution;
use crate::error::Error;
use crate::fused::{LinearActivation, linear};
use crate::mlp::{Mlp, MlpConfig};
use crate::shape::BatchShapes;

/// Configuration of a [`Teacher`]; names and defaults are the PyTorch package's.
#[derive(Config, Debug)]
pub struct TeacherConfig {
    /// Number of actions (logits of a categorical policy or dimensions of a Gaussian one).
    pub num_actions: usize,
    /// Width of the proprioceptive observation.
    #[config(default = 133)]
    pub proprio_dim: usize,
    /// Height samples per leg.
    #[config(default = 52)]
    pub extero_dim: usize,
    /// Latent width of one leg's heights.
    #[config(default = 24)]
    pub latent_extero_dim: usize,
    /// Hidden widths of the per-leg height encoder.
    #[config(default = "vec![80, 60]")]
    pub extero_encoder_hidden: Vec<usize>,
    /// Width of the privileged observation.
    #[config(default = 50)]
    pub privileged_dim: usize,
    /// Latent width of the privileged observation.
    #[config(default = 24)]
    pub latent_privileged_dim: usize,
    /// Hidden widths of the privileged encoder.
    #[config(default = "vec![64, 32]")]
    pub privileged_encoder_hidden: Vec<usize>,
    /// Widths of the trunk MLP.
    #[config(default = "vec![256, 160, 128]")]
    pub mlp_hidden: Vec<usize>,
    /// Number of legs.
    #[config(default = 4)]
    pub num_legs: usize,
    /// Distribution of the actions.
    #[config(default = "ActionKind::Categorical")]
    pub action_kind: ActionKind,
    /// Hidden widths of a separate value network on the trunk's input. Empty (the package's
    /// design): the value head sits on the policy's trunk.
    #[config(default = "Vec::new()")]
    pub critic_hidden: Vec<usize>,
}

/// The teacher network. See the [module documentation](self).
#[derive(Module, Debug)]
pub struct Teacher {
    /// Per-leg height encoder, applied to every leg with the same weights.
    pub extero_encoder: Mlp,
    /// Encoder of the privileged observation.
    pub privileged_encoder: Mlp,
    /// Shared trunk of the policy and value heads (its output is activated: the package's
    /// heads each start with a LeakyReLU).
    pub trunk: Mlp,
    /// Policy output.
    pub action_head: ActionHead,
    /// The separate value network, when `critic_hidden` is not empty.
    pub critic: Option<Mlp>,
    /// State-value output (on the critic's features, or the trunk's).
    pub value_head: Linear,
    #[module(skip)]
    config: TeacherConfig,
}

/// What a teacher forward returns.
#[derive(Debug, Clone)]
pub struct TeacherOutput {
    /// Logits (categorical) or means (Gaussian), `[batch, num_actions]`.
    pub action: Tensor<2>,
    /// State values, `[batch]`.
    pub value: Tensor<1>,
}

impl TeacherConfig {
    /// Checks that every width is positive and the lists are not empty.
    pub fn validate(&self) -> crate::Result<()> {
        let widths = [
            ("num_actions", self.num_actions),
            ("proprio_dim", self.proprio_dim),
            ("extero_dim", self.extero_dim),
            ("latent_extero_dim", self.latent_extero_dim),
            ("privileged_dim", self.privileged_dim),
            ("latent_privileged_dim", self.latent_privileged_dim),
            ("num_legs", self.num_legs),
        ];
        check_positive(&widths)?;
        check_hidden("mlp_hidden", &self.mlp_hidden, 1)?;
        check_hidden("critic_hidden", &self.critic_hidden, 0)?;
        check_hidden("extero_encoder_hidden", &self.extero_encoder_hidden, 0)?;
        check_hidden(
            "privileged_encoder_hidden",
            &self.privileged_encoder_hidden,
            0,
        )
    }

    /// Width of the trunk's input: proprio + legs x extero latent + privileged latent.
    pub fn trunk_input_dim(&self) -> usize {
        self.proprio_dim + self.num_legs * self.latent_extero_dim + self.latent_privileged_dim
    }

    /// Builds the teacher on `device`, or says which value is invalid.
    pub fn init(&self, device: &Device) -> crate::Result<Teacher> {
        self.validate()?;
        let features = *self.mlp_hidden.last().expect("validated");
        let value_features = *self.critic_hidden.last().unwrap_or(&features);
        let critic = (!self.critic_hidden.is_empty()).then(|| {
            MlpConfig::new(trunk_dims(self.trunk_input_dim(), &self.critic_hidden))
                .with_final_activation(true)
                .init(device)
        });
        Ok(Teacher {
            extero_encoder: MlpConfig::new(layer_dims(
                self.extero_dim,
                &self.extero_encoder_hidden,
                self.latent_extero_dim,
            ))
            .init(device),
            privileged_encoder: MlpConfig::new(layer_dims(
                self.privileged_dim,
                &self.privileged_encoder_hidden,
                self.latent_privileged_dim,
            ))
            .init(device),
            trunk: MlpConfig::new(trunk_dims(self.trunk_input_dim(), &self.mlp_hidden))
                .with_final_activation(true)
                .init(device),
            action_head: ActionHead::new(features, self.num_actions, &self.action_kind, device),
            critic,
            value_head: LinearConfig::new(value_features, 1).init(device),
            config: self.clone(),
        })
    }
}

impl Teacher {
    /// Actions and values from `proprio` `[B, proprio_dim]`, `extero` `[B, legs, extero_dim]`
    /// and `privileged` `[B, privileged_dim]`. Wrong shapes give an error naming the input.
    pub fn forward(
        &self,
        proprio: Tensor<2>,
        extero: Tensor<3>,
        privileged: Tensor<2>,
    ) -> crate::Result<TeacherOutput> {
        let c = &self.config;
        let mut shapes = BatchShapes::on(self.trunk.device());
        let batch = shapes.check("proprio", &proprio, &[c.proprio_dim])?;
        shapes.check("extero", &extero, &[c.num_legs, c.extero_dim])?;
        shapes.check("privileged", &privileged, &[c.privileged_dim])?;

        let latent_extero = encode_legs(&self.extero_encoder, extero, batch);
        let latent_privileged = self.privileged_encoder.forward(privileged);
        let inputs = vec![proprio, latent_extero, latent_privileged];
        let features = self.trunk.forward_blocks(inputs.clone());
        let value_features = match &self.critic {
            Some(critic) => critic.forward_blocks(inputs),
            None => features.clone(),
        };
        let value =
            linear(&self.value_head, value_features, LinearActivation::Identity).reshape([batch]);
        Ok(TeacherOutput {
            action: self.action_head.forward(features),
            value,
        })
    }

    /// The action distribution of a forward's `action` output.
    pub fn distribution(&self, action: Tensor<2>) -> ActionDistribution {
        self.action_head.distribution(action)
    }

    /// The configuration this teacher was built from.
    pub fn config(&self) -> &TeacherConfig {
        &self.config
    }
}

/// Encodes `[B, legs, d]` heights leg by leg with shared weights, as one batched matmul,
/// and flattens the result to `[B, legs * latent]`.
pub(crate) fn encode_legs(encoder: &Mlp, extero: Tensor<3>, batch: usize) -> Tensor<2> {
    let [_, legs, dim] = extero.dims();
    let latent = encoder.forward(extero.reshape([batch * legs, dim]));
    latent.reshape([batch, legs * encoder.output_dim()])
}

/// `[input, hidden..., output]`.
pub(crate) fn layer_dims(input: usize, hidden: &[usize], output: usize) -> Vec<usize> {
    std::iter::once(input)
        .chain(hidden.iter().copied())
        .chain(std::iter::once(output))
        .collect()
}

/// `[input, hidden...]`: the trunk ends at its last hidden width, activated (the heads follow).
pub(crate) fn trunk_dims(input: usize, hidden: &[usize]) -> Vec<usize> {
    std::iter::once(input)
        .chain(hidden.iter().copied())
        .collect()
}

pub(crate) fn check_positive(widths: &[(&str, usize)]) -> crate::Result<()> {
    match widths.iter().find(|(_, width)| *width == 0) {
        Some((name, _)) => Err(Error::Config(format!("{name} must be positive, got 0"))),
        None => Ok(()),
    }
}

pub(crate) fn check_hidden(name: &str, widths: &[usize], min_len: usize) -> crate::Result<()> {
    if widths.len() < min_len || widths.contains(&0) {
        return Err(Error::Config(format!(
            "{name} must hold at least {min_len} positive widths, got {widths:?}"
        )));
    }
    Ok(())
}
