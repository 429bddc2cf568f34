//! [`Anymal`]: the teacher and the student together, with the observation statistics, the
//! student's initialisation from the teacher, and the distillation loss.

use burn::config::Config;
use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Device, Distribution, Tensor};

use crate::action_head::ActionKind;

use crate::normalization::ObservationNormalizer;
use crate::shape::BatchShapes;
use crate::student::{BeliefLayout, Gates, Student, StudentConfig, StudentOutput};
use crate::teacher::{Teacher, TeacherConfig, TeacherOutput};

/// Configuration of [`Anymal`]; names and defaults are the PyTorch package's.
#[derive(Config, Debug)]
pub struct AnymalConfig {
    /// Number of actions.
    pub num_actions: usize,
    /// Width of the proprioceptive observation.
    #[config(default = 133)]
    pub proprio_dim: usize,
    /// Height samples per leg.
    #[config(default = 52)]
    pub extero_dim: usize,
    /// Width of the privileged observation.
    #[config(default = 50)]
    pub privileged_dim: usize,
    /// Number of legs.
    #[config(default = 4)]
    pub num_legs: usize,
    /// Latent width of one leg's heights (teacher and student).
    #[config(default = 24)]
    pub latent_extero_dim: usize,
    /// Latent width of the privileged observation.
    #[config(default = 24)]
    pub latent_privileged_dim: usize,
    /// Hidden widths of the teacher's height encoder.
    #[config(default = "vec![80, 60]")]
    pub teacher_extero_encoder_hidden: Vec<usize>,
    /// Hidden widths of the student's height encoder (the package's
    /// `student_extero_encoder_hidden`, added in its 0.0.22 with this default).
    #[config(default = "vec![80, 60]")]
    pub student_extero_encoder_hidden: Vec<usize>,
    /// Hidden widths of the teacher's privileged encoder.
    #[config(default = "vec![64, 32]")]
    pub teacher_privileged_encoder_hidden: Vec<usize>,
    /// Hidden widths of the student's extero gate encoders.
    #[config(default = "vec![64, 64]")]
    pub student_extero_gate_encoder_hiddens: Vec<usize>,
    /// Hidden widths of the student's belief state encoder.
    #[config(default = "vec![64, 64]")]
    pub student_belief_state_encoder_hiddens: Vec<usize>,
    /// Width of the student's belief state.
    #[config(default = 120)]
    pub student_belief_state_dim: usize,
    /// Number of the student's GRU cells.
    #[config(default = 2)]
    pub student_gru_num_layers: usize,
    /// Width of the student's GRU hidden states.
    #[config(default = 50)]
    pub student_gru_hidden_size: usize,
    /// Hidden widths of the student's privileged decoder.
    #[config(default = "vec![64, 64]")]
    pub student_privileged_decoder_hiddens: Vec<usize>,
    /// Hidden widths of the student's height decoder.
    #[config(default = "vec![64, 64]")]
    pub student_extero_decoder_hiddens: Vec<usize>,
    /// Widths of both trunks.
    #[config(default = "vec![256, 160, 128]")]
    pub mlp_hidden: Vec<usize>,
    /// Hidden widths of the teacher's separate value network; empty (the package's design):
    /// the value head shares the policy's trunk.
    #[config(default = "Vec::new()")]
    pub teacher_critic_hidden: Vec<usize>,
    /// Weight of the reconstruction loss in the distillation loss.
    #[config(default = 0.5)]
    pub recon_loss_weight: f64,
    /// Where the student adds the gated extero latent in its belief state.
    #[config(default = "BeliefLayout::TeacherAligned")]
    pub belief_layout: BeliefLayout,
    /// Distribution of the actions (both policies).
    #[config(default = "ActionKind::Categorical")]
    pub action_kind: ActionKind,
}

