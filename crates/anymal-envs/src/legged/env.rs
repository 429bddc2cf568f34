//! The legged environment: one quadruped on its world's ground, stepped at the policy rate.
//!
//! One step, in order ([`LeggedEnv::step`]): action to joint targets (joint offsets, or CPG +
//! IK + residuals); `decimation` physics steps, each applying the PD law `kp (q* - q) - kd qd`
//! clamped to the torque limits (MuJoCo's position actuators, integrated implicitly) and the
//! current push; measure the state; advance the command, pushes and noise; observation
//! (proprio, height scans, privileged); terminations; reward terms.

use std::sync::Arc;

use mujoco_rs::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::env::{Env, Info, ObservationSpace, Step, StructuredObs, check_action};
use crate::error::{EnvError, Result};
use crate::legged::command::{Command, CommandConfig};
use crate::legged::cpg::{Cpg, CpgConfig, in_swing};
use crate::legged::height_noise::{EpisodeNoise, HeightNoise};
use crate::legged::height_scan::{ScanPattern, rotate_yaw};
use crate::legged::observation::{self, History, PhaseInfo, privileged, proprio};
use crate::legged::randomization::{PushState, Randomization, symmetric};
use crate::legged::reward::{RewardConfig, RewardContext};
use crate::legged::robot::{JOINTS_PER_LEG, NUM_JOINTS, NUM_LEGS, RobotDescription};
use crate::legged::state::RobotState;
use crate::legged::terrain::TerrainConfig;
use crate::legged::world::LeggedWorld;
use crate::mujoco::{MujocoSim, quaternion_from_euler};
use crate::space::BoxSpace;

/// How actions become joint targets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ActionSpace {
    /// 12 values: `q* = q_default + scale * a` (legged_gym: scale 0.5).
    JointTargets {
        /// Radians per unit of action.
        scale: f64,
    },
    /// 16 values: 4 phase offsets (rad per unit `phase_scale`) and 12 joint residuals (rad per
    /// unit `residual_scale`) on the CPG's inverse-kinematics targets (the paper).
    Cpg {
        /// Radians of phase per unit of action.
        phase_scale: f64,
        /// Radians of joint residual per unit of action (the predecessor: 0.2).
        residual_scale: f64,
    },
}

impl ActionSpace {
    /// legged_gym's joint targets.
    pub const JOINTS: Self = Self::JointTargets { scale: 0.5 };
    /// The paper's CPG.
    pub const CPG: Self = Self::Cpg {
        phase_scale: 1.0,
        residual_scale: 0.2,
    };

    /// Number of action values.
    pub fn dim(&self) -> usize {
        match self {
            Self::JointTargets { .. } => NUM_JOINTS,
            Self::Cpg { .. } => NUM_LEGS + NUM_JOINTS,
        }
    }
}

/// When an episode ends early.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Termination {
    /// End when the base touches the ground.
    pub base_contact: bool,
    /// End when the base tilts more than this (rad).
    pub max_tilt: Option<f64>,
    /// End when a PD demand exceeds the torque limit by this factor (the paper: 1).
    pub torque_limit_factor: Option<f64>,
}

impl Default for Termination {
    fn default() -> Self {
        Self {
            base_contact: true,
            max_tilt: Some(1.0),
            torque_limit_factor: Some(1.0),
        }
    }
}

/// The terrain curriculum: up a level when the robot walked more than half a tile from the
/// centre, down when it walked less than half the commanded distance; past the top, a random
/// level (legged_gym's rule).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Curriculum {
    /// Move between levels at all.
    pub enabled: bool,
    /// Episodes start at a level drawn from `0..=initial_max_level`.
    pub initial_max_level: usize,
}

impl Default for Curriculum {
    fn default() -> Self {
        Self {
            enabled: true,
            initial_max_level: 4,
        }
    }
}

/// Everything that defines a legged environment.
#[derive(Debug, Clone, PartialEq)]
pub struct LeggedConfig {
    /// The robot.
    pub robot: RobotDescription,
    /// The ground.
    pub terrain: TerrainConfig,
    /// How actions become joint targets.
    pub action: ActionSpace,
    /// The CPG (its phases are observed with either action space).
    pub cpg: CpgConfig,
    /// Physics steps per policy step (with the model's 5 ms: 4, i.e. 50 Hz).
    pub decimation: usize,
    /// Episode length before truncation (s).
    pub episode_seconds: f64,
    /// Commands.
    pub commands: CommandConfig,
    /// The reward.
    pub reward: RewardConfig,
    /// Terminations.
    pub termination: Termination,
    /// Domain randomisation.
    pub randomization: Randomization,
    /// The terrain curriculum.
    pub curriculum: Curriculum,
    /// Height-scan layout.
    pub scan: ScanPattern,
    /// The student's height noise; `None`: no noisy copy is computed.
    pub noise: Option<HeightNoise>,
    /// The noise curriculum factor `c`.
    pub noise_level: f64,
    /// Seed of the world (terrain noise, model variants).
    pub world_seed: u64,
}

