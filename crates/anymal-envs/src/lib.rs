//! # anymal-envs
//!
//! Environments with Gymnasium's semantics, on MuJoCo: the [`Env`] API, the
//! [`InvertedPendulum`] (v4 and v5, step for step as Gymnasium's), the quadruped world
//! ([`legged`]), the Upkie-like wheeled biped ([`upkie`]), [`wrappers`] that compose like
//! Gymnasium's, [`VectorEnv`] stepping copies on worker threads, the [`MockEnv`] of the PyTorch
//! package, [`HiddenForceEnv`] (a small structured env that needs memory), a [`Pid`] baseline
//! and a [`rollout()`] helper.
//!
//! ## MuJoCo
//! The build script takes MuJoCo 3.17.0's shared library from the PyPI wheel `mujoco==3.17.0`
//! (with `python3 -m pip`), links it and sets the run-time search path of this workspace's
//! binaries. A crate outside this workspace that depends on `anymal-envs` either copies this
//! workspace's `.cargo/config.toml` line and linker script, or sets `MUJOCO_DYNAMIC_LINK_DIR` to
//! the `lib/` folder of a MuJoCo 3.17.0 installation and makes that folder visible at run time
//! (rpath or `LD_LIBRARY_PATH`); the build script then uses it and downloads nothing.

#![deny(rustdoc::broken_intra_doc_links, rustdoc::private_intra_doc_links)]

pub mod env;
pub mod error;
pub mod hidden_force;
pub mod legged;
pub mod mock;
pub mod mujoco;
pub mod pendulum;
pub mod pid;
pub mod rollout;
pub mod space;
pub mod upkie;
pub mod vector;
pub mod video;
pub mod viewer;
pub mod wrappers;

pub use env::{
    BoxedEnv, Env, EpisodeStatistics, FlatObservation, Info, ObservationSpace, Step, StructuredObs,
};
pub use error::{EnvError, Result};
pub use hidden_force::HiddenForceEnv;
pub use legged::{LeggedConfig, LeggedEnv};
pub use mock::MockEnv;
pub use mujoco::MujocoSim;
pub use pendulum::{
    InvertedPendulum, PendulumTask, PendulumVersion, RewardFn, make_inverted_pendulum,
};
pub use pid::Pid;
pub use rollout::{Episode, rollout, rollout_watched};
pub use space::BoxSpace;
pub use upkie::{UpkieConfig, UpkieGroundVelocity};
pub use vector::{VectorEnv, VectorStep};
