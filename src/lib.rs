//! # anymal
//!
//! Learning legged-robot control with reinforcement learning, in Rust on Burn: the
//! teacher-student belief state encoder/decoder of Miki et al. 2022 and the everyday
//! RL-for-robots workflow around it. This facade re-exports the three crates:
//!
//! - [`core`]: networks, action distributions, observation normalisation, model files.
//! - [`rl`]: training algorithms.
//! - [`envs`]: environments (MuJoCo), wrappers, vector environments.
//!
//! and adds [`plot`], PNG charts for the examples, [`cli`], what their command lines share, and
//! [`teacher`], the quadruped teacher's training setups and evaluation protocol.

#![deny(rustdoc::broken_intra_doc_links, rustdoc::private_intra_doc_links)]

pub mod anchors;
pub mod cli;
pub mod plot;
pub mod student;
pub mod teacher;

pub use anymal_core as core;
pub use anymal_envs as envs;
pub use anymal_rl as rl;