impl Default for LeggedConfig {
    /// ANYmal C on the paper's terrain grid with the CPG, the paper's reward, legged_gym's
    /// commands, 50 Hz, 20 s episodes.
    fn default() -> Self {
        Self {
            robot: RobotDescription::anymal_c(),
            terrain: TerrainConfig::Tiles(Default::default()),
            action: ActionSpace::CPG,
            cpg: CpgConfig::default(),
            decimation: 4,
            episode_seconds: 20.0,
            commands: CommandConfig::default(),
            reward: RewardConfig::paper(),
            termination: Termination::default(),
            randomization: Randomization::default(),
            curriculum: Curriculum::default(),
            scan: ScanPattern::FootCircles,
            noise: None,
            noise_level: 0.0,
            world_seed: 0,
        }
    }
}

impl LeggedConfig {
    /// The default on flat ground (a MuJoCo plane).
    pub fn flat() -> Self {
        Self {
            terrain: TerrainConfig::Plane,
            ..Self::default()
        }
    }

    /// Checks every part.
    pub fn validate(&self) -> Result<()> {
        self.robot.validate()?;
        self.commands.validate()?;
        self.randomization.validate()?;
        if let TerrainConfig::Tiles(grid) = &self.terrain {
            grid.validate()?;
        }
        if self.decimation == 0 || self.episode_seconds.is_nan() || self.episode_seconds <= 0.0 {
            return Err(EnvError::Parameter(format!(
                "legged env: decimation ({}) must be >= 1 and episode_seconds ({}) > 0",
                self.decimation, self.episode_seconds
            )));
        }
        if let Some(noise) = &self.noise {
            noise.validate().map_err(EnvError::Parameter)?;
        }
        Ok(())
    }
}

/// See the [module documentation](self).
pub struct LeggedEnv {
    config: Arc<LeggedConfig>,
    world: Arc<LeggedWorld>,
    sim: MujocoSim,
    variant: usize,
    rng: ChaCha8Rng,
    state: RobotState,
    history: History,
    cpg: Cpg,
    phase_offsets: [f64; NUM_LEGS],
    command: Command,
    push: PushState,
    noise: Option<EpisodeNoise>,
    level: usize,
    /// The terrain type (grid column) of this copy.
    column: usize,
    start_xy: [f64; 2],
    reward_curriculum: f64,
    steps: usize,
    /// The episode's summed linear-velocity tracking error (m/s x steps).
    tracking_error_sum: f64,
    instabilities_at_reset: i32,
    needs_reset: bool,
    /// The scan pattern's offsets, repeated for each group (foot).
    scan_offsets: Vec<[f64; 2]>,
    /// The offsets of this step's noisy scan.
    noisy_offsets: Vec<[f64; 2]>,
    weighted_terms: Vec<f64>,
    obs: StructuredObs,
    time_spent: StepTime,
}

/// Seconds an environment spent in its steps, for benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepTime {
    /// MuJoCo's physics steps.
    pub physics: f64,
    /// The whole of [`LeggedEnv::step`] (measuring, observations, rewards... and physics).
    pub total: f64,
}

impl LeggedEnv {
    /// One environment with its own world.
    pub fn new(config: LeggedConfig) -> Result<Self> {
        Ok(Self::copies(config, 1)?.pop().expect("one copy"))
    }

    /// `n` copies sharing one world (model variants and terrain compiled once).
    pub fn copies(config: LeggedConfig, n: usize) -> Result<Vec<Self>> {
        config.validate()?;
        let world = LeggedWorld::new(
            config.robot.clone(),
            config.terrain.clone(),
            &config.randomization,
            config.world_seed,
        )?;
        let config = Arc::new(config);
        Ok((0..n)
            .map(|i| Self::in_world(config.clone(), world.clone(), i as u64))
            .collect())
    }