impl AnymalConfig {
    /// The teacher's part of this configuration.
    pub fn teacher(&self) -> TeacherConfig {
        TeacherConfig::new(self.num_actions)
            .with_proprio_dim(self.proprio_dim)
            .with_extero_dim(self.extero_dim)
            .with_latent_extero_dim(self.latent_extero_dim)
            .with_extero_encoder_hidden(self.teacher_extero_encoder_hidden.clone())
            .with_privileged_dim(self.privileged_dim)
            .with_latent_privileged_dim(self.latent_privileged_dim)
            .with_privileged_encoder_hidden(self.teacher_privileged_encoder_hidden.clone())
            .with_mlp_hidden(self.mlp_hidden.clone())
            .with_num_legs(self.num_legs)
            .with_action_kind(self.action_kind.clone())
            .with_critic_hidden(self.teacher_critic_hidden.clone())
    }

    /// The student's part of this configuration.
    pub fn student(&self) -> StudentConfig {
        StudentConfig::new(self.num_actions)
            .with_proprio_dim(self.proprio_dim)
            .with_extero_dim(self.extero_dim)
            .with_latent_extero_dim(self.latent_extero_dim)
            .with_extero_encoder_hidden(self.student_extero_encoder_hidden.clone())
            .with_belief_state_encoder_hiddens(self.student_belief_state_encoder_hiddens.clone())
            .with_extero_gate_encoder_hiddens(self.student_extero_gate_encoder_hiddens.clone())
            .with_belief_state_dim(self.student_belief_state_dim)
            .with_gru_num_layers(self.student_gru_num_layers)
            .with_gru_hidden_size(self.student_gru_hidden_size)
            .with_mlp_hidden(self.mlp_hidden.clone())
            .with_num_legs(self.num_legs)
            .with_privileged_dim(self.privileged_dim)
            .with_privileged_decoder_hiddens(self.student_privileged_decoder_hiddens.clone())
            .with_extero_decoder_hiddens(self.student_extero_decoder_hiddens.clone())
            .with_belief_layout(self.belief_layout)
            .with_action_kind(self.action_kind.clone())
    }

    /// Builds teacher, student and empty observation statistics on `device`.
    pub fn init(&self, device: &Device) -> crate::Result<Anymal> {
        Ok(Anymal {
            teacher: self.teacher().init(device)?,
            student: self.student().init(device)?,
            normalizer: ObservationNormalizer::new(
                self.proprio_dim,
                self.extero_dim,
                self.num_legs,
                self.privileged_dim,
                device,
            ),
            config: self.clone(),
        })
    }
}

/// Teacher, student and observation statistics.
#[derive(Module, Debug)]
pub struct Anymal {
    /// The privileged teacher.
    pub teacher: Teacher,
    /// The deployable student.
    pub student: Student,
    /// Running statistics of the observations, used by the trainers to normalise them.
    pub normalizer: ObservationNormalizer,
    #[module(skip)]
    config: AnymalConfig,
}

/// How the student's heights differ from the noiseless ones the teacher sees.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // passed once per loss, never stored in bulk
pub enum ExteroNoise {
    /// The student sees the noiseless heights.
    None,
    /// The PyTorch package's noise: `extero + U[0, 1) * strength` (device RNG).
    Uniform {
        /// Scale of the uniform noise.
        strength: f64,
    },
    /// The student sees these heights, `[batch, legs, extero_dim]` (for example from the
    /// paper's noise model in an environment).
    Observed(Tensor<3>),
}

/// What the student learns towards at one time step.
#[derive(Debug, Clone)]
pub struct DistillationTargets {
    /// The teacher's action output for the same state, `[batch, num_actions]` (a label: no
    /// gradient flows into it).
    pub teacher_action: Tensor<2>,
    /// The true privileged state, `[batch, privileged_dim]`.
    pub privileged: Tensor<2>,
    /// The noiseless heights, `[batch, legs, extero_dim]`.
    pub extero: Tensor<3>,
}

/// The distillation loss and its parts.
#[derive(Debug, Clone)]
pub struct Distillation {
    /// `behaviour + recon_loss_weight * (reconstruction_privileged + reconstruction_extero)`.
    pub loss: Tensor<1>,
    /// MSE between the teacher's and the student's action outputs.
    pub behaviour: Tensor<1>,
    /// MSE between the reconstructed and the true privileged state.
    pub reconstruction_privileged: Tensor<1>,
    /// MSE between the reconstructed and the noiseless heights.
    pub reconstruction_extero: Tensor<1>,
    /// The student's forward (its `hiddens` carry on to the next step).
    pub student: StudentOutput,
}

