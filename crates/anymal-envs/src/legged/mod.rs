//! The paper's quadruped world in MuJoCo: an ANYmal-C-class robot described by data, on
//! generated terrains, with the paper's observations, actions (joint targets or CPG + IK),
//! rewards, terminations, randomisation and height-scan noise.
//!
//! One concept per file: [`robot`] (the description), [`kinematics`] (leg FK/IK), [`cpg`],
//! [`terrain`], [`height_scan`], [`height_noise`], [`command`], [`state`] (what is measured),
//! [`observation`] (the layout), [`reward`], [`randomization`], [`world`] (the shared compiled
//! model), [`mod@env`] (the step) and [`evaluation`] (the paper's success protocol).

pub mod command;
pub mod cpg;
pub mod env;
pub mod evaluation;
pub mod height_noise;
pub mod height_scan;
pub mod kinematics;
pub mod observation;
pub mod randomization;
pub mod reward;
pub mod robot;
pub mod state;
pub mod terrain;
pub mod world;

pub use command::CommandConfig;
pub use cpg::CpgConfig;
pub use env::{ActionSpace, Curriculum, LeggedConfig, LeggedEnv, Termination};
pub use height_noise::{HeightNoise, NoiseCurriculum};
pub use height_scan::ScanPattern;
pub use randomization::Randomization;
pub use reward::{RewardConfig, RewardTerm};
pub use robot::RobotDescription;
pub use terrain::{TerrainConfig, TerrainType, TileGrid};
pub use world::LeggedWorld;
