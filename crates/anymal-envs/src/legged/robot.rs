//! A quadruped described by data: which MJCF, which joints and bodies, its standing pose, PD
//! gains, torque limits and nominal feet. [`RobotDescription::anymal_c`] describes the bundled
//! `assets/anymal_c.xml`; another quadruped plugs in by giving its own description (the leg
//! geometry that the inverse kinematics needs is read from the model, not from here).
//!
//! [`RobotDescription::resolve`] looks every name up in a compiled model and says which ones are
//! missing.

use std::path::PathBuf;

use mujoco_rs::prelude::*;

use crate::error::{EnvError, Result};

/// Number of legs.
pub const NUM_LEGS: usize = 4;
/// Joints per leg: hip abduction/adduction (HAA, about x), hip flexion/extension (HFE, about y),
/// knee flexion/extension (KFE, about y).
pub const JOINTS_PER_LEG: usize = 3;
/// Number of actuated joints.
pub const NUM_JOINTS: usize = NUM_LEGS * JOINTS_PER_LEG;

/// Where a robot's MJCF comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSource {
    /// A file on disk.
    File(PathBuf),
    /// MJCF text in memory (the bundled model, or a model built by a program).
    Xml(String),
}

/// One leg's names in the MJCF.
#[derive(Debug, Clone, PartialEq)]
pub struct LegDescription {
    /// Short name, e.g. `LF` (left front).
    pub name: String,
    /// The HAA, HFE and KFE joints, in this order.
    pub joints: [String; JOINTS_PER_LEG],
    /// The body the HAA joint moves (the hip).
    pub hip_body: String,
    /// The body the HFE joint moves.
    pub thigh_body: String,
    /// The body the KFE joint moves.
    pub shank_body: String,
    /// The foot body; its single geom is the foot's collision sphere.
    pub foot_body: String,
    /// Nominal foot position in the base frame (m): the CPG's stance point.
    pub nominal_foot: [f64; 3],
}

/// A quadruped for the legged environment. Joint arrays are in leg order, HAA, HFE, KFE per leg.
#[derive(Debug, Clone, PartialEq)]
pub struct RobotDescription {
    /// The MJCF (robot only; the environment adds the terrain).
    pub model: ModelSource,
    /// The floating base body.
    pub base_body: String,
    /// The four legs: left front, right front, left hind, right hind.
    pub legs: [LegDescription; NUM_LEGS],
    /// Standing joint angles (rad).
    pub default_pose: [f64; NUM_JOINTS],
    /// Base height at which an episode starts (m above the terrain under the base).
    pub start_height: f64,
    /// Proportional gain of the joint PD law (N m / rad).
    pub kp: [f64; NUM_JOINTS],
    /// Derivative gain (N m s / rad).
    pub kd: [f64; NUM_JOINTS],
    /// Largest torque each motor gives (N m).
    pub torque_limits: [f64; NUM_JOINTS],
}

/// The bundled ANYmal-C-class model (see `assets/anymal_c.xml`).
pub const ANYMAL_C_XML: &str = include_str!("../../../../assets/anymal_c.xml");

impl RobotDescription {
    /// The bundled ANYmal C: legged_gym's standing pose (HFE +-0.4, KFE -+0.8), ANYmal C's
    /// 80 N m torque limit, nominal feet under the hips at the standing height, and PD gains
    /// kp 200, kd 4. legged_gym's kp 80 / kd 2 stand in for an actuator network there; with a
    /// plain PD law and the CPG's zero action they let the base sag 0.13 m and the feet lift
    /// only 0.08 of the 0.2 m clearance (measured: kp 150 sags 0.08 m and lifts 0.14 m; kp 200
    /// 0.07 / 0.15; kp 300 0.05 / 0.15, with less margin for the explicit PD law at 5 ms).
    pub fn anymal_c() -> Self {
        let leg = |name: &str, x: f64, y: f64| LegDescription {
            name: name.into(),
            joints: ["HAA", "HFE", "KFE"].map(|j| format!("{name}_{j}")),
            hip_body: format!("{name}_HIP"),
            thigh_body: format!("{name}_THIGH"),
            shank_body: format!("{name}_SHANK"),
            foot_body: format!("{name}_FOOT"),
            nominal_foot: [x, y, -0.52],
        };
        let (hfe, kfe) = (0.4, 0.8);
        Self {
            model: ModelSource::Xml(ANYMAL_C_XML.into()),
            base_body: "base".into(),
            legs: [
                leg("LF", 0.44, 0.25),
                leg("RF", 0.44, -0.25),
                leg("LH", -0.44, 0.25),
                leg("RH", -0.44, -0.25),
            ],
            default_pose: [
                0.0, hfe, -kfe, 0.0, hfe, -kfe, 0.0, -hfe, kfe, 0.0, -hfe, kfe,
            ],
            start_height: 0.58,
            kp: [200.0; NUM_JOINTS],
            kd: [4.0; NUM_JOINTS],
            torque_limits: [80.0; NUM_JOINTS],
        }
    }