    /// A copy in an existing world; `index` seeds its generator until the first `reset(seed)`.
    pub fn in_world(config: Arc<LeggedConfig>, world: Arc<LeggedWorld>, index: u64) -> Self {
        let sim = MujocoSim::from_model(world.variants[0].model.clone());
        let mut rng = ChaCha8Rng::seed_from_u64(index);
        let max_level = world
            .tiles()
            .map_or(0, |t| config.curriculum.initial_max_level.min(t.levels - 1));
        let level = rng.random_range(0..=max_level);
        // Each copy keeps one terrain type, copy i the type i mod the number of types
        // (legged_gym's assignment), so that its level measures that type.
        let column = world.tiles().map_or(0, |t| index as usize % t.types.len());
        Self {
            cpg: Cpg::new(config.cpg),
            command: Command::draw(&config.commands, &mut rng),
            reward_curriculum: config.reward.curriculum_start,
            scan_offsets: {
                let (groups, _) = config.scan.shape();
                config.scan.offsets().repeat(groups)
            },
            config,
            world,
            sim,
            variant: 0,
            rng,
            state: RobotState::default(),
            history: History::default(),
            phase_offsets: [0.0; NUM_LEGS],
            push: PushState::default(),
            noise: None,
            level,
            column,
            start_xy: [0.0; 2],
            steps: 0,
            tracking_error_sum: 0.0,
            instabilities_at_reset: 0,
            needs_reset: true,
            noisy_offsets: Vec::new(),
            weighted_terms: Vec::new(),
            obs: StructuredObs {
                proprio: vec![0.0; proprio::DIM],
                extero: Vec::new(),
                privileged: vec![0.0; privileged::DIM],
                noisy_extero: Vec::new(),
            },
            time_spent: StepTime::default(),
        }
    }

    /// The shared world.
    pub fn world(&self) -> &Arc<LeggedWorld> {
        &self.world
    }

    /// The configuration.
    pub fn config(&self) -> &LeggedConfig {
        &self.config
    }

    /// The robot's state after the last step or reset.
    pub fn state(&self) -> &RobotState {
        &self.state
    }

    /// The current command.
    pub fn command(&self) -> [f64; 3] {
        self.command.velocity
    }

    /// Puts the robot, standing in its default pose and at rest, at `xy` facing `yaw`, at the
    /// start height above the ground there; the episode (and the curriculum's start point)
    /// restarts from here. Returns the observation. Call after `reset`.
    pub fn place(&mut self, xy: [f64; 2], yaw: f64) -> Result<StructuredObs> {
        if self.needs_reset {
            return Err(EnvError::ResetNeeded);
        }
        if !(xy.iter().all(|v| v.is_finite()) && yaw.is_finite()) {
            return Err(EnvError::Parameter(format!(
                "place: position {xy:?} and yaw {yaw} must be finite"
            )));
        }
        let default_pose = self.world.description.default_pose;
        let quat = quaternion_from_euler(0.0, 0.0, yaw);
        self.set_pose(xy, quat, default_pose, [0.0; 6], [0.0; NUM_JOINTS]);
        self.start_xy = xy;
        self.steps = 0;
        self.cpg.reset();
        self.start_measuring();
        Ok(self.write_observation())
    }

    /// Stands the robot at `xy` on the ground (at the start height) with orientation `quat`,
    /// the given joint angles, base velocity (linear world, angular body frame) and joint
    /// velocities; `mj_forward` follows.
    fn set_pose(
        &mut self,
        xy: [f64; 2],
        quat: [f64; 4],
        joint_position: [f64; NUM_JOINTS],
        base_velocity: [f64; 6],
        joint_velocity: [f64; NUM_JOINTS],
    ) {
        let robot = &self.world.robot;
        let height = self.world.ground_height(xy[0], xy[1]) + self.world.description.start_height;
        let (p, v) = (robot.root_qpos, robot.root_dof);
        let mut qpos = self.sim.qpos().to_vec();
        let mut qvel = vec![0.0; self.sim.qvel().len()];
        qpos[p..p + 3].copy_from_slice(&[xy[0], xy[1], height]);
        qpos[p + 3..p + 7].copy_from_slice(&quat);
        qvel[v..v + 6].copy_from_slice(&base_velocity);
        for j in 0..NUM_JOINTS {
            qpos[robot.joint_qpos[j]] = joint_position[j];
            qvel[robot.joint_dof[j]] = joint_velocity[j];
        }
        self.sim
            .set_state(&qpos, &qvel)
            .expect("sizes of this model");
    }

    /// The state and history at the start of an episode (nothing measured before).
    fn start_measuring(&mut self) {
        self.state = self.measure(&RobotState::default(), 0.0);
        self.history = History::steady(&self.state, self.world.description.default_pose);
    }

