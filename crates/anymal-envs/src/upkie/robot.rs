//! The bundled Upkie-like model (`assets/upkie.xml`) and where its joints live in MuJoCo's
//! arrays.

use mujoco_rs::prelude::*;

use crate::error::{EnvError, Result};

/// The model, written from upkie_description's published values.
pub const UPKIE_XML: &str = include_str!("../../../../assets/upkie.xml");

/// The two sides, left then right.
pub const SIDES: [&str; 2] = ["left", "right"];

/// Indices of the robot's parts in a compiled model.
#[derive(Debug, Clone, PartialEq)]
pub struct UpkieJoints {
    /// The base body.
    pub base: usize,
    /// `qpos` address of the free joint.
    pub root_qpos: usize,
    /// `qvel` address of the free joint.
    pub root_dof: usize,
    /// `qpos` of hip and knee, per side.
    pub leg_qpos: [[usize; 2]; 2],
    /// `qvel` of hip and knee, per side.
    pub leg_dof: [[usize; 2]; 2],
    /// Hip and knee actuators, per side.
    pub leg_actuators: [[usize; 2]; 2],
    /// `qvel` of each wheel joint.
    pub wheel_dof: [usize; 2],
    /// The wheels' velocity actuators.
    pub wheel_actuators: [usize; 2],
    /// The wheel bodies (their origins are the axles).
    pub wheel_bodies: [usize; 2],
    /// The tire geoms.
    pub tires: [usize; 2],
    /// The floor geom.
    pub floor: usize,
}

impl UpkieJoints {
    /// Looks the parts up by name; an error names the first one missing.
    pub fn resolve(model: &MjModel) -> Result<Self> {
        let find = |kind: MjtObjBase, name: &str| {
            model.name_to_id(kind, name).ok_or_else(|| {
                EnvError::Parameter(format!("the Upkie model has no {kind:?} named '{name}'"))
            })
        };
        let joint = |name: &str| find(MjtObjBase::mjOBJ_JOINT, name);
        let actuator = |name: &str| find(MjtObjBase::mjOBJ_ACTUATOR, name);
        let qpos = |j: usize| model.jnt_qposadr()[j] as usize;
        let dof = |j: usize| model.jnt_dofadr()[j] as usize;
        let root = joint("root")?;
        let mut leg_joints = [[0usize; 2]; 2];
        let mut leg_actuators = [[0usize; 2]; 2];
        let mut wheels = [0usize; 2];
        let mut wheel_actuators = [0usize; 2];
        let mut tires = [0usize; 2];
        let mut wheel_bodies = [0usize; 2];
        for (s, side) in SIDES.iter().enumerate() {
            for (k, part) in ["hip", "knee"].iter().enumerate() {
                leg_joints[s][k] = joint(&format!("{side}_{part}"))?;
                leg_actuators[s][k] = actuator(&format!("{side}_{part}"))?;
            }
            wheels[s] = joint(&format!("{side}_wheel"))?;
            wheel_actuators[s] = actuator(&format!("{side}_wheel"))?;
            tires[s] = find(MjtObjBase::mjOBJ_GEOM, &format!("{side}_tire"))?;
            wheel_bodies[s] = find(MjtObjBase::mjOBJ_BODY, &format!("{side}_wheel"))?;
        }
        Ok(Self {
            base: find(MjtObjBase::mjOBJ_BODY, "base")?,
            root_qpos: qpos(root),
            root_dof: dof(root),
            leg_qpos: leg_joints.map(|s| s.map(qpos)),
            leg_dof: leg_joints.map(|s| s.map(dof)),
            leg_actuators,
            wheel_dof: wheels.map(dof),
            wheel_actuators,
            wheel_bodies,
            tires,
            floor: find(MjtObjBase::mjOBJ_GEOM, "floor")?,
        })
    }
}
