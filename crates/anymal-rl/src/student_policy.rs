//! The student as it is deployed: proprioception and noisy heights in, its hidden state carried
//! from step to step, the mode of its action distribution out. It acts without the privileged
//! state or the noiseless heights; it reads them only to measure its reconstructions, and only
//! when asked to ([`StudentPolicy::measuring`]).

use anymal_core::{Anymal, Gates};
use anymal_envs::legged::evaluation::Actor;
use anymal_envs::{BoxSpace, StructuredObs};
use burn::tensor::{Device, Tensor, TensorData};

use crate::error::{Result, RlError};
use crate::policy::{clip_to_space, to_host};

/// Running means of how well the student reconstructs what it cannot see, in the normalised
/// units it is trained in.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReconstructionErrors {
    /// Steps measured.
    pub steps: usize,
    /// Sum over the steps of the heights' mean squared error against the noiseless heights.
    pub extero_sum: f64,
    /// Sum over the steps of the privileged state's mean squared error.
    pub privileged_sum: f64,
}

impl ReconstructionErrors {
    /// Mean squared error of the reconstructed heights.
    pub fn extero_mse(&self) -> f64 {
        self.extero_sum / self.steps.max(1) as f64
    }

    /// Mean squared error of the reconstructed privileged state.
    pub fn privileged_mse(&self) -> f64 {
        self.privileged_sum / self.steps.max(1) as f64
    }
}

/// A trained [`Anymal`]'s student acting alone, one environment at a time.
pub struct StudentPolicy {
    model: Anymal,
    device: Device,
    action_space: BoxSpace,
    hiddens: Option<Tensor<3>>,
    gates: Gates,
    memoryless: bool,
    measure: bool,
    errors: ReconstructionErrors,
    reconstruction: Vec<f32>,
    gate: f64,
}

impl StudentPolicy {
    /// The student of `model` on `device`, its actions clipped to `action_space`; the hidden
    /// state starts at zero.
    pub fn new(model: Anymal, action_space: BoxSpace, device: Device) -> Self {
        Self {
            model,
            device,
            action_space,
            hiddens: None,
            gates: Gates::Learned,
            memoryless: false,
            measure: false,
            errors: ReconstructionErrors::default(),
            reconstruction: Vec::new(),
            gate: 0.0,
        }
    }

    /// With the gates as `gates` says (held open: the ablation without attention).
    pub fn with_gates(mut self, gates: Gates) -> Self {
        self.gates = gates;
        self
    }

    /// Without memory: the hidden state is zeroed before every step (a non-recurrent student).
    pub fn memoryless(mut self, memoryless: bool) -> Self {
        self.memoryless = memoryless;
        self
    }

    /// Measures the belief decoder's reconstructions against the observation's noiseless
    /// heights and privileged state at every step ([`StudentPolicy::errors`]); the actions do
    /// not change.
    pub fn measuring(mut self, measure: bool) -> Self {
        self.measure = measure;
        self
    }

    /// The actions for `obs`: from `obs.proprio` and `obs.noisy_extero` (or `obs.extero` when
    /// the environment makes no noisy copy), and the hidden state, which this step updates.
    pub fn act(&mut self, obs: &StructuredObs) -> Result<Vec<f64>> {
        let c = self.model.config();
        let heights = if obs.noisy_extero.is_empty() {
            &obs.extero
        } else {
            &obs.noisy_extero
        };
        let (proprio_dim, extero_dim) = (c.proprio_dim, c.num_legs * c.extero_dim);
        if obs.proprio.len() != proprio_dim || heights.len() != extero_dim {
            return Err(RlError::Input(format!(
                "student: expected {proprio_dim} proprioceptive values and {extero_dim} heights, \
                 got {} and {}",
                obs.proprio.len(),
                heights.len()
            )));
        }
        let legs = [1, c.num_legs, c.extero_dim];
        let proprio = self.tensor(&obs.proprio, [1, proprio_dim]);
        let extero: Tensor<3> = self.tensor(heights, legs);
        let hiddens = if self.memoryless {
            None
        } else {
            self.hiddens.take()
        };
        let out =
            self.model
                .student_step_gated(proprio, extero, hiddens, self.measure, self.gates)?;
        if let Some(reconstruction) = out.reconstruction {
            let normalizer = &self.model.normalizer;
            let truth = normalizer.normalize_extero(self.tensor(&obs.extero, legs));
            let privileged = normalizer
                .privileged
                .normalize(self.tensor(&obs.privileged, [1, c.privileged_dim]));
            let mse = |error: Vec<f32>| {
                error.iter().map(|&e| (e as f64).powi(2)).sum::<f64>() / error.len().max(1) as f64
            };
            self.errors.steps += 1;
            let heights = reconstruction.extero.reshape([1, extero_dim]);
            self.errors.extero_sum +=
                mse(to_host(heights.clone() - truth.reshape([1, extero_dim])));
            self.errors.privileged_sum += mse(to_host(reconstruction.privileged - privileged));
            self.reconstruction = to_host(normalizer.extero.denormalize(heights));
            self.gate = to_host(out.extero_gate.mean())[0] as f64;
        }
        let action = to_host(self.model.student.distribution(out.action).mode());
        self.hiddens = Some(out.hiddens);
        Ok(clip_to_space(&self.action_space, &action))
    }

    fn tensor<const D: usize>(&self, values: &[f32], dims: [usize; D]) -> Tensor<D> {
        Tensor::from_data(TensorData::new(values.to_vec(), dims), &self.device)
    }

    /// Forgets the hidden state (a new episode).
    pub fn reset(&mut self) {
        self.hiddens = None;
    }

    /// The mean opening of the attention gate on the heights at the last step, in (0, 1) (with
    /// [`StudentPolicy::measuring`], else 0: deployment reads back only the action).
    pub fn last_gate(&self) -> f64 {
        self.gate
    }

    /// The heights the belief decoder reconstructed at the last step (m, leg after leg; with
    /// [`StudentPolicy::measuring`], else empty).
    pub fn last_reconstruction(&self) -> &[f32] {
        &self.reconstruction
    }

    /// The reconstruction errors measured so far (with [`StudentPolicy::measuring`]).
    pub fn errors(&self) -> ReconstructionErrors {
        self.errors
    }

    /// The model.
    pub fn model(&self) -> &Anymal {
        &self.model
    }
}

impl Actor for StudentPolicy {
    fn act(&mut self, obs: &StructuredObs) -> anymal_envs::Result<Vec<f64>> {
        StudentPolicy::act(self, obs)
            .map_err(|e| anymal_envs::EnvError::Parameter(format!("student: {e}")))
    }

    fn start_episode(&mut self) {
        self.reset();
    }
}