    /// Sets the command until the next draw (scripted commands, evaluation protocols).
    pub fn set_command(&mut self, velocity: [f64; 3]) {
        self.command = Command {
            velocity,
            heading: None,
            age: 0.0,
        };
    }

    /// The CPG's phases.
    pub fn phases(&self) -> [f64; NUM_LEGS] {
        self.cpg.phases()
    }

    /// The terrain level (row) and type (column) of the current episode.
    pub fn tile(&self) -> (usize, usize) {
        (self.level, self.column)
    }

    /// Sets the level the next reset starts on and the terrain type (column) of all later
    /// resets (evaluation grids); by default copy `i` of [`LeggedEnv::copies`] keeps type
    /// `i mod types`.
    pub fn set_tile(&mut self, level: usize, column: usize) -> Result<()> {
        let grid = self.world.tiles().ok_or_else(|| {
            EnvError::Parameter("set_tile: the ground is a plane, it has no tiles".into())
        })?;
        if level >= grid.levels || column >= grid.types.len() {
            return Err(EnvError::Parameter(format!(
                "set_tile: tile ({level}, {column}) is outside the {} x {} grid",
                grid.levels,
                grid.types.len()
            )));
        }
        self.level = level;
        self.column = column;
        Ok(())
    }

    /// Sets the noise curriculum factor `c` (the student trainer raises it over training).
    pub fn set_noise_level(&mut self, c: f64) {
        Arc::make_mut(&mut self.config).noise_level = c;
    }

    /// Seconds spent in [`LeggedEnv::step`] so far, and in its physics.
    pub fn time_spent(&self) -> StepTime {
        self.time_spent
    }

    /// The reward curriculum factor `c_k` of the current episode.
    pub fn reward_curriculum(&self) -> f64 {
        self.reward_curriculum
    }

    /// The MuJoCo data (for inspection, ray casts and rendering).
    pub fn data(&self) -> &MjData<Arc<MjModel>> {
        &self.sim.data
    }

    /// Mutable MuJoCo data (tests and tools; changing it bypasses the environment's logic).
    pub fn data_mut(&mut self) -> &mut MjData<Arc<MjModel>> {
        &mut self.sim.data
    }

    /// Joint targets for `action`, and the CPG offsets it sets.
    fn joint_targets(&mut self, action: &[f64]) -> [f64; NUM_JOINTS] {
        let description = &self.world.description;
        let bound = ACTION_BOUND;
        let a = |i: usize| action[i].clamp(-bound, bound);
        match self.config.action {
            ActionSpace::JointTargets { scale } => {
                self.phase_offsets = [0.0; NUM_LEGS];
                std::array::from_fn(|j| description.default_pose[j] + scale * a(j))
            }
            ActionSpace::Cpg {
                phase_scale,
                residual_scale,
            } => {
                self.phase_offsets = std::array::from_fn(|l| phase_scale * a(l));
                let mut targets = [0.0; NUM_JOINTS];
                for leg in 0..NUM_LEGS {
                    let phase = self.cpg.phases()[leg] + self.phase_offsets[leg];
                    let mut foot = description.legs[leg].nominal_foot;
                    foot[2] += self.cpg.foot_lift(phase);
                    let base = leg * JOINTS_PER_LEG;
                    let ik = self.world.legs[leg].inverse(foot).unwrap_or_else(|| {
                        std::array::from_fn(|j| description.default_pose[base + j])
                    });
                    for j in 0..JOINTS_PER_LEG {
                        targets[base + j] = ik[j] + residual_scale * a(NUM_LEGS + base + j);
                    }
                }
                targets
            }
        }
    }

