//! Rewards: each term a small named function of the step's [`RewardContext`], weighted by its
//! scale. Two presets:
//!
//! - [`RewardConfig::paper`] (the default): the teacher reward of Miki et al. 2022,
//!   `0.75 (r_lv + r_av + r_lvo) + r_b + 0.003 r_fc + 0.1 r_co + 0.001 r_j + 0.08 r_jc
//!   + 0.003 r_s + 1e-6 r_tau + 0.003 r_slip`, where `r_co, r_j, r_s, r_tau, r_slip` carry the
//!   curriculum factor `c_k` (`c_{k+1} = c_k^0.98` per episode).
//! - [`RewardConfig::legged_gym`]: legged_gym's rough-terrain ANYmal C terms and scales, each
//!   multiplied by the policy step, the sum clipped at 0.
//!
//! Where the paper's text leaves a choice, the term's documentation says what was chosen.

use crate::legged::robot::{JOINTS_PER_LEG, NUM_JOINTS, NUM_LEGS};
use crate::legged::state::RobotState;

/// Everything a reward term reads.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardContext<'a> {
    /// The robot after the step.
    pub state: &'a RobotState,
    /// The command `(vx, vy, yaw rate)`.
    pub command: [f64; 3],
    /// Joint targets of this step and the 2 before.
    pub targets: &'a [[f64; NUM_JOINTS]; 3],
    /// Legs in swing: the CPG's swing phase, or feet off the ground without a CPG.
    pub swing: [bool; NUM_LEGS],
    /// Each foot's height above the highest of its height samples (m).
    pub foot_clearance: [f64; NUM_LEGS],
    /// The standing pose's knee angles (their sign tells which way each knee bends).
    pub default_knees: [f64; NUM_LEGS],
    /// The curriculum factor `c_k`.
    pub curriculum: f64,
    /// Seconds per policy step.
    pub dt: f64,
}

/// A reward term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RewardTerm {
    /// Paper `r_lv`: planar velocity along the command.
    LinearVelocity,
    /// Paper `r_av`: yaw rate.
    AngularVelocity,
    /// Paper `r_lvo`: planar velocity orthogonal to the command.
    OrthogonalVelocity,
    /// Paper `r_b`: vertical and roll/pitch motion of the base.
    BaseMotion,
    /// Paper `r_fc`: swing feet clear of the ground around them.
    FootClearance,
    /// Paper `r_co`: thigh and shank collisions (with `c_k`).
    Collision,
    /// Paper `r_j`: joint speed and acceleration (with `c_k`).
    JointMotion,
    /// Paper `r_jc`: knees near full extension.
    JointConstraint,
    /// Paper `r_s`: smoothness of joint targets (with `c_k`).
    Smoothness,
    /// Paper `r_tau`: torques (with `c_k`).
    Torque,
    /// Paper `r_slip`: feet sliding while in contact (with `c_k`).
    Slip,
    /// legged_gym `tracking_lin_vel`: `exp(-|v_xy - v_cmd|^2 / 0.25)`.
    TrackingLinearVelocity,
    /// legged_gym `tracking_ang_vel`: `exp(-(w_z - w_cmd)^2 / 0.25)`.
    TrackingYawRate,
    /// legged_gym `lin_vel_z`: `v_z^2`.
    VerticalVelocity,
    /// legged_gym `ang_vel_xy`: `w_x^2 + w_y^2`.
    RollPitchRate,
    /// legged_gym `torques`: `sum tau^2`.
    TorqueSquared,
    /// legged_gym `dof_acc`: `sum qdd^2`.
    JointAcceleration,
    /// legged_gym `action_rate`: `sum (target_t - target_{t-1})^2` (targets, as the action).
    ActionRate,
    /// legged_gym `feet_air_time`: `sum (air time - 0.5)` at touchdown, when commanded to move.
    FeetAirTime,
    /// legged_gym `collision`: number of thighs and shanks touching.
    BodyCollision,
    /// legged_gym `orientation`: `g_x^2 + g_y^2`, gravity in the base frame.
    Orientation,
}

