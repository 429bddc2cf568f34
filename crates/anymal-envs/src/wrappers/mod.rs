//! Wrappers that compose like Gymnasium's: each holds the environment it wraps and is an
//! environment itself.

mod action;
mod delay;
mod episode_statistics;
mod frame_stack;
mod normalize_observation;
mod record_video;
mod time_limit;
mod transform_reward;

pub use action::{ClipAction, RescaleAction};
pub use delay::Delay;
pub use episode_statistics::RecordEpisodeStatistics;
pub use frame_stack::FrameStack;
pub use normalize_observation::{NormalizeObservation, RunningMeanStd};
pub use record_video::RecordVideo;
pub use time_limit::TimeLimit;
pub use transform_reward::TransformReward;

/// Forwards the parts of [`crate::Env`] that a wrapper leaves unchanged to `self.env`.
macro_rules! forward_spaces {
    () => {
        fn observation_space(&self) -> crate::env::ObservationSpace {
            self.env.observation_space()
        }
        fn action_space(&self) -> crate::space::BoxSpace {
            self.env.action_space()
        }
        fn dt(&self) -> f64 {
            self.env.dt()
        }
        fn sim(&self) -> Option<&crate::mujoco::MujocoSim> {
            self.env.sim()
        }
    };
}
pub(crate) use forward_spaces;
