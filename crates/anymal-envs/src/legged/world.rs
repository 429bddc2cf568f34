//! The shared, read-only part of a legged environment: the compiled robot-and-terrain model
//! (in its physical variants), the robot's resolved names and leg kinematics, and the
//! heightfield's place. Every copy of the environment holds an `Arc` of one world.

use std::sync::Arc;

use mujoco_rs::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{EnvError, Result};
use crate::legged::kinematics::LegKinematics;
use crate::legged::randomization::Randomization;
use crate::legged::robot::{JOINTS_PER_LEG, NUM_LEGS, ResolvedRobot, RobotDescription};
use crate::legged::terrain::{HeightfieldMap, TERRAIN_GEOM_ATTRIBUTES, TerrainConfig, TileGrid};
use crate::mujoco::set_actuator_law;

/// One physical variant of the model (masses and foot friction).
pub struct ModelVariant {
    /// The compiled model.
    pub model: Arc<MjModel>,
    /// Each foot's friction coefficient in this variant.
    pub foot_friction: [f64; NUM_LEGS],
}

/// See the [module documentation](self).
pub struct LeggedWorld {
    /// The robot as described.
    pub description: RobotDescription,
    /// Its names as model indices.
    pub robot: ResolvedRobot,
    /// Per-leg kinematics, read from the model.
    pub legs: [LegKinematics; NUM_LEGS],
    /// The ground's configuration.
    pub terrain: TerrainConfig,
    /// The heightfield's place in the model (`None` on a plane).
    pub heightfield: Option<HeightfieldMap>,
    /// The ground geom.
    pub terrain_geom: usize,
    /// The physical variants, all of one layout (checked when built), so that a state can move
    /// between them; variant 0 is the nominal model when nothing is randomised.
    pub variants: Vec<ModelVariant>,
}

impl LeggedWorld {
    /// Compiles the robot with the ground and its variants.
    pub fn new(
        description: RobotDescription,
        terrain: TerrainConfig,
        randomization: &Randomization,
        seed: u64,
    ) -> Result<Arc<Self>> {
        randomization.validate()?;
        let robot_xml = description.xml()?;
        let (asset, geom, data) = match &terrain {
            TerrainConfig::Plane => (
                String::new(),
                format!(
                    r#"<geom name="terrain" type="plane" size="0 0 0.05" {TERRAIN_GEOM_ATTRIBUTES}/>"#
                ),
                Vec::new(),
            ),
            TerrainConfig::Tiles(grid) => grid.generate()?.to_mjcf(),
        };
        let Some(at) = robot_xml.find("<worldbody>") else {
            return Err(EnvError::Model {
                path: "<robot MJCF>".into(),
                message: "no <worldbody> element to add the terrain to".into(),
            });
        };
        // The asset goes before <worldbody>, the ground geom first inside it.
        let inside = at + "<worldbody>".len();
        let xml = format!(
            "{}{asset}<worldbody>{geom}{}",
            &robot_xml[..at],
            &robot_xml[inside..]
        );
        let mut model = MjModel::from_xml_string(&xml).map_err(|e| EnvError::Model {
            path: "<robot MJCF with terrain>".into(),
            message: e.to_string(),
        })?;
        let heightfield = match &terrain {
            TerrainConfig::Plane => None,
            TerrainConfig::Tiles(_) => {
                let map = HeightfieldMap {
                    address: model.hfield_adr()[0] as usize,
                    nrow: model.hfield_nrow()[0] as usize,
                    ncol: model.hfield_ncol()[0] as usize,
                    size: model.hfield_size()[0],
                    origin: [0.0; 3],
                };
                model.hfield_data_mut()[map.address..map.address + data.len()]
                    .copy_from_slice(&data);
                Some(map)
            }
        };
        let terrain_geom = model
            .name_to_id(MjtObjBase::mjOBJ_GEOM, "terrain")
            .expect("added above");
        let heightfield = heightfield.map(|map| HeightfieldMap {
            origin: model.geom_pos()[terrain_geom],
            ..map
        });
        let robot = description.resolve(&model)?;
        configure_actuators(&mut model, &robot, &description)?;
        let mut legs = Vec::with_capacity(NUM_LEGS);
        for (leg, leg_description) in description.legs.iter().enumerate() {
            let knee = description.default_pose[leg * JOINTS_PER_LEG + 2];
            legs.push(LegKinematics::from_model(
                &model,
                &robot,
                leg,
                leg_description,
                knee,
            )?);
        }
        let legs: [LegKinematics; NUM_LEGS] = legs.try_into().expect("four legs");
        let variants = Self::variants(model, &robot, randomization, seed)?;
        Ok(Arc::new(Self {
            description,
            robot,
            legs,
            terrain,
            heightfield,
            terrain_geom,
            variants,
        }))
    }

