//! What the simulator says about the robot after a policy step, measured once and read by the
//! observation, the reward and the terminations (so each of those is a plain function of this
//! state, testable on a state built by hand).

use crate::legged::robot::{NUM_JOINTS, NUM_LEGS};

/// The robot after a policy step. Vectors are in the world frame unless named `_body`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RobotState {
    /// Base position.
    pub base_position: [f64; 3],
    /// Base yaw (rad).
    pub yaw: f64,
    /// Gravity's direction (unit) in the base frame; `[0, 0, -1]` when level.
    pub gravity_body: [f64; 3],
    /// Base linear velocity in the base frame.
    pub linear_velocity_body: [f64; 3],
    /// Base angular velocity in the base frame.
    pub angular_velocity_body: [f64; 3],
    /// Joint angles.
    pub joint_position: [f64; NUM_JOINTS],
    /// Joint velocities.
    pub joint_velocity: [f64; NUM_JOINTS],
    /// Joint accelerations over the policy step (finite difference of velocities).
    pub joint_acceleration: [f64; NUM_JOINTS],
    /// Torques applied in the step's last physics step.
    pub torques: [f64; NUM_JOINTS],
    /// Mean over the step's physics steps of each squared torque.
    pub torque_squared: [f64; NUM_JOINTS],
    /// Largest |PD demand| / torque limit over the step (above 1: the limit was exceeded).
    pub torque_demand_ratio: f64,
    /// Foot centres.
    pub foot_position: [[f64; 3]; NUM_LEGS],
    /// Foot velocities.
    pub foot_velocity: [[f64; 3]; NUM_LEGS],
    /// Whether each foot touches the ground.
    pub foot_contact: [bool; NUM_LEGS],
    /// Ground force on each foot (summed over its contacts).
    pub foot_force: [[f64; 3]; NUM_LEGS],
    /// Ground normal under each foot in contact (zero when in the air).
    pub foot_normal: [[f64; 3]; NUM_LEGS],
    /// Friction coefficient of each foot.
    pub foot_friction: [f64; NUM_LEGS],
    /// Whether each thigh touches the ground.
    pub thigh_contact: [bool; NUM_LEGS],
    /// Whether each shank touches the ground.
    pub shank_contact: [bool; NUM_LEGS],
    /// Whether the base touches the ground.
    pub base_contact: bool,
    /// Seconds each foot has been in the air (0 while in contact).
    pub air_time: [f64; NUM_LEGS],
    /// Feet that touched down in this step.
    pub touchdown: [bool; NUM_LEGS],
    /// For feet that touched down: how long they were in the air.
    pub touchdown_air_time: [f64; NUM_LEGS],
    /// External force on the base.
    pub external_force: [f64; 3],
    /// External torque on the base.
    pub external_torque: [f64; 3],
}
