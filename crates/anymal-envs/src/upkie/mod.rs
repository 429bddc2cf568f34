//! An Upkie-like wheeled biped in MuJoCo with the semantics of upkie's
//! `UpkieGroundVelocity-v1` (the tutorial's bonus), and two PPO balancer variants of it: the
//! tutorial pin's settings ([`UpkieConfig::ppo_balancer`]) and the env upstream's shipped
//! policy was trained in ([`UpkieConfig::shipped_policy`]).
//!
//! One concept per file: [`robot`] (the bundled model and its joints), [`odometry`] (ground
//! position and velocity from the wheels), [`velocity_command`] (the action's rate limit and
//! clamp), [`reward`] and [`mod@env`] (the step).
//!
//! Deviations from upstream, and why:
//! - **Simulator**: MuJoCo instead of Bullet. The tires are MuJoCo cylinders with MuJoCo's soft
//!   contact (`solref 0.004 1`, friction 1, rolling friction none) instead of Bullet's
//!   stiffness 3e4 / damping 1e3 and rolling friction 0.01; there is no MuJoCo equivalent of
//!   Bullet's spring-damper contact parameters.
//! - **Joint control**: upkie's spine computes `kp (q* - q) + kd (qd* - qd)` every 1 ms from the
//!   current state; here MuJoCo's position and velocity actuators compute the same law every
//!   1 ms step, integrated implicitly, with the same gains and torque limits.
//! - **Off-ground detection**: upkie's floor-contact observer infers contact from wheel and
//!   torque signals; here a wheel is on the ground when MuJoCo reports a contact between its
//!   tire and the floor (the exact answer the observer estimates).
//! - **Sensor latency**: upkie's observations are 1-2 ms old (the spine's loop); here they are
//!   read right after the last physics step (no latency). The `Delay` wrapper adds a low-pass
//!   delay when wanted.

pub mod env;
pub mod odometry;
pub mod reward;
pub mod robot;
pub mod velocity_command;

pub use env::{
    ResetNoise, UpkieConfig, UpkieGroundVelocity, make_balancer_env, make_ppo_balancer_env,
};
pub use reward::UpkieReward;
