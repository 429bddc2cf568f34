//! The paper's observation (Miki et al. 2022, observation table), as [`StructuredObs`]:
//! proprioception 133, heights 4 x 52, privileged state 50. Every field's place is a public
//! constant: [`proprio`] and [`privileged`].

use crate::env::StructuredObs;
use crate::legged::robot::{NUM_JOINTS, NUM_LEGS};
use crate::legged::state::RobotState;

/// Places in the proprioceptive vector.
pub mod proprio {
    use std::ops::Range;
    /// Command `(vx, vy, yaw rate)`.
    pub const COMMAND: Range<usize> = 0..3;
    /// Gravity's direction in the base frame.
    pub const GRAVITY: Range<usize> = 3..6;
    /// Base linear velocity, base frame.
    pub const LINEAR_VELOCITY: Range<usize> = 6..9;
    /// Base angular velocity, base frame.
    pub const ANGULAR_VELOCITY: Range<usize> = 9..12;
    /// Joint angles.
    pub const JOINT_POSITION: Range<usize> = 12..24;
    /// Joint velocities.
    pub const JOINT_VELOCITY: Range<usize> = 24..36;
    /// Joint angles of the 3 previous policy steps, newest first.
    pub const JOINT_POSITION_HISTORY: Range<usize> = 36..72;
    /// Joint velocities of the 2 previous policy steps, newest first.
    pub const JOINT_VELOCITY_HISTORY: Range<usize> = 72..96;
    /// The last 2 joint targets (the one applied in the step just taken first).
    pub const JOINT_TARGET_HISTORY: Range<usize> = 96..120;
    /// The CPG phase offsets of the last action (zero for joint-target actions).
    pub const PHASE_OFFSET: Range<usize> = 120..124;
    /// `cos` of each leg's phase.
    pub const PHASE_COS: Range<usize> = 124..128;
    /// `sin` of each leg's phase.
    pub const PHASE_SIN: Range<usize> = 128..132;
    /// The CPG's base frequency (Hz).
    pub const BASE_FREQUENCY: Range<usize> = 132..133;
    /// Width of the proprioceptive vector.
    pub const DIM: usize = 133;
}

/// Places in the privileged vector.
pub mod privileged {
    use std::ops::Range;
    /// Foot contact states (1 or 0).
    pub const FOOT_CONTACT: Range<usize> = 0..4;
    /// Ground force on each foot, 3 per foot, world frame.
    pub const CONTACT_FORCE: Range<usize> = 4..16;
    /// Ground normal under each foot, 3 per foot.
    pub const CONTACT_NORMAL: Range<usize> = 16..28;
    /// Friction coefficient of each foot.
    pub const FRICTION: Range<usize> = 28..32;
    /// Thigh contact states.
    pub const THIGH_CONTACT: Range<usize> = 32..36;
    /// Shank contact states.
    pub const SHANK_CONTACT: Range<usize> = 36..40;
    /// External force on the base.
    pub const EXTERNAL_FORCE: Range<usize> = 40..43;
    /// External torque on the base.
    pub const EXTERNAL_TORQUE: Range<usize> = 43..46;
    /// Seconds each foot has been in the air.
    pub const AIR_TIME: Range<usize> = 46..50;
    /// Width of the privileged vector.
    pub const DIM: usize = 50;
}

/// The controller's recent past that the observation shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Joint angles of the last 3 policy steps, newest first.
    pub joint_position: [[f64; NUM_JOINTS]; 3],
    /// Joint velocities of the last 2 steps.
    pub joint_velocity: [[f64; NUM_JOINTS]; 2],
    /// Joint targets: the last step's, then the 2 before.
    pub joint_target: [[f64; NUM_JOINTS]; 3],
}

impl History {
    /// A history as if the robot had held `state`'s joints at `target` for ever.
    pub fn steady(state: &RobotState, target: [f64; NUM_JOINTS]) -> Self {
        Self {
            joint_position: [state.joint_position; 3],
            joint_velocity: [state.joint_velocity; 2],
            joint_target: [target; 3],
        }
    }