    /// `decimation` physics steps towards `targets` (MuJoCo's position actuators apply the PD
    /// law); returns per-joint mean squared torque, the last torques and the largest ratio of
    /// the unclamped PD demand to the torque limit.
    fn simulate(
        &mut self,
        targets: &[f64; NUM_JOINTS],
    ) -> ([f64; NUM_JOINTS], [f64; NUM_JOINTS], f64) {
        let robot = &self.world.robot;
        let description = &self.world.description;
        self.sim.data.xfrc_applied_mut()[robot.base_body] = [
            self.push.force[0],
            self.push.force[1],
            self.push.force[2],
            self.push.torque[0],
            self.push.torque[1],
            self.push.torque[2],
        ];
        for (&actuator, &target) in robot.actuators.iter().zip(targets) {
            self.sim.data.ctrl_mut()[actuator] = target;
        }
        let (mut squared, mut last, mut ratio) = ([0.0; NUM_JOINTS], [0.0; NUM_JOINTS], 0.0f64);
        for _ in 0..self.config.decimation {
            for (j, target) in targets.iter().enumerate() {
                let q = self.sim.data.qpos()[robot.joint_qpos[j]];
                let qd = self.sim.data.qvel()[robot.joint_dof[j]];
                let demand = description.kp[j] * (target - q) - description.kd[j] * qd;
                ratio = ratio.max(demand.abs() / description.torque_limits[j]);
            }
            self.sim.data.step();
            for j in 0..NUM_JOINTS {
                let tau = self.sim.data.actuator_force()[robot.actuators[j]];
                squared[j] += tau * tau;
                last[j] = tau;
            }
        }
        let n = self.config.decimation as f64;
        (squared.map(|s| s / n), last, ratio)
    }

    /// How often MuJoCo has found the simulation unstable (it then resets the state itself).
    fn instability_count(&self) -> i32 {
        self.sim.data.warning()[MjtWarning::mjWARN_BADQACC as usize].number
    }

    /// Reads the simulator into a [`RobotState`]; `dt` is the time since the previous state.
    fn measure(&self, previous: &RobotState, dt: f64) -> RobotState {
        let robot = &self.world.robot;
        let d = &self.sim.data;
        let (qpos, qvel) = (d.qpos(), d.qvel());
        let r = &d.xmat()[robot.base_body];
        let to_body = |v: [f64; 3]| {
            [
                r[0] * v[0] + r[3] * v[1] + r[6] * v[2],
                r[1] * v[0] + r[4] * v[1] + r[7] * v[2],
                r[2] * v[0] + r[5] * v[1] + r[8] * v[2],
            ]
        };
        let (p, v) = (robot.root_qpos, robot.root_dof);
        let quat = &qpos[p + 3..p + 7];
        let (w, x, y, z) = (quat[0], quat[1], quat[2], quat[3]);
        let mut s = RobotState {
            base_position: [qpos[p], qpos[p + 1], qpos[p + 2]],
            yaw: (2.0 * (w * z + x * y)).atan2(1.0 - 2.0 * (y * y + z * z)),
            gravity_body: [-r[6], -r[7], -r[8]],
            linear_velocity_body: to_body([qvel[v], qvel[v + 1], qvel[v + 2]]),
            angular_velocity_body: [qvel[v + 3], qvel[v + 4], qvel[v + 5]],
            joint_position: robot.joint_qpos.map(|i| qpos[i]),
            joint_velocity: robot.joint_dof.map(|i| qvel[i]),
            foot_position: robot.foot_bodies.map(|b| d.xpos()[b]),
            foot_friction: self.world.variants[self.variant].foot_friction,
            external_force: self.push.force,
            external_torque: self.push.torque,
            ..RobotState::default()
        };
        for j in 0..NUM_JOINTS {
            s.joint_acceleration[j] = if dt > 0.0 {
                (s.joint_velocity[j] - previous.joint_velocity[j]) / dt
            } else {
                0.0
            };
        }
        for (leg, &body) in robot.foot_bodies.iter().enumerate() {
            let velocity = d.object_velocity(MjtObjBase::mjOBJ_BODY, body, false);
            s.foot_velocity[leg] = [velocity[3], velocity[4], velocity[5]];
        }
        let ground = self.world.terrain_geom;
        for (i, contact) in d.contact().iter().enumerate() {
            let (g1, g2) = (contact.geom[0] as usize, contact.geom[1] as usize);
            let (other, sign) = if g1 == ground {
                (g2, 1.0)
            } else if g2 == ground {
                (g1, -1.0)
            } else {
                continue;
            };
            if let Some(leg) = robot.foot_geoms.iter().position(|&g| g == other) {
                let f = d.contact_force(i);
                let frame = &contact.frame;
                s.foot_contact[leg] = true;
                for k in 0..3 {
                    s.foot_force[leg][k] +=
                        sign * (f[0] * frame[k] + f[1] * frame[3 + k] + f[2] * frame[6 + k]);
                    s.foot_normal[leg][k] = sign * frame[k];
                }
            } else if robot.base_geoms.contains(&other) {
                s.base_contact = true;
            } else if let Some(leg) = robot.thigh_geoms.iter().position(|g| g.contains(&other)) {
                s.thigh_contact[leg] = true;
            } else if let Some(leg) = robot.shank_geoms.iter().position(|g| g.contains(&other)) {
                s.shank_contact[leg] = true;
            }
        }
        // The air-time clock ignores a foot out of contact for a single policy step
        // (legged_gym's contact filter: contact now or at the last step), so that feet
        // chattering on the ground do not count as steps.
        for leg in 0..NUM_LEGS {
            if s.foot_contact[leg] || previous.foot_contact[leg] {
                s.touchdown[leg] = previous.air_time[leg] > 0.0;
                s.touchdown_air_time[leg] = previous.air_time[leg] + dt;
            } else {
                s.air_time[leg] = previous.air_time[leg] + dt;
            }
        }
        s
    }