    /// The MJCF text.
    pub fn xml(&self) -> Result<String> {
        match &self.model {
            ModelSource::Xml(xml) => Ok(xml.clone()),
            ModelSource::File(path) => std::fs::read_to_string(path).map_err(|e| EnvError::Model {
                path: path.clone(),
                message: e.to_string(),
            }),
        }
    }

    /// Checks the numbers: finite, gains and limits positive.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, values: &[f64], positive: bool| {
            values
                .iter()
                .position(|v| !v.is_finite() || (positive && *v <= 0.0))
                .map(|i| {
                    EnvError::Parameter(format!(
                        "robot description: {what}[{i}] = {} must be finite{}",
                        values[i],
                        if positive { " and > 0" } else { "" }
                    ))
                })
        };
        let checks = [
            bad("default_pose", &self.default_pose, false),
            bad("kp", &self.kp, true),
            bad("kd", &self.kd, false),
            bad("torque_limits", &self.torque_limits, true),
            bad("start_height", &[self.start_height], true),
        ];
        match checks.into_iter().flatten().next() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Looks every name up in `model`; an error lists all names that are missing or of the
    /// wrong kind.
    pub fn resolve(&self, model: &MjModel) -> Result<ResolvedRobot> {
        self.validate()?;
        let mut missing = Vec::new();
        let mut body = |name: &str| match model.name_to_id(MjtObjBase::mjOBJ_BODY, name) {
            Some(id) => id,
            None => {
                missing.push(format!("body '{name}'"));
                0
            }
        };
        let base = body(&self.base_body);
        let legs = self.legs.each_ref().map(|leg| {
            [
                &leg.hip_body,
                &leg.thigh_body,
                &leg.shank_body,
                &leg.foot_body,
            ]
            .map(|b| body(b))
        });
        let mut joint_ids = [0usize; NUM_JOINTS];
        for (leg_index, leg) in self.legs.iter().enumerate() {
            for (j, name) in leg.joints.iter().enumerate() {
                match model.name_to_id(MjtObjBase::mjOBJ_JOINT, name) {
                    Some(id) => joint_ids[leg_index * JOINTS_PER_LEG + j] = id,
                    None => missing.push(format!("joint '{name}'")),
                }
            }
        }
        if !missing.is_empty() {
            return Err(EnvError::Parameter(format!(
                "the robot's model lacks {}",
                missing.join(", ")
            )));
        }
        let jnt_type = model.jnt_type();
        let root_joint = (0..model.njnt() as usize)
            .find(|&j| jnt_type[j] == MjtJoint::mjJNT_FREE)
            .filter(|&j| model.jnt_bodyid()[j] as usize == base)
            .ok_or_else(|| {
                EnvError::Parameter(format!(
                    "the robot's base body '{}' has no free joint",
                    self.base_body
                ))
            })?;
        let mut qpos = [0usize; NUM_JOINTS];
        let mut dof = [0usize; NUM_JOINTS];
        let mut actuators = [0usize; NUM_JOINTS];
        for (i, &joint) in joint_ids.iter().enumerate() {
            let name = &self.legs[i / JOINTS_PER_LEG].joints[i % JOINTS_PER_LEG];
            if jnt_type[joint] != MjtJoint::mjJNT_HINGE {
                return Err(EnvError::Parameter(format!(
                    "joint '{name}' is not a hinge"
                )));
            }
            qpos[i] = model.jnt_qposadr()[joint] as usize;
            dof[i] = model.jnt_dofadr()[joint] as usize;
            actuators[i] = (0..model.nu() as usize)
                .find(|&a| {
                    model.actuator_trntype()[a] == MjtTrn::mjTRN_JOINT
                        && model.actuator_trnid()[a][0] as usize == joint
                })
                .ok_or_else(|| {
                    EnvError::Parameter(format!("joint '{name}' has no actuator driving it"))
                })?;
        }
        let geom_of = |body_id: usize| -> Vec<usize> {
            (0..model.ngeom() as usize)
                .filter(|&g| model.geom_bodyid()[g] as usize == body_id)
                .filter(|&g| model.geom_contype()[g] != 0 || model.geom_conaffinity()[g] != 0)
                .collect()
        };
        let foot_geoms = legs.map(|[_, _, _, foot]| geom_of(foot));
        let foot_geoms = {
            let mut out = [0usize; NUM_LEGS];
            for (i, geoms) in foot_geoms.iter().enumerate() {
                match geoms.as_slice() {
                    [g] if model.geom_type()[*g] == MjtGeomBase::mjGEOM_SPHERE => out[i] = *g,
                    _ => {
                        return Err(EnvError::Parameter(format!(
                            "foot body '{}' must hold exactly one colliding sphere geom",
                            self.legs[i].foot_body
                        )));
                    }
                }
            }
            out
        };
        Ok(ResolvedRobot {
            base_body: base,
            root_qpos: model.jnt_qposadr()[root_joint] as usize,
            root_dof: model.jnt_dofadr()[root_joint] as usize,
            hip_bodies: legs.map(|l| l[0]),
            thigh_bodies: legs.map(|l| l[1]),
            shank_bodies: legs.map(|l| l[2]),
            foot_bodies: legs.map(|l| l[3]),
            foot_geoms,
            foot_radius: foot_geoms.map(|g| model.geom_size()[g][0]),
            base_geoms: geom_of(base),
            thigh_geoms: legs.map(|l| geom_of(l[1])),
            shank_geoms: legs.map(|l| geom_of(l[2])),
            joints: joint_ids,
            joint_qpos: qpos,
            joint_dof: dof,
            actuators,
        })
    }
}