impl RewardTerm {
    /// The name logged for the term: `rewards/<term>`.
    pub fn name(self) -> &'static str {
        match self {
            Self::LinearVelocity => "rewards/linear_velocity",
            Self::AngularVelocity => "rewards/angular_velocity",
            Self::OrthogonalVelocity => "rewards/orthogonal_velocity",
            Self::BaseMotion => "rewards/base_motion",
            Self::FootClearance => "rewards/foot_clearance",
            Self::Collision => "rewards/collision",
            Self::JointMotion => "rewards/joint_motion",
            Self::JointConstraint => "rewards/joint_constraint",
            Self::Smoothness => "rewards/smoothness",
            Self::Torque => "rewards/torque",
            Self::Slip => "rewards/slip",
            Self::TrackingLinearVelocity => "rewards/tracking_lin_vel",
            Self::TrackingYawRate => "rewards/tracking_ang_vel",
            Self::VerticalVelocity => "rewards/lin_vel_z",
            Self::RollPitchRate => "rewards/ang_vel_xy",
            Self::TorqueSquared => "rewards/torques",
            Self::JointAcceleration => "rewards/dof_acc",
            Self::ActionRate => "rewards/action_rate",
            Self::FeetAirTime => "rewards/feet_air_time",
            Self::BodyCollision => "rewards/body_collision",
            Self::Orientation => "rewards/orientation",
        }
    }

    /// The term's unweighted value.
    pub fn value(self, cx: &RewardContext) -> f64 {
        match self {
            Self::LinearVelocity => linear_velocity(cx),
            Self::AngularVelocity => angular_velocity(cx),
            Self::OrthogonalVelocity => orthogonal_velocity(cx),
            Self::BaseMotion => base_motion(cx),
            Self::FootClearance => foot_clearance(cx),
            Self::Collision => -cx.curriculum * body_contacts(cx.state),
            Self::JointMotion => joint_motion(cx),
            Self::JointConstraint => joint_constraint(cx),
            Self::Smoothness => smoothness(cx),
            Self::Torque => -cx.curriculum * cx.state.torque_squared.iter().sum::<f64>(),
            Self::Slip => slip(cx),
            Self::TrackingLinearVelocity => tracking_linear_velocity(cx),
            Self::TrackingYawRate => {
                (-(cx.state.angular_velocity_body[2] - cx.command[2]).powi(2) / 0.25).exp()
            }
            Self::VerticalVelocity => cx.state.linear_velocity_body[2].powi(2),
            Self::RollPitchRate => {
                let w = cx.state.angular_velocity_body;
                w[0] * w[0] + w[1] * w[1]
            }
            Self::TorqueSquared => cx.state.torque_squared.iter().sum(),
            Self::JointAcceleration => cx.state.joint_acceleration.iter().map(|a| a * a).sum(),
            Self::ActionRate => squared_distance(&cx.targets[0], &cx.targets[1]),
            Self::FeetAirTime => feet_air_time(cx),
            Self::BodyCollision => body_contacts(cx.state),
            Self::Orientation => {
                let g = cx.state.gravity_body;
                g[0] * g[0] + g[1] * g[1]
            }
        }
    }
}

/// Which terms, with which weights, and how they are summed.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardConfig {
    /// `(term, weight)` pairs.
    pub terms: Vec<(RewardTerm, f64)>,
    /// Multiply each weighted term by the policy step (legged_gym).
    pub scale_by_dt: bool,
    /// Clip the step's total at 0 from below (legged_gym's `only_positive_rewards`).
    pub clip_at_zero: bool,
    /// Multiply every negative-weight term by the curriculum factor `c_k` too, so that
    /// penalties start small and reach their weight as episodes go by (the paper's curriculum
    /// on legged_gym's terms).
    pub penalty_curriculum: bool,
    /// `c_k` at the first episode (the predecessor's code: 0.3).
    pub curriculum_start: f64,
    /// `c_{k+1} = c_k^curriculum_exponent` after each episode (the paper: 0.98).
    pub curriculum_exponent: f64,
}

impl Default for RewardConfig {
    fn default() -> Self {
        Self::paper()
    }
}

impl RewardConfig {
    /// The paper's teacher reward.
    pub fn paper() -> Self {
        use RewardTerm::*;
        Self {
            terms: vec![
                (LinearVelocity, 0.75),
                (AngularVelocity, 0.75),
                (OrthogonalVelocity, 0.75),
                (BaseMotion, 1.0),
                (FootClearance, 0.003),
                (Collision, 0.1),
                (JointMotion, 0.001),
                (JointConstraint, 0.08),
                (Smoothness, 0.003),
                (Torque, 1e-6),
                (Slip, 0.003),
            ],
            scale_by_dt: false,
            clip_at_zero: false,
            penalty_curriculum: false,
            curriculum_start: 0.3,
            curriculum_exponent: 0.98,
        }
    }