    /// Fills the noiseless (and, with a noise model, the noisy) height scans.
    fn scan(&mut self) {
        let (_, per_group) = self.config.scan.shape();
        let (yaw_sin, yaw_cos) = self.state.yaw.sin_cos();
        let centres: &[[f64; 3]] = match self.config.scan {
            ScanPattern::FootCircles => &self.state.foot_position,
            ScanPattern::BaseGrid => std::slice::from_ref(&self.state.base_position),
        };
        let (world, variant) = (&self.world, self.variant);
        let sample = |offsets: &[[f64; 2]], out: &mut Vec<f32>| {
            out.clear();
            for (centre, group) in centres.iter().zip(offsets.chunks(per_group)) {
                for offset in group {
                    let [dx, dy] = rotate_yaw(*offset, yaw_cos, yaw_sin);
                    let h = world.ground_height_in(variant, centre[0] + dx, centre[1] + dy);
                    out.push((h - centre[2]) as f32);
                }
            }
        };
        sample(&self.scan_offsets, &mut self.obs.extero);
        match (&self.config.noise, &self.noise) {
            (Some(noise), Some(episode)) => {
                let level = self.config.noise_level;
                self.noisy_offsets.clone_from(&self.scan_offsets);
                noise.shift_positions(episode, level, &mut self.noisy_offsets, &mut self.rng);
                sample(&self.noisy_offsets, &mut self.obs.noisy_extero);
                noise.apply(episode, level, &mut self.obs.noisy_extero, &mut self.rng);
            }
            _ => self.obs.noisy_extero.clear(),
        }
    }

    fn write_observation(&mut self) -> StructuredObs {
        let phase = PhaseInfo {
            offsets: self.phase_offsets,
            phases: self.cpg.phases(),
            base_frequency: self.cpg.config().base_frequency,
        };
        observation::write(
            &mut self.obs,
            &self.state,
            self.command.velocity,
            &self.history,
            &phase,
        );
        self.scan();
        self.obs.clone()
    }

