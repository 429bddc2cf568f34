//! # anymal-core
//!
//! The networks of the teacher-student "belief state encoder/decoder" method (Miki et al.,
//! Science Robotics 2022) on Burn, for any device chosen at run time: [`Mlp`], a GRU cell
//! ([`gru`]), the privileged [`Teacher`], the recurrent [`Student`] with its belief encoder and
//! decoder, [`Anymal`] holding both with the distillation loss, action distributions
//! ([`distribution`]), running observation normalisation ([`normalization`]), saving and
//! loading ([`io`]), importing the PyTorch package's weights ([`pytorch`]), and
//! Stable-Baselines3's `MlpPolicy` ([`MlpActorCritic`]) for flat observations.
//!
//! No environment or training-loop code lives here.

#![deny(rustdoc::broken_intra_doc_links, rustdoc::private_intra_doc_links)]

pub mod action_head;
pub mod activation;
pub mod actor_critic;
pub mod anymal;
pub mod device;
pub mod distribution;
pub mod error;
pub mod fused;
pub mod gru;
pub mod io;
pub mod mlp;
pub mod normalization;
pub mod pytorch;
mod shape;
pub mod student;
pub mod teacher;

pub use action_head::{ActionHead, ActionKind};
pub use actor_critic::{Activation, MlpActorCritic, MlpActorCriticConfig};
pub use anymal::{Anymal, AnymalConfig, Distillation, DistillationTargets, ExteroNoise};
pub use device::{describe_device, parse_device};
pub use distribution::{ActionDistribution, Categorical, DiagGaussian};
pub use error::{Error, Result};
pub use fused::{LinearActivation, linear};
pub use gru::{GruCell, GruCellConfig, GruStack, GruStackConfig, reset_hiddens};
pub use mlp::{Mlp, MlpConfig};
pub use normalization::{ObservationNormalizer, RunningStats, RunningStatsConfig};
pub use student::{BeliefLayout, Gates, Reconstruction, Student, StudentConfig, StudentOutput};
pub use teacher::{Teacher, TeacherConfig, TeacherOutput};

/// Burn, re-exported so that users build tensors and devices with the same version.
pub use burn;
