//! The student policy: proprioception and noisy heights in, actions out, with a recurrent belief
//! state that estimates what the teacher saw (Miki et al. 2022, "belief state encoder").
//!
//! ```text
//! extero [B, legs, 52] --(per-leg encoder)--> l_e [B, 96]
//! [proprio, l_e] --(stacked GRU cells)--> b' [B, 50]          (hidden state [B, layers, 50])
//! alpha = sigmoid(gate(b'))                                    [B, 96]
//! belief = state(b') + pad(alpha * l_e)                        [B, 120]
//! [proprio, belief] --(trunk)--> action head
//! decoder: privileged_hat = dec_p(b'); heights_hat = dec_e(b') + sigmoid(gate_e(b')) * extero
//! ```

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

use crate::action_head::{ActionHead, ActionKind};
use crate::activation::sigmoid;
use crate::distribution::ActionDistribution;
use crate::error::Error;
use crate::gru::{GruStack, GruStackConfig};
use crate::mlp::{Mlp, MlpConfig};
use crate::shape::BatchShapes;
use crate::teacher::{check_hidden, check_positive, encode_legs, layer_dims, trunk_dims};

/// Where the gated extero latent (legs x latent = 96 dims) is added into the belief state
/// (120 dims), the rest being zero padding.
#[derive(Config, Debug, PartialEq, Copy)]
pub enum BeliefLayout {
    /// On the first dims, matching the teacher's `[extero latent, privileged latent]` layout.
    TeacherAligned,
    /// On the last dims (zero padding on the left), as the PyTorch package does; use it for
    /// weights imported from the package.
    Package,
}

/// Configuration of a [`Student`]; names and defaults are the PyTorch package's.
#[derive(Config, Debug)]
pub struct StudentConfig {
    /// Number of actions.
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
    /// Hidden widths of the belief state encoder g_b.
    #[config(default = "vec![64, 64]")]
    pub belief_state_encoder_hiddens: Vec<usize>,
    /// Hidden widths of the extero gate encoders (g_a and the decoder's gate).
    #[config(default = "vec![64, 64]")]
    pub extero_gate_encoder_hiddens: Vec<usize>,
    /// Width of the belief state (the teacher's latent: legs x latent extero + latent privileged).
    #[config(default = 120)]
    pub belief_state_dim: usize,
    /// Number of stacked GRU cells.
    #[config(default = 2)]
    pub gru_num_layers: usize,
    /// Width of each GRU hidden state.
    #[config(default = 50)]
    pub gru_hidden_size: usize,
    /// Widths of the trunk MLP.
    #[config(default = "vec![256, 160, 128]")]
    pub mlp_hidden: Vec<usize>,
    /// Number of legs.
    #[config(default = 4)]
    pub num_legs: usize,
    /// Width of the privileged observation (reconstructed by the decoder).
    #[config(default = 50)]
    pub privileged_dim: usize,
    /// Hidden widths of the privileged decoder.
    #[config(default = "vec![64, 64]")]
    pub privileged_decoder_hiddens: Vec<usize>,
    /// Hidden widths of the height decoder.
    #[config(default = "vec![64, 64]")]
    pub extero_decoder_hiddens: Vec<usize>,
    /// Where the gated extero latent goes in the belief state.
    #[config(default = "BeliefLayout::TeacherAligned")]
    pub belief_layout: BeliefLayout,
    /// Distribution of the actions.
    #[config(default = "ActionKind::Categorical")]
    pub action_kind: ActionKind,
}

/// The recurrent belief state encoder: GRU cells, the extero gate g_a and the state MLP g_b.
#[derive(Module, Debug)]
pub struct BeliefEncoder {
    /// Stacked GRU cells over `[proprio, extero latent]`.
    pub gru: GruStack,
    /// g_a: GRU output to the extero latent's attention gate (before the sigmoid).
    pub gate: Mlp,
    /// g_b: GRU output to the belief state.
    pub state: Mlp,
}

/// The belief decoder: reconstructs the privileged state and the noiseless heights.
#[derive(Module, Debug)]
pub struct BeliefDecoder {
    /// GRU output to the privileged state.
    pub privileged: Mlp,
    /// GRU output to the heights (before the gated noisy heights are added).
    pub extero: Mlp,
    /// GRU output to the gate on the noisy heights (before the sigmoid).
    pub extero_gate: Mlp,
}

/// The student network. See the [module documentation](self).
#[derive(Module, Debug)]
pub struct Student {
    /// Per-leg height encoder (initialised from the teacher's).
    pub extero_encoder: Mlp,
    /// Recurrent belief state encoder.
    pub belief_encoder: BeliefEncoder,
    /// Belief decoder, for training and introspection.
    pub belief_decoder: BeliefDecoder,
    /// Trunk over `[proprio, belief]` (initialised from the teacher's).
    pub trunk: Mlp,
    /// Policy output (initialised from the teacher's).
    pub action_head: ActionHead,
    #[module(skip)]
    config: StudentConfig,
}