    /// legged_gym's ANYmal C rough-terrain reward.
    pub fn legged_gym() -> Self {
        use RewardTerm::*;
        Self {
            terms: vec![
                (TrackingLinearVelocity, 1.0),
                (TrackingYawRate, 0.5),
                (VerticalVelocity, -2.0),
                (RollPitchRate, -0.05),
                (TorqueSquared, -1e-5),
                (JointAcceleration, -2.5e-7),
                (ActionRate, -0.01),
                (FeetAirTime, 1.0),
                (BodyCollision, -1.0),
            ],
            scale_by_dt: true,
            clip_at_zero: true,
            penalty_curriculum: false,
            curriculum_start: 1.0,
            curriculum_exponent: 1.0,
        }
    }

    /// legged_gym's ANYmal C flat-ground reward: the rough one with an orientation penalty of
    /// -5 and feet air time 2. The torque weight stays the rough one's -1e-5 (flat: -2.5e-5):
    /// legged_gym's flat weight is set for kp 80 in front of an actuator network, and with this
    /// model's plain kp 200 the torques that exploration noise causes are about 2.5 x larger,
    /// so that at -2.5e-5 they outweighed the tracking terms and the clipped reward stayed at
    /// 0 (measured: -0.0135 per step against +0.009 of tracking).
    pub fn legged_gym_flat() -> Self {
        use RewardTerm::*;
        let mut config = Self::legged_gym();
        for (term, weight) in &mut config.terms {
            if *term == FeetAirTime {
                *weight = 2.0;
            }
        }
        config.terms.push((Orientation, -5.0));
        config
    }

    /// The step's reward and each weighted term, in `terms` order.
    pub fn evaluate(&self, cx: &RewardContext, weighted: &mut Vec<f64>) -> f64 {
        weighted.clear();
        let scale = if self.scale_by_dt { cx.dt } else { 1.0 };
        let factor = |w: f64| {
            if self.penalty_curriculum && w < 0.0 {
                cx.curriculum
            } else {
                1.0
            }
        };
        weighted.extend(
            self.terms
                .iter()
                .map(|(t, w)| w * factor(*w) * scale * t.value(cx)),
        );
        let total = weighted.iter().sum::<f64>();
        if self.clip_at_zero {
            total.max(0.0)
        } else {
            total
        }
    }

    /// The curriculum factor after one more episode.
    pub fn next_curriculum(&self, c: f64) -> f64 {
        c.powf(self.curriculum_exponent)
    }
}

/// `r_lv`: with a zero command `exp(-|v|^2)`; otherwise, with `v_pr` the planar velocity's
/// projection on the command's direction, 1 when `v_pr` exceeds the commanded speed, else
/// `exp(-(v_pr - |v_cmd|)^2)` (faster than commanded is not punished).
pub fn linear_velocity(cx: &RewardContext) -> f64 {
    let v = &cx.state.linear_velocity_body;
    let speed = cx.command[0].hypot(cx.command[1]);
    if speed == 0.0 {
        return (-(v[0] * v[0] + v[1] * v[1])).exp();
    }
    let along = (v[0] * cx.command[0] + v[1] * cx.command[1]) / speed;
    if along > speed {
        1.0
    } else {
        (-(along - speed).powi(2)).exp()
    }
}

/// `r_av`: the same form on the yaw rate.
pub fn angular_velocity(cx: &RewardContext) -> f64 {
    let (w, target) = (cx.state.angular_velocity_body[2], cx.command[2]);
    if target == 0.0 {
        return (-w * w).exp();
    }
    let along = w * target.signum();
    if along > target.abs() {
        1.0
    } else {
        (-(along - target.abs()).powi(2)).exp()
    }
}

/// `r_lvo`: `exp(-3 |v_o|^2)`, `v_o` the planar velocity orthogonal to the command (all of it
/// under a zero command).
pub fn orthogonal_velocity(cx: &RewardContext) -> f64 {
    let v = &cx.state.linear_velocity_body;
    let speed = cx.command[0].hypot(cx.command[1]);
    let (ox, oy) = if speed == 0.0 {
        (v[0], v[1])
    } else {
        let (ux, uy) = (cx.command[0] / speed, cx.command[1] / speed);
        let along = v[0] * ux + v[1] * uy;
        (v[0] - along * ux, v[1] - along * uy)
    };
    (-3.0 * (ox * ox + oy * oy)).exp()
}

