//! # anymal-rl
//!
//! Training for anymal's networks: Proximal Policy Optimization ([`Ppo`]) with
//! Stable-Baselines3's semantics and defaults on vector environments, its rollout buffer and
//! GAE ([`buffer`]), hyperparameter schedules ([`Schedule`]), global gradient-norm clipping
//! ([`grad_clip`]), gradients computed in row shards on all cores
//! ([`data_parallel`]), logging to TensorBoard, CSV, a progress bar and the console ([`Logger`]),
//! atomic checkpoints ([`checkpoint`]) and policy evaluation ([`evaluate()`]); for the
//! teacher-student method, [`Anymal`](anymal_core::Anymal)'s teacher as PPO's actor-critic
//! ([`teacher`]) and student distillation ([`StudentTrainer`], [`HeightNoise`]).

#![deny(rustdoc::broken_intra_doc_links, rustdoc::private_intra_doc_links)]

pub mod buffer;
pub mod checkpoint;
pub mod data_parallel;
pub mod episodes;
pub mod error;
pub mod evaluate;
pub mod grad_clip;
/// The student's height noise, owned by the environments that own terrains.
pub use anymal_envs::legged::height_noise;
pub mod logger;
pub mod policy;
pub mod ppo;
pub mod schedule;
pub mod student;
pub mod student_policy;
pub mod teacher;
pub mod tensorboard;

pub use buffer::{RolloutBuffer, gae};
pub use data_parallel::{DataParallel, sharded_gradients};
pub use error::{Result, RlError};
pub use evaluate::{
    CurvePoint, EvalEpisode, EvalProtocol, TrainingReport, evaluate, train_with_evaluation,
};
pub use height_noise::{HeightNoise, NoiseCurriculum};
pub use logger::Logger;
pub use policy::{ActorCritic, Policy};
pub use ppo::{Ppo, PpoConfig, TimeSplit, UpdateStats};
pub use schedule::{AdaptiveValue, Schedule};
pub use student::{
    PackageStudentArgs, StudentEvaluation, StudentStats, StudentTrainer, StudentTrainerConfig,
};
pub use student_policy::{ReconstructionErrors, StudentPolicy};
pub use teacher::PackagePpoArgs;