/// A [`RobotDescription`]'s names as indices into one compiled model.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedRobot {
    /// Base body id.
    pub base_body: usize,
    /// Address of the free joint in `qpos` (position 3, quaternion 4).
    pub root_qpos: usize,
    /// Address of the free joint in `qvel` (linear 3 in the world frame, angular 3 in the body
    /// frame).
    pub root_dof: usize,
    /// Hip body ids, per leg.
    pub hip_bodies: [usize; NUM_LEGS],
    /// Thigh body ids.
    pub thigh_bodies: [usize; NUM_LEGS],
    /// Shank body ids.
    pub shank_bodies: [usize; NUM_LEGS],
    /// Foot body ids.
    pub foot_bodies: [usize; NUM_LEGS],
    /// Foot sphere geom ids.
    pub foot_geoms: [usize; NUM_LEGS],
    /// Foot sphere radii.
    pub foot_radius: [f64; NUM_LEGS],
    /// Colliding geoms of the base.
    pub base_geoms: Vec<usize>,
    /// Colliding geoms of each thigh.
    pub thigh_geoms: [Vec<usize>; NUM_LEGS],
    /// Colliding geoms of each shank.
    pub shank_geoms: [Vec<usize>; NUM_LEGS],
    /// Joint ids, in the description's order.
    pub joints: [usize; NUM_JOINTS],
    /// Address of each actuated joint in `qpos`.
    pub joint_qpos: [usize; NUM_JOINTS],
    /// Address of each actuated joint in `qvel`.
    pub joint_dof: [usize; NUM_JOINTS],
    /// The motor driving each joint.
    pub actuators: [usize; NUM_JOINTS],
}
