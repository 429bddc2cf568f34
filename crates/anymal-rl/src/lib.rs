//! # anymal-rl
//!
//! Training for anymal's networks: Proximal Policy Optimization ([`Ppo`]) with
//! Stable-Baselines3's semantics and defaults on vector environments, its rollout buffer and
//! GAE ([`buffer`]), hyperparameter schedules ([`Schedule`]), global gradient-norm clipping
//! ([`grad_clip`]), logging to TensorBoard, CSV, a progress bar and the console ([`Logger`]),
//! atomic checkpoints ([`checkpoint`]) and policy evaluation ([`evaluate()`]).

pub mod buffer;
pub mod checkpoint;
pub mod error;
pub mod evaluate;
pub mod grad_clip;
pub mod logger;
pub mod policy;
pub mod ppo;
pub mod schedule;
pub mod tensorboard;

pub use buffer::{RolloutBuffer, gae};
pub use error::{Result, RlError};
pub use evaluate::{
    CurvePoint, EvalEpisode, EvalProtocol, TrainingReport, evaluate, train_with_evaluation,
};
pub use logger::Logger;
pub use policy::{ActorCritic, Policy};
pub use ppo::{Ppo, PpoConfig, UpdateStats};
pub use schedule::{AdaptiveValue, Schedule};