    /// Which terminations hold, by name.
    fn termination_checks(&self) -> [(&'static str, bool); 4] {
        let t = &self.config.termination;
        let s = &self.state;
        let finite = s
            .base_position
            .iter()
            .chain(&s.joint_velocity)
            .all(|v| v.is_finite())
            && self.instability_count() == self.instabilities_at_reset;
        [
            ("terminated/base_contact", t.base_contact && s.base_contact),
            (
                "terminated/tilt",
                t.max_tilt.is_some_and(|max| -s.gravity_body[2] < max.cos()),
            ),
            (
                "terminated/torque_limit",
                t.torque_limit_factor
                    .is_some_and(|f| s.torque_demand_ratio > f),
            ),
            ("terminated/unstable_simulation", !finite),
        ]
    }

    /// The legs in swing.
    fn swing(&self) -> [bool; NUM_LEGS] {
        match self.config.action {
            ActionSpace::Cpg { .. } => {
                std::array::from_fn(|l| in_swing(self.cpg.phases()[l] + self.phase_offsets[l]))
            }
            ActionSpace::JointTargets { .. } => self.state.foot_contact.map(|c| !c),
        }
    }

    /// Moves the episode's clocks on by one policy step: the command, pushes, the noise
    /// condition (drawn again halfway) and the CPG.
    fn advance_episode(&mut self, dt: f64) {
        self.steps += 1;
        let config = self.config.clone();
        self.command
            .update(&config.commands, self.state.yaw, dt, &mut self.rng);
        self.push
            .advance(config.randomization.push, dt, &mut self.rng);
        if let (Some(noise), Some(episode)) = (&config.noise, &mut self.noise)
            && self.steps == (config.episode_seconds / dt / 2.0).round() as usize
        {
            noise.redraw_condition(episode, &mut self.rng);
        }
        self.cpg.advance(dt);
    }

    /// The step's reward and the values to log: each weighted term (`rewards/<term>`), the
    /// command-tracking errors and the terrain level.
    fn reward(
        &mut self,
        swing: [bool; NUM_LEGS],
        extero: &[f32],
    ) -> (f64, Vec<(&'static str, f64)>) {
        let (groups, per_group) = self.config.scan.shape();
        let foot_clearance: [f64; NUM_LEGS] = std::array::from_fn(|leg| {
            let group = if groups == NUM_LEGS { leg } else { 0 };
            let samples = &extero[group * per_group..(group + 1) * per_group];
            -samples.iter().fold(f32::NEG_INFINITY, |m, &h| m.max(h)) as f64
        });
        let description = &self.world.description;
        let context = RewardContext {
            state: &self.state,
            command: self.command.velocity,
            targets: &self.history.joint_target,
            swing,
            foot_clearance,
            default_knees: std::array::from_fn(|l| {
                description.default_pose[l * JOINTS_PER_LEG + 2]
            }),
            curriculum: self.reward_curriculum,
            dt: self.dt(),
        };
        let reward_config = &self.config.reward;
        let reward = reward_config.evaluate(&context, &mut self.weighted_terms);
        let mut values: Vec<(&'static str, f64)> = reward_config
            .terms
            .iter()
            .zip(&self.weighted_terms)
            .map(|((term, _), v)| (term.name(), *v))
            .collect();
        let (v, c) = (&self.state.linear_velocity_body, self.command.velocity);
        let linear_error = (v[0] - c[0]).hypot(v[1] - c[1]);
        self.tracking_error_sum += linear_error;
        values.push(("tracking/linear_velocity_error", linear_error));
        values.push((
            "tracking/yaw_rate_error",
            (self.state.angular_velocity_body[2] - c[2]).abs(),
        ));
        values.push(("terrain_level", self.level as f64));
        values.push(("reward_curriculum", self.reward_curriculum));
        (reward, values)
    }

    /// Curriculum step at the end of an episode.
    fn update_level(&mut self) {
        let Some(grid) = self.world.tiles() else {
            return;
        };
        if !self.config.curriculum.enabled {
            return;
        }
        let walked = (self.state.base_position[0] - self.start_xy[0])
            .hypot(self.state.base_position[1] - self.start_xy[1]);
        let seconds = self.steps as f64 * self.dt();
        let commanded = self.command.velocity[0].hypot(self.command.velocity[1]) * seconds;
        if walked > grid.tile_size / 2.0 {
            self.level += 1;
            if self.level >= grid.levels {
                self.level = self.rng.random_range(0..grid.levels);
            }
        } else if walked < 0.5 * commanded {
            self.level = self.level.saturating_sub(1);
        }
    }
}

/// The terminations that ended a step, by name (`terminated/<why>`), from its info.
pub fn terminations(info: &Info) -> Vec<&'static str> {
    info.values
        .iter()
        .filter(|(name, value)| name.starts_with("terminated/") && *value == 1.0)
        .map(|(name, _)| *name)
        .collect()
}

/// A training episode succeeds when it runs to its time limit with a mean linear-velocity
/// tracking error of at most this (m/s): the flat-ground criterion of the time-to-walk benchmark.
pub const SUCCESS_TRACKING_ERROR: f64 = 0.15;

/// Actions are clipped to +-10 (legged_gym clips at 100; a tenth of that is already far outside
/// any useful joint range at the default scales).
pub const ACTION_BOUND: f64 = 10.0;

impl Env for LeggedEnv {
    type Obs = StructuredObs;

    fn reset(&mut self, seed: Option<u64>) -> (StructuredObs, Info) {
        if let Some(seed) = seed {
            self.rng = ChaCha8Rng::seed_from_u64(seed);
        }
        if self.steps > 0 {
            // The episode that ends here moves the terrain and reward curricula.
            self.update_level();
            self.reward_curriculum = self.config.reward.next_curriculum(self.reward_curriculum);
        }
        let config = self.config.clone();
        let r = &config.randomization;
        // The physical variant, the tile and the pose.
        let variant = self.rng.random_range(0..self.world.variants.len());
        if variant != self.variant {
            self.variant = variant;
            // SAFETY: LeggedWorld::new checked that every variant has variant 0's layout.
            unsafe {
                self.sim
                    .swap_model_unchecked(self.world.variants[variant].model.clone())
            };
        }
        self.sim.reset();
        let xy = match self.world.tiles() {
            Some(grid) => grid.tile_center(self.level, self.column),
            None => [0.0, 0.0],
        };
        self.start_xy = xy;
        let yaw = self
            .rng
            .random_range(-std::f64::consts::PI..std::f64::consts::PI);
        let (roll, pitch) = (
            symmetric(&mut self.rng, r.base_tilt),
            symmetric(&mut self.rng, r.base_tilt),
        );
        let base_velocity: [f64; 6] =
            std::array::from_fn(|_| symmetric(&mut self.rng, r.base_velocity));
        // Drawn joint after joint, angle then velocity.
        let (mut joint_position, mut joint_velocity) = ([0.0; NUM_JOINTS], [0.0; NUM_JOINTS]);
        for j in 0..NUM_JOINTS {
            joint_position[j] =
                self.world.description.default_pose[j] + symmetric(&mut self.rng, r.joint_position);
            joint_velocity[j] = symmetric(&mut self.rng, r.joint_velocity);
        }
        let quat = quaternion_from_euler(roll, pitch, yaw);
        self.set_pose(xy, quat, joint_position, base_velocity, joint_velocity);
        // Episode state.
        self.cpg.reset();
        self.phase_offsets = [0.0; NUM_LEGS];
        self.command = Command::draw(&config.commands, &mut self.rng);
        self.push = PushState::start(r.push, &mut self.rng);
        self.noise = config
            .noise
            .as_ref()
            .map(|n| n.start_episode(NUM_LEGS, &mut self.rng));
        self.steps = 0;
        self.tracking_error_sum = 0.0;
        self.instabilities_at_reset = self.instability_count();
        self.needs_reset = false;
        self.start_measuring();
        let info = Info {
            episode: None,
            values: vec![("terrain_level", self.level as f64)],
        };
        (self.write_observation(), info)
    }

    fn step(&mut self, action: &[f64]) -> Result<Step<StructuredObs>> {
        if self.needs_reset {
            return Err(EnvError::ResetNeeded);
        }
        check_action(action, self.config.action.dim())?;
        let started = std::time::Instant::now();
        let dt = self.dt();
        let targets = self.joint_targets(action);
        self.history.push(&self.state, targets);
        let physics_started = std::time::Instant::now();
        let (torque_squared, torques, torque_demand_ratio) = self.simulate(&targets);
        self.time_spent.physics += physics_started.elapsed().as_secs_f64();
        let previous = std::mem::take(&mut self.state);
        self.state = RobotState {
            torque_squared,
            torques,
            torque_demand_ratio,
            ..self.measure(&previous, dt)
        };
        // The swing legs of the phases this action used; then the next step's phases.
        let swing = self.swing();
        self.advance_episode(dt);
        let obs = self.write_observation();
        let terminations = self.termination_checks();
        let terminated = terminations.iter().any(|(_, t)| *t);
        let truncated = self.steps as f64 * dt >= self.config.episode_seconds - 1e-9;
        let (reward, mut values) = self.reward(swing, &obs.extero);
        self.needs_reset = terminated || truncated;
        self.time_spent.total += started.elapsed().as_secs_f64();
        if self.needs_reset {
            // Reported once per episode, so that their means over steps are shares of episodes.
            values.extend(
                terminations
                    .iter()
                    .map(|(name, t)| (*name, f64::from(u8::from(*t)))),
            );
            let mean_error = self.tracking_error_sum / self.steps as f64;
            let success = f64::from(u8::from(
                !terminated && mean_error <= SUCCESS_TRACKING_ERROR,
            ));
            values.push(("episode/success", success));
            if let Some(grid) = self.world.tiles() {
                let (level_key, success_key) = grid.types[self.column].log_keys();
                values.push((level_key, self.level as f64));
                values.push((success_key, success));
            }
        }
        Ok(Step {
            obs,
            reward,
            terminated,
            truncated,
            info: Info {
                episode: None,
                values,
            },
        })
    }

    fn observation_space(&self) -> ObservationSpace {
        let (groups, per_group) = self.config.scan.shape();
        ObservationSpace::Structured {
            proprio_dim: proprio::DIM,
            extero_dim: per_group,
            num_legs: groups,
            privileged_dim: privileged::DIM,
        }
    }

    fn action_space(&self) -> BoxSpace {
        BoxSpace::uniform(self.config.action.dim(), -ACTION_BOUND, ACTION_BOUND)
            .expect("ACTION_BOUND >= 0")
    }

    fn dt(&self) -> f64 {
        self.world.physics_dt() * self.config.decimation as f64
    }
    fn sim(&self) -> Option<&MujocoSim> {
        Some(&self.sim)
    }
}