/// `r_b`: `-1.25 v_z^2 - 0.4 |w_x| - 0.4 |w_y|` (base frame).
pub fn base_motion(cx: &RewardContext) -> f64 {
    let (v, w) = (
        &cx.state.linear_velocity_body,
        &cx.state.angular_velocity_body,
    );
    -1.25 * v[2] * v[2] - 0.4 * w[0].abs() - 0.4 * w[1].abs()
}

/// Clearance a swing foot needs above every height sample around it (m).
pub const FOOT_CLEARANCE: f64 = 0.2;

/// `r_fc`: the mean over swing legs of -1 for each foot that is not [`FOOT_CLEARANCE`] above
/// all its height samples (the predecessor's form; 0 when no leg swings).
pub fn foot_clearance(cx: &RewardContext) -> f64 {
    let swinging = cx.swing.iter().filter(|&&s| s).count();
    if swinging == 0 {
        return 0.0;
    }
    let blocked = (0..NUM_LEGS)
        .filter(|&l| cx.swing[l] && cx.foot_clearance[l] <= FOOT_CLEARANCE)
        .count();
    -(blocked as f64) / swinging as f64
}

/// Number of thighs and shanks touching the ground.
fn body_contacts(state: &RobotState) -> f64 {
    let count = |c: &[bool; NUM_LEGS]| c.iter().filter(|&&b| b).count();
    (count(&state.thigh_contact) + count(&state.shank_contact)) as f64
}

/// `r_j`: `-c_k sum(0.01 qd^2 + qdd^2)`.
pub fn joint_motion(cx: &RewardContext) -> f64 {
    let s = cx.state;
    let total: f64 = (0..NUM_JOINTS)
        .map(|j| 0.01 * s.joint_velocity[j].powi(2) + s.joint_acceleration[j].powi(2))
        .sum();
    -cx.curriculum * total
}

/// How close to straight a knee may come before `r_jc` counts it (rad).
pub const KNEE_THRESHOLD: f64 = 0.2;

/// `r_jc`: `-sum (q - q_th)^2` over knees bent less than [`KNEE_THRESHOLD`] in the standing
/// pose's direction (the paper leaves the threshold unstated).
pub fn joint_constraint(cx: &RewardContext) -> f64 {
    -(0..NUM_LEGS)
        .map(|leg| {
            let knee = cx.state.joint_position[leg * JOINTS_PER_LEG + 2];
            let bend = knee * cx.default_knees[leg].signum();
            if bend < KNEE_THRESHOLD {
                (bend - KNEE_THRESHOLD).powi(2)
            } else {
                0.0
            }
        })
        .sum::<f64>()
}

/// `r_s`: `-c_k sum((t_0 - t_1)^2 + (t_0 - 2 t_1 + t_2)^2)` over joint targets.
pub fn smoothness(cx: &RewardContext) -> f64 {
    let [t0, t1, t2] = cx.targets;
    let total: f64 = (0..NUM_JOINTS)
        .map(|j| (t0[j] - t1[j]).powi(2) + (t0[j] - 2.0 * t1[j] + t2[j]).powi(2))
        .sum();
    -cx.curriculum * total
}

/// `r_slip`: `-c_k sum |v_foot,xy|^2` over feet in contact.
pub fn slip(cx: &RewardContext) -> f64 {
    let s = cx.state;
    let total: f64 = (0..NUM_LEGS)
        .filter(|&l| s.foot_contact[l])
        .map(|l| s.foot_velocity[l][0].powi(2) + s.foot_velocity[l][1].powi(2))
        .sum();
    -cx.curriculum * total
}

fn tracking_linear_velocity(cx: &RewardContext) -> f64 {
    let v = &cx.state.linear_velocity_body;
    let error = (v[0] - cx.command[0]).powi(2) + (v[1] - cx.command[1]).powi(2);
    (-error / 0.25).exp()
}

fn feet_air_time(cx: &RewardContext) -> f64 {
    if cx.command[0].hypot(cx.command[1]) <= 0.1 {
        return 0.0;
    }
    let s = cx.state;
    (0..NUM_LEGS)
        .filter(|&l| s.touchdown[l])
        .map(|l| s.touchdown_air_time[l] - 0.5)
        .sum()
}

fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum()
}