    /// Records a step: the state *before* it and the target it used.
    pub fn push(&mut self, before: &RobotState, target: [f64; NUM_JOINTS]) {
        self.joint_position.rotate_right(1);
        self.joint_position[0] = before.joint_position;
        self.joint_velocity.rotate_right(1);
        self.joint_velocity[0] = before.joint_velocity;
        self.joint_target.rotate_right(1);
        self.joint_target[0] = target;
    }
}

/// The CPG's part of the observation.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PhaseInfo {
    /// The last action's phase offsets.
    pub offsets: [f64; NUM_LEGS],
    /// The legs' phases.
    pub phases: [f64; NUM_LEGS],
    /// Base frequency (Hz).
    pub base_frequency: f64,
}

/// Writes the proprioceptive and privileged parts; `extero` is filled by the height scan.
pub fn write(
    obs: &mut StructuredObs,
    state: &RobotState,
    command: [f64; 3],
    history: &History,
    phase: &PhaseInfo,
) {
    let p = &mut obs.proprio;
    p.clear();
    p.resize(proprio::DIM, 0.0);
    let mut put = |at: usize, values: &[f64]| put_at(p, at, values);
    put(proprio::COMMAND.start, &command);
    put(proprio::GRAVITY.start, &state.gravity_body);
    put(proprio::LINEAR_VELOCITY.start, &state.linear_velocity_body);
    put(
        proprio::ANGULAR_VELOCITY.start,
        &state.angular_velocity_body,
    );
    put(proprio::JOINT_POSITION.start, &state.joint_position);
    put(proprio::JOINT_VELOCITY.start, &state.joint_velocity);
    for (k, q) in history.joint_position.iter().enumerate() {
        put(proprio::JOINT_POSITION_HISTORY.start + k * NUM_JOINTS, q);
    }
    for (k, qd) in history.joint_velocity.iter().enumerate() {
        put(proprio::JOINT_VELOCITY_HISTORY.start + k * NUM_JOINTS, qd);
    }
    for (k, target) in history.joint_target[..2].iter().enumerate() {
        put(proprio::JOINT_TARGET_HISTORY.start + k * NUM_JOINTS, target);
    }
    put(proprio::PHASE_OFFSET.start, &phase.offsets);
    put(proprio::PHASE_COS.start, &phase.phases.map(f64::cos));
    put(proprio::PHASE_SIN.start, &phase.phases.map(f64::sin));
    put(proprio::BASE_FREQUENCY.start, &[phase.base_frequency]);

    let q = &mut obs.privileged;
    q.clear();
    q.resize(privileged::DIM, 0.0);
    let mut put = |at: usize, values: &[f64]| put_at(q, at, values);
    let flags = |b: [bool; NUM_LEGS]| b.map(|x| f64::from(u8::from(x)));
    put(privileged::FOOT_CONTACT.start, &flags(state.foot_contact));
    put(
        privileged::CONTACT_FORCE.start,
        state.foot_force.as_flattened(),
    );
    put(
        privileged::CONTACT_NORMAL.start,
        state.foot_normal.as_flattened(),
    );
    put(privileged::FRICTION.start, &state.foot_friction);
    put(privileged::THIGH_CONTACT.start, &flags(state.thigh_contact));
    put(privileged::SHANK_CONTACT.start, &flags(state.shank_contact));
    put(privileged::EXTERNAL_FORCE.start, &state.external_force);
    put(privileged::EXTERNAL_TORQUE.start, &state.external_torque);
    put(privileged::AIR_TIME.start, &state.air_time);
}

/// Writes `values` into `out` from index `at`, as `f32`.
fn put_at(out: &mut [f32], at: usize, values: &[f64]) {
    for (slot, v) in out[at..at + values.len()].iter_mut().zip(values) {
        *slot = *v as f32;
    }
}