impl Anymal {
    /// Copies the teacher's height encoder, trunk and action head (log-std included) into the
    /// student, as fresh parameters, so the student starts acting like the teacher. A student
    /// whose height encoder has other widths than the teacher's
    /// (`student_extero_encoder_hidden` != `teacher_extero_encoder_hidden`) keeps its own.
    pub fn init_student_with_teacher(mut self) -> Self {
        let c = &self.config;
        if c.student_extero_encoder_hidden == c.teacher_extero_encoder_hidden {
            self.student.extero_encoder = self.teacher.extero_encoder.clone().map(&mut FreshParams);
        }
        self.student.trunk = self.teacher.trunk.clone().map(&mut FreshParams);
        self.student.action_head = self.teacher.action_head.clone().map(&mut FreshParams);
        self
    }

    /// The teacher's forward.
    pub fn forward_teacher(
        &self,
        proprio: Tensor<2>,
        extero: Tensor<3>,
        privileged: Tensor<2>,
    ) -> crate::Result<TeacherOutput> {
        self.teacher.forward(proprio, extero, privileged)
    }

    /// The student's forward, with the belief decoder's estimates when `reconstruct`.
    pub fn forward_student(
        &self,
        proprio: Tensor<2>,
        extero: Tensor<3>,
        hiddens: Option<Tensor<3>>,
        reconstruct: bool,
    ) -> crate::Result<StudentOutput> {
        self.student.forward(proprio, extero, hiddens, reconstruct)
    }

    /// The distillation loss of one time step (the PyTorch package's `Anymal.forward`).
    ///
    /// The teacher is frozen (run without autodiff) on the noiseless `extero`; the student runs
    /// on the heights that `noise` describes, from `hiddens`. The reconstruction targets are
    /// `privileged` and the noiseless `extero`.
    pub fn distillation_loss(
        &self,
        proprio: Tensor<2>,
        extero: Tensor<3>,
        privileged: Tensor<2>,
        hiddens: Option<Tensor<3>>,
        noise: ExteroNoise,
    ) -> crate::Result<Distillation> {
        // Inputs and weights both without autodiff, so the teacher's layers take the fused
        // plain path (an autodiff input beside plain weights falls back to Burn's operations).
        let teacher = self.teacher.valid().forward(
            proprio.clone().inner(),
            extero.clone().inner(),
            privileged.clone().inner(),
        )?;
        let student_extero = match noise {
            ExteroNoise::None => extero.clone(),
            ExteroNoise::Uniform { strength } => {
                let uniform = Tensor::random(
                    extero.shape(),
                    Distribution::Uniform(0.0, 1.0),
                    &extero.device(),
                );
                extero.clone() + uniform.mul_scalar(strength)
            }
            ExteroNoise::Observed(noisy) => noisy,
        };
        self.student_loss(
            proprio,
            student_extero,
            hiddens,
            DistillationTargets {
                teacher_action: teacher.action,
                privileged,
                extero,
            },
        )
    }

    /// The distillation loss of one student step against given targets: the student runs on
    /// `proprio` and `student_extero` (its noisy heights) from `hiddens`.
    pub fn student_loss(
        &self,
        proprio: Tensor<2>,
        student_extero: Tensor<3>,
        hiddens: Option<Tensor<3>>,
        targets: DistillationTargets,
    ) -> crate::Result<Distillation> {
        let student = self
            .student
            .forward(proprio, student_extero, hiddens, true)?;
        let reconstruction = student.reconstruction.clone().expect("asked for");
        let behaviour = mse(targets.teacher_action.detach(), student.action.clone());
        let reconstruction_privileged = mse(reconstruction.privileged, targets.privileged);
        let reconstruction_extero = mse(reconstruction.extero, targets.extero);
        let loss = behaviour.clone()
            + (reconstruction_privileged.clone() + reconstruction_extero.clone())
                .mul_scalar(self.config.recon_loss_weight);
        Ok(Distillation {
            loss,
            behaviour,
            reconstruction_privileged,
            reconstruction_extero,
            student,
        })
    }

    /// The configuration this model was built from.
    pub fn config(&self) -> &AnymalConfig {
        &self.config
    }