/// What a student forward returns.
#[derive(Debug, Clone)]
pub struct StudentOutput {
    /// Logits (categorical) or means (Gaussian), `[batch, num_actions]`.
    pub action: Tensor<2>,
    /// Next hidden states, `[batch, layers, hidden]`.
    pub hiddens: Tensor<3>,
    /// The attention gate alpha on the extero latent, `[batch, legs * latent]`, in (0, 1).
    pub extero_gate: Tensor<2>,
    /// The belief decoder's output, when asked for.
    pub reconstruction: Option<Reconstruction>,
}

/// The belief decoder's estimates.
#[derive(Debug, Clone)]
pub struct Reconstruction {
    /// Estimated privileged state, `[batch, privileged_dim]`.
    pub privileged: Tensor<2>,
    /// Estimated noiseless heights, `[batch, legs, extero_dim]`.
    pub extero: Tensor<3>,
}

impl StudentConfig {
    /// Width of the gated extero latent: legs x latent extero.
    pub fn latent_extero_total(&self) -> usize {
        self.num_legs * self.latent_extero_dim
    }

    /// Checks widths, and that the belief state is wider than the gated extero latent.
    pub fn validate(&self) -> crate::Result<()> {
        check_positive(&[
            ("num_actions", self.num_actions),
            ("proprio_dim", self.proprio_dim),
            ("extero_dim", self.extero_dim),
            ("latent_extero_dim", self.latent_extero_dim),
            ("gru_num_layers", self.gru_num_layers),
            ("gru_hidden_size", self.gru_hidden_size),
            ("num_legs", self.num_legs),
            ("privileged_dim", self.privileged_dim),
        ])?;
        check_hidden("mlp_hidden", &self.mlp_hidden, 1)?;
        for (name, widths) in [
            ("extero_encoder_hidden", &self.extero_encoder_hidden),
            (
                "belief_state_encoder_hiddens",
                &self.belief_state_encoder_hiddens,
            ),
            (
                "extero_gate_encoder_hiddens",
                &self.extero_gate_encoder_hiddens,
            ),
            (
                "privileged_decoder_hiddens",
                &self.privileged_decoder_hiddens,
            ),
            ("extero_decoder_hiddens", &self.extero_decoder_hiddens),
        ] {
            check_hidden(name, widths, 0)?;
        }
        if self.belief_state_dim <= self.latent_extero_total() {
            return Err(Error::Config(format!(
                "belief_state_dim ({}) must exceed num_legs x latent_extero_dim ({})",
                self.belief_state_dim,
                self.latent_extero_total()
            )));
        }
        Ok(())
    }

    /// Builds the student on `device`, or says which value is invalid.
    pub fn init(&self, device: &Device) -> crate::Result<Student> {
        self.validate()?;
        let hidden = self.gru_hidden_size;
        let mlp = |hiddens: &[usize], output| {
            MlpConfig::new(layer_dims(hidden, hiddens, output)).init(device)
        };
        let features = *self.mlp_hidden.last().expect("validated");
        Ok(Student {
            extero_encoder: MlpConfig::new(layer_dims(
                self.extero_dim,
                &self.extero_encoder_hidden,
                self.latent_extero_dim,
            ))
            .init(device),
            belief_encoder: BeliefEncoder {
                gru: GruStackConfig::new(
                    self.proprio_dim + self.latent_extero_total(),
                    hidden,
                    self.gru_num_layers,
                )
                .init(device),
                gate: mlp(
                    &self.extero_gate_encoder_hiddens,
                    self.latent_extero_total(),
                ),
                state: mlp(&self.belief_state_encoder_hiddens, self.belief_state_dim),
            },
            belief_decoder: BeliefDecoder {
                privileged: mlp(&self.privileged_decoder_hiddens, self.privileged_dim),
                extero: mlp(
                    &self.extero_decoder_hiddens,
                    self.num_legs * self.extero_dim,
                ),
                extero_gate: mlp(
                    &self.extero_gate_encoder_hiddens,
                    self.num_legs * self.extero_dim,
                ),
            },
            trunk: MlpConfig::new(trunk_dims(
                self.proprio_dim + self.belief_state_dim,
                &self.mlp_hidden,
            ))
            .with_final_activation(true)
            .init(device),
            action_head: ActionHead::new(features, self.num_actions, &self.action_kind, device),
            config: self.clone(),
        })
    }
}