    fn variants(
        nominal: MjModel,
        robot: &ResolvedRobot,
        randomization: &Randomization,
        seed: u64,
    ) -> Result<Vec<ModelVariant>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_0F7A_41A7);
        let nominal_friction = robot.foot_geoms.map(|g| nominal.geom_friction()[g][0]);
        let count = if randomization.mass_scale.is_none() && randomization.friction.is_none() {
            1
        } else {
            randomization.model_variants
        };
        let robot_bodies: Vec<usize> = (1..nominal.nbody() as usize)
            .filter(|&b| nominal.body_rootid()[b] as usize == robot.base_body)
            .collect();
        let mut variants = Vec::with_capacity(count);
        for _ in 0..count {
            let mut model = nominal.clone();
            if let Some(x) = randomization.mass_scale {
                for &b in &robot_bodies {
                    let scale = rng.random_range(1.0 - x..=1.0 + x);
                    model.body_mass_mut()[b] *= scale;
                    for i in &mut model.body_inertia_mut()[b] {
                        *i *= scale;
                    }
                }
            }
            let foot_friction = randomization
                .draw_friction(&mut rng)
                .unwrap_or(nominal_friction);
            for (leg, &g) in robot.foot_geoms.iter().enumerate() {
                model.geom_friction_mut()[g][0] = foot_friction[leg];
            }
            if !model.is_compatible_with_model(&nominal) {
                return Err(EnvError::Model {
                    path: "<robot MJCF with terrain>".into(),
                    message: "a randomised copy of the model changed its layout".into(),
                });
            }
            variants.push(ModelVariant {
                model: Arc::new(model),
                foot_friction,
            });
        }
        Ok(variants)
    }

    /// Seconds per physics step.
    pub fn physics_dt(&self) -> f64 {
        self.variants[0].model.opt().timestep
    }

    /// Ground height at world `(x, y)`, from the model's own heightfield data.
    pub fn ground_height(&self, x: f64, y: f64) -> f64 {
        self.ground_height_in(0, x, y)
    }

    /// The same, read from `variant`'s copy of the data (the copy that variant's collisions
    /// read, so a scan touches the memory the physics step just touched).
    pub fn ground_height_in(&self, variant: usize, x: f64, y: f64) -> f64 {
        match &self.heightfield {
            None => 0.0,
            Some(map) => map.height(self.variants[variant].model.hfield_data(), x, y),
        }
    }

    /// The tile grid, when the ground is one.
    pub fn tiles(&self) -> Option<&TileGrid> {
        match &self.terrain {
            TerrainConfig::Tiles(grid) => Some(grid),
            TerrainConfig::Plane => None,
        }
    }
}

/// Writes the description's PD gains and torque limits into the joints' position actuators:
/// `force = kp (ctrl - q) - kd qd`, clamped to `+-limit`, computed by MuJoCo every physics step
/// and integrated implicitly.
fn configure_actuators(
    model: &mut MjModel,
    robot: &ResolvedRobot,
    description: &RobotDescription,
) -> Result<()> {
    for (j, &a) in robot.actuators.iter().enumerate() {
        let is_position = model.actuator_gaintype()[a] == MjtGain::mjGAIN_FIXED
            && model.actuator_biastype()[a] == MjtBias::mjBIAS_AFFINE
            && model.actuator_dyntype()[a] == MjtDyn::mjDYN_NONE;
        if !is_position {
            let joint = &description.legs[j / JOINTS_PER_LEG].joints[j % JOINTS_PER_LEG];
            return Err(EnvError::Parameter(format!(
                "the actuator driving joint '{joint}' must be a <position> actuator (fixed gain, \
                 affine bias, no dynamics)"
            )));
        }
        let (kp, kd) = (description.kp[j], description.kd[j]);
        set_actuator_law(model, a, kp, [0.0, -kp, -kd], description.torque_limits[j]);
    }
    Ok(())
}