    /// Width of a flat observation row: `[proprio, extero (leg after leg), privileged]`.
    pub fn flat_obs_dim(&self) -> usize {
        let c = &self.config;
        c.proprio_dim + c.num_legs * c.extero_dim + c.privileged_dim
    }

    /// Splits flat rows `[B, flat_obs_dim]` into `(proprio, extero [B, legs, extero_dim],
    /// privileged)`, or says that the width is wrong.
    pub fn split_flat_obs(
        &self,
        obs: Tensor<2>,
    ) -> crate::Result<(Tensor<2>, Tensor<3>, Tensor<2>)> {
        let c = &self.config;
        let batch = BatchShapes::on(self.teacher.trunk.device()).check(
            "observation",
            &obs,
            &[self.flat_obs_dim()],
        )?;
        let heights = c.num_legs * c.extero_dim;
        Ok((
            obs.clone().narrow(1, 0, c.proprio_dim),
            obs.clone().narrow(1, c.proprio_dim, heights).reshape([
                batch,
                c.num_legs,
                c.extero_dim,
            ]),
            obs.narrow(1, c.proprio_dim + heights, c.privileged_dim),
        ))
    }

    /// The teacher's forward on flat observation rows, normalised with the running statistics.
    pub fn forward_teacher_flat(&self, obs: Tensor<2>) -> crate::Result<TeacherOutput> {
        self.forward_teacher_flat_normalized(self.normalize_flat(obs)?)
    }

    /// Flat observation rows normalised group by group with the running statistics, still flat
    /// (what PPO's rollout buffer stores).
    pub fn normalize_flat(&self, obs: Tensor<2>) -> crate::Result<Tensor<2>> {
        let (proprio, extero, privileged) = self.split_flat_obs(obs)?;
        let (proprio, extero, privileged) = self.normalizer.normalize(proprio, extero, privileged);
        let batch = proprio.dims()[0];
        let extero = extero.reshape([batch, self.config.num_legs * self.config.extero_dim]);
        Ok(Tensor::cat(vec![proprio, extero, privileged], 1))
    }

    /// The teacher's forward on flat rows that [`Anymal::normalize_flat`] normalised.
    pub fn forward_teacher_flat_normalized(
        &self,
        input: Tensor<2>,
    ) -> crate::Result<TeacherOutput> {
        let (proprio, extero, privileged) = self.split_flat_obs(input)?;
        self.teacher.forward(proprio, extero, privileged)
    }

    /// One control step of the deployed student: raw `proprio` and (noisy) `extero`,
    /// normalised with the running statistics, from `hiddens` (zeros when `None`).
    pub fn student_step(
        &self,
        proprio: Tensor<2>,
        extero: Tensor<3>,
        hiddens: Option<Tensor<3>>,
    ) -> crate::Result<StudentOutput> {
        self.student_step_gated(proprio, extero, hiddens, false, Gates::Learned)
    }

    /// [`Anymal::student_step`] with the belief decoder's estimates when `reconstruct` (of the
    /// *normalised* privileged state and heights) and the gates as `gates` says.
    pub fn student_step_gated(
        &self,
        proprio: Tensor<2>,
        extero: Tensor<3>,
        hiddens: Option<Tensor<3>>,
        reconstruct: bool,
        gates: Gates,
    ) -> crate::Result<StudentOutput> {
        let proprio = self.normalizer.proprio.normalize(proprio);
        let extero = self.normalizer.normalize_extero(extero);
        self.student
            .forward_gated(proprio, extero, hiddens, reconstruct, gates)
    }

    /// Adds flat observation rows to the running statistics.
    pub fn update_normalizer_flat(&mut self, obs: Tensor<2>) -> crate::Result<()> {
        let (proprio, extero, privileged) = self.split_flat_obs(obs)?;
        self.normalizer.update(proprio, extero, privileged);
        Ok(())
    }
}

fn mse<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> Tensor<1> {
    (a - b).powi_scalar(2).mean()
}

/// Gives every parameter a new id (and cuts it from any graph), so that a copied sub-module is
/// trained on its own instead of sharing optimiser state with the original.
struct FreshParams;

impl ModuleMapper for FreshParams {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        Param::from_tensor(param.val().detach())
    }
}