/// How the student's two gates on the heights open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Gates {
    /// As learned: `sigmoid` of the gate networks' outputs.
    #[default]
    Learned,
    /// Held open (1): the heights, however noisy, always pass in full.
    HeldOpen,
}

impl Gates {
    /// The gate values for the gate network's `logits`.
    fn apply(self, logits: Tensor<2>) -> Tensor<2> {
        match self {
            Gates::Learned => sigmoid(logits),
            Gates::HeldOpen => logits.ones_like(),
        }
    }
}

impl Student {
    /// One time step from `proprio` `[B, proprio_dim]`, (noisy) `extero` `[B, legs, extero_dim]`
    /// and the previous `hiddens` `[B, layers, hidden]` (zeros when `None`). With
    /// `reconstruct`, the belief decoder's estimates are returned too.
    pub fn forward(
        &self,
        proprio: Tensor<2>,
        extero: Tensor<3>,
        hiddens: Option<Tensor<3>>,
        reconstruct: bool,
    ) -> crate::Result<StudentOutput> {
        self.forward_gated(proprio, extero, hiddens, reconstruct, Gates::Learned)
    }

    /// [`Student::forward`] with the attention gate and the decoder's gate as `gates` says
    /// (held open: the paper's ablation without attention, the noisy heights always let in).
    pub fn forward_gated(
        &self,
        proprio: Tensor<2>,
        extero: Tensor<3>,
        hiddens: Option<Tensor<3>>,
        reconstruct: bool,
        gates: Gates,
    ) -> crate::Result<StudentOutput> {
        let c = &self.config;
        let mut shapes = BatchShapes::on(self.trunk.device());
        let batch = shapes.check("proprio", &proprio, &[c.proprio_dim])?;
        shapes.check("extero", &extero, &[c.num_legs, c.extero_dim])?;
        if let Some(hiddens) = &hiddens {
            shapes.check("hiddens", hiddens, &[c.gru_num_layers, c.gru_hidden_size])?;
        }

        let latent_extero = encode_legs(&self.extero_encoder, extero.clone(), batch);
        let (gru_output, hiddens) = self
            .belief_encoder
            .gru
            .forward_blocks(vec![proprio.clone(), latent_extero.clone()], hiddens);
        let extero_gate = gates.apply(self.belief_encoder.gate.forward(gru_output.clone()));
        let belief = self.add_gated_extero(
            self.belief_encoder.state.forward(gru_output.clone()),
            extero_gate.clone() * latent_extero,
        );
        let features = self.trunk.forward_blocks(vec![proprio, belief]);
        let reconstruction = reconstruct.then(|| self.decode(gru_output, extero, gates));
        Ok(StudentOutput {
            action: self.action_head.forward(features),
            hiddens,
            extero_gate,
            reconstruction,
        })
    }

    /// Adds the gated extero latent into the belief state on the side the layout says.
    fn add_gated_extero(&self, belief: Tensor<2>, gated: Tensor<2>) -> Tensor<2> {
        let gated_dim = self.config.latent_extero_total();
        let padding = self.config.belief_state_dim - gated_dim;
        match self.config.belief_layout {
            BeliefLayout::TeacherAligned => Tensor::cat(
                vec![
                    belief.clone().narrow(1, 0, gated_dim) + gated,
                    belief.narrow(1, gated_dim, padding),
                ],
                1,
            ),
            BeliefLayout::Package => Tensor::cat(
                vec![
                    belief.clone().narrow(1, 0, padding),
                    belief.narrow(1, padding, gated_dim) + gated,
                ],
                1,
            ),
        }
    }

    fn decode(&self, gru_output: Tensor<2>, extero: Tensor<3>, gates: Gates) -> Reconstruction {
        let [batch, legs, dim] = extero.dims();
        let decoder = &self.belief_decoder;
        let gate = gates.apply(decoder.extero_gate.forward(gru_output.clone()));
        let heights =
            decoder.extero.forward(gru_output.clone()) + gate * extero.reshape([batch, legs * dim]);
        Reconstruction {
            privileged: decoder.privileged.forward(gru_output),
            extero: heights.reshape([batch, legs, dim]),
        }
    }

    /// The action distribution of a forward's `action` output.
    pub fn distribution(&self, action: Tensor<2>) -> ActionDistribution {
        self.action_head.distribution(action)
    }

    /// Zero hidden states `[batch, layers, hidden]` on `device`.
    pub fn initial_hiddens(&self, batch: usize, device: &Device) -> Tensor<3> {
        self.belief_encoder.gru.zeros(batch, device)
    }

    /// The configuration this student was built from.
    pub fn config(&self) -> &StudentConfig {
        &self.config
    }
}
