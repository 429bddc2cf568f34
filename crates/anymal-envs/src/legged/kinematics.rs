//! Analytic forward and inverse kinematics of a 3-DoF leg: HAA about x, then HFE and KFE about
//! y, each joint at the origin of the body it moves (the layout of ANYmal and most quadrupeds).
//! The link offsets are read from the compiled model, so a robot with other leg lengths needs
//! no code change.
//!
//! In the HAA frame, the two pitch joints only rotate the sagittal (x, z) coordinates, so the
//! lateral offset `d` of the foot is constant. Writing sagittal vectors as complex numbers
//! `w = z + i x`, a rotation by `q` about y is a multiplication by `exp(i q)`, which turns the
//! two-link problem into one cosine law. This is hand-written: no maintained crate solves this
//! closed form.

use mujoco_rs::prelude::*;

use crate::error::{EnvError, Result};
use crate::legged::robot::{JOINTS_PER_LEG, LegDescription, ResolvedRobot};

/// One leg's link offsets (from the model) and its knee branch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LegKinematics {
    /// HAA joint (hip body origin) in the base frame.
    pub hip: [f64; 3],
    /// HFE joint in the hip frame.
    pub thigh: [f64; 3],
    /// KFE joint in the thigh frame.
    pub shank: [f64; 3],
    /// Foot centre in the shank frame.
    pub foot: [f64; 3],
    /// Knee angle of the standing pose: of the two knee solutions, IK returns the nearer.
    pub default_knee: f64,
}

#[derive(Clone, Copy)]
struct Complex(f64, f64);

impl Complex {
    fn from_sagittal(v: [f64; 3]) -> Self {
        Self(v[2], v[0])
    }
    fn mul(self, o: Self) -> Self {
        Self(self.0 * o.0 - self.1 * o.1, self.0 * o.1 + self.1 * o.0)
    }
    fn add(self, o: Self) -> Self {
        Self(self.0 + o.0, self.1 + o.1)
    }
    fn rotation(q: f64) -> Self {
        Self(q.cos(), q.sin())
    }
    fn arg(self) -> f64 {
        self.1.atan2(self.0)
    }
    fn norm2(self) -> f64 {
        self.0 * self.0 + self.1 * self.1
    }
    fn conj(self) -> Self {
        Self(self.0, -self.1)
    }
}

impl LegKinematics {
    /// Reads the leg's offsets from `model` and checks the joint layout this solver assumes.
    pub fn from_model(
        model: &MjModel,
        robot: &ResolvedRobot,
        leg: usize,
        description: &LegDescription,
        default_knee: f64,
    ) -> Result<Self> {
        let body_pos = model.body_pos();
        let expected_axes = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]];
        for (j, axis) in expected_axes.iter().enumerate() {
            let name = &description.joints[j];
            let id = robot.joints[leg * JOINTS_PER_LEG + j];
            let (a, p) = (model.jnt_axis()[id], model.jnt_pos()[id]);
            let axis_ok = a.iter().zip(axis).all(|(x, y)| (x - y).abs() < 1e-9);
            let pos_ok = p.iter().all(|x| x.abs() < 1e-9);
            if !axis_ok || !pos_ok {
                return Err(EnvError::Parameter(format!(
                    "joint '{name}': the leg kinematics need axis {axis:?} at its body's origin, \
                     the model has axis {a:?} at {p:?}"
                )));
            }
        }
        Ok(Self {
            hip: body_pos[robot.hip_bodies[leg]],
            thigh: body_pos[robot.thigh_bodies[leg]],
            shank: body_pos[robot.shank_bodies[leg]],
            foot: body_pos[robot.foot_bodies[leg]],
            default_knee,
        })
    }

    /// Foot position in the base frame for joint angles `q = [haa, hfe, kfe]`.
    pub fn forward(&self, q: [f64; 3]) -> [f64; 3] {
        let upper = Complex::from_sagittal(self.shank).mul(Complex::rotation(q[1]));
        let lower = Complex::from_sagittal(self.foot).mul(Complex::rotation(q[1] + q[2]));
        let sagittal = upper.add(lower);
        // In the HAA frame: x and z from the pitch chain, y constant.
        let local = [
            self.thigh[0] + sagittal.1,
            self.lateral_offset(),
            self.thigh[2] + sagittal.0,
        ];
        let (s, c) = q[0].sin_cos();
        [
            self.hip[0] + local[0],
            self.hip[1] + c * local[1] - s * local[2],
            self.hip[2] + s * local[1] + c * local[2],
        ]
    }

    /// Joint angles that put the foot at `target` (base frame), or `None` when it is out of
    /// reach.
    pub fn inverse(&self, target: [f64; 3]) -> Option<[f64; 3]> {
        let t = [
            target[0] - self.hip[0],
            target[1] - self.hip[1],
            target[2] - self.hip[2],
        ];
        // HAA: in the HAA frame the foot sits at (y, z) = (d, zl) with zl < 0.
        let d = self.lateral_offset();
        let r2 = t[1] * t[1] + t[2] * t[2] - d * d;
        if r2 < 0.0 {
            return None;
        }
        let zl = -r2.sqrt();
        let haa = t[2].atan2(t[1]) - zl.atan2(d);
        // Sagittal two-link problem, from the HFE joint.
        let goal = Complex(zl - self.thigh[2], t[0] - self.thigh[0]);
        let (w1, w2) = (
            Complex::from_sagittal(self.shank),
            Complex::from_sagittal(self.foot),
        );
        let cross = w1.conj().mul(w2);
        let rho = cross.norm2().sqrt();
        let cosine = (goal.norm2() - w1.norm2() - w2.norm2()) / (2.0 * rho);
        if !(-1.0..=1.0).contains(&cosine) {
            return None;
        }
        let branches = [cosine.acos(), -cosine.acos()].map(|a| wrap(a - cross.arg()));
        let distance = |q: f64| wrap(q - self.default_knee).abs();
        let kfe = if distance(branches[0]) <= distance(branches[1]) {
            branches[0]
        } else {
            branches[1]
        };
        let reached = w1.add(w2.mul(Complex::rotation(kfe)));
        let hfe = wrap(goal.arg() - reached.arg());
        Some([wrap(haa), hfe, kfe])
    }

    fn lateral_offset(&self) -> f64 {
        self.thigh[1] + self.shank[1] + self.foot[1]
    }
}

/// An angle in (-pi, pi].
fn wrap(angle: f64) -> f64 {
    let two_pi = std::f64::consts::TAU;
    let a = angle.rem_euclid(two_pi);
    if a > std::f64::consts::PI {
        a - two_pi
    } else {
        a
    }
}
