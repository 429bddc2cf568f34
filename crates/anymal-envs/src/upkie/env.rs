//! `UpkieGroundVelocity`: balance a wheeled biped by commanding its ground velocity.
//!
//! - Observation `[pitch (rad, + leaning forward), ground position (m), pitch rate (rad/s, base
//!   frame), ground velocity (m/s)]`, bounds `+-[pi, inf, 1000, 2]`; position and velocity from
//!   [`WheelOdometry`].
//! - Action: the commanded ground velocity (m/s) in `+-max_ground_velocity`, rate-limited and
//!   clamped ([`VelocityCommand`]); the legs hold the joint angles read at reset.
//! - 200 Hz: each step runs `physics_steps` MuJoCo steps of 1 ms.
//! - Terminated when `|pitch| > max_pitch` (1 rad); never truncated (add a `TimeLimit`).
//! - Reset: the base at (0, 0, `reset_height`) m (upstream: 0.6, the tires 4 cm above the
//!   floor), level, at rest, joints at 0, plus the optional uniform
//!   [`ResetNoise`]; the limiter keeps its state across resets, as upstream's.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::env::{Env, Info, ObservationSpace, Step, check_action};
use crate::error::{EnvError, Result};
use crate::mujoco::{MujocoSim, quaternion_from_euler, set_actuator_law};
use crate::space::BoxSpace;
use crate::upkie::odometry::WheelOdometry;
use crate::upkie::reward::UpkieReward;
use crate::upkie::robot::{UPKIE_XML, UpkieJoints};
use crate::upkie::velocity_command::VelocityCommand;
use crate::wrappers::TimeLimit;

/// Half-widths of the uniform reset noise (0: none), upstream's options.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ResetNoise {
    /// Pitch (rad).
    pub pitch: f64,
    /// Roll (rad).
    pub roll: f64,
    /// Base x position (m).
    pub x: f64,
    /// Base height above the nominal reset height, drawn in `[0, z]` (m).
    pub z: f64,
    /// Forward velocity, base frame (m/s).
    pub v_x: f64,
    /// Vertical velocity, base frame (m/s).
    pub v_z: f64,
    /// Roll rate, base frame (rad/s).
    pub omega_x: f64,
    /// Pitch rate, base frame (rad/s).
    pub omega_y: f64,
}

/// Settings of the ground-velocity env.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpkieConfig {
    /// MuJoCo steps (1 ms) per env step; 5 gives upstream's 200 Hz.
    pub physics_steps: usize,
    /// Leg PD gains (N m / rad, N m s / rad) and torque limit (N m).
    pub leg_kp: f64,
    /// See `leg_kp`.
    pub leg_kd: f64,
    /// See `leg_kp`.
    pub leg_torque_limit: f64,
    /// Wheel velocity gain (N m s / rad) and torque limit (N m).
    pub wheel_kd: f64,
    /// See `wheel_kd`.
    pub wheel_torque_limit: f64,
    /// Largest commanded ground velocity (m/s).
    pub max_ground_velocity: f64,
    /// Largest commanded ground acceleration (m/s^2).
    pub max_ground_acceleration: f64,
    /// Terminate beyond this |pitch| (rad).
    pub max_pitch: f64,
    /// The reward.
    pub reward: UpkieReward,
    /// Initial-state noise.
    pub reset_noise: ResetNoise,
    /// The base's height at reset (m); upstream's 0.6 drops the robot 4 cm, and
    /// [`UPKIE_STANDING_HEIGHT`] puts the tires on the floor.
    pub reset_height: f64,
}

/// The base's height with straight legs and the tires touching the floor (m): axle 0.507 m
/// below the base, tire radius 0.05 m.
pub const UPKIE_STANDING_HEIGHT: f64 = 0.557;

impl UpkieConfig {
    /// `UpkieGroundVelocity-v1` as registered: 200 Hz, kp 20, kd 1, survival reward, no noise.
    pub fn v1() -> Self {
        Self {
            physics_steps: 5,
            leg_kp: 20.0,
            leg_kd: 1.0,
            leg_torque_limit: 8.42,
            wheel_kd: 1.0,
            wheel_torque_limit: 1.0,
            max_ground_velocity: 1.0,
            max_ground_acceleration: 10.0,
            max_pitch: 1.0,
            reward: UpkieReward::Survival,
            reset_noise: ResetNoise::default(),
            reset_height: 0.6,
        }
    }

    /// The PPO balancer's training env at the tutorial's pin: its reward, wheel damping kd 0.2,
    /// initial-state noise pitch 0.1 rad, v_x 1 m/s, omega_y 2 rad/s (use with a 2000-step
    /// `TimeLimit`: [`make_ppo_balancer_env`]).
    pub fn ppo_balancer() -> Self {
        Self {
            wheel_kd: 0.2,
            reward: UpkieReward::Balancer,
            reset_noise: ResetNoise {
                pitch: 0.1,
                v_x: 1.0,
                omega_y: 2.0,
                ..ResetNoise::default()
            },
            ..Self::v1()
        }
    }

    /// The env upstream's shipped PPO policy (`policy/params.zip`, August 2023: 501,760 steps,
    /// `ep_len_mean` 2000) was trained in, from its `params.yaml` and the `train.py` and
    /// `config.gin` of its time: v1 with the ground velocity clamped at 2 m/s and its rate at
    /// 20 m/s^2 (the action space follows the clamp, as in that env), wheel damping kd 1 (not
    /// the later 0.2), its [`UpkieReward::Standing`], and **no initial-state noise**: every
    /// episode starts from the same state (use with [`make_balancer_env`] and gamma 0.99, its
    /// 0.5 s horizon).
    pub fn shipped_policy() -> Self {
        Self {
            max_ground_velocity: 2.0,
            max_ground_acceleration: 20.0,
            reward: UpkieReward::Standing,
            ..Self::v1()
        }
    }
}

/// Steps per episode of the PPO balancer (10 s at 200 Hz).
pub const BALANCER_EPISODE_STEPS: usize = 2000;

/// An env of `config` with the PPO balancer's 2000-step time limit.
pub fn make_balancer_env(config: UpkieConfig) -> Result<TimeLimit<UpkieGroundVelocity>> {
    Ok(TimeLimit::new(
        UpkieGroundVelocity::new(config)?,
        BALANCER_EPISODE_STEPS,
    ))
}

/// The PPO balancer's env: [`UpkieConfig::ppo_balancer`] with its 2000-step time limit.
pub fn make_ppo_balancer_env() -> Result<TimeLimit<UpkieGroundVelocity>> {
    make_balancer_env(UpkieConfig::ppo_balancer())
}

/// See the [module documentation](self).
pub struct UpkieGroundVelocity {
    config: UpkieConfig,
    sim: MujocoSim,
    joints: UpkieJoints,
    command: VelocityCommand,
    odometry: WheelOdometry,
    rng: ChaCha8Rng,
    needs_reset: bool,
}

impl UpkieGroundVelocity {
    /// The env with the bundled model; gains and limits from `config`.
    pub fn new(config: UpkieConfig) -> Result<Self> {
        let positive = [
            ("physics_steps", config.physics_steps as f64),
            ("leg_torque_limit", config.leg_torque_limit),
            ("wheel_torque_limit", config.wheel_torque_limit),
            ("max_ground_velocity", config.max_ground_velocity),
            ("max_ground_acceleration", config.max_ground_acceleration),
            ("max_pitch", config.max_pitch),
            ("reset_height", config.reset_height),
        ];
        if let Some((name, v)) = positive.iter().find(|(_, v)| v.is_nan() || *v <= 0.0) {
            return Err(EnvError::Parameter(format!(
                "UpkieConfig: {name} must be > 0, got {v}"
            )));
        }
        let mut model = MujocoSim::compile_xml_string(UPKIE_XML)?;
        let joints = UpkieJoints::resolve(&model)?;
        let model_mut = std::sync::Arc::get_mut(&mut model).expect("just compiled, not shared");
        let (kp, kd) = (config.leg_kp, config.leg_kd);
        for side in 0..2 {
            for &a in &joints.leg_actuators[side] {
                set_actuator_law(model_mut, a, kp, [0.0, -kp, -kd], config.leg_torque_limit);
            }
            let wheel_kd = config.wheel_kd;
            set_actuator_law(
                model_mut,
                joints.wheel_actuators[side],
                wheel_kd,
                [0.0, 0.0, -wheel_kd],
                config.wheel_torque_limit,
            );
        }
        Ok(Self {
            command: VelocityCommand::new(
                config.max_ground_velocity,
                config.max_ground_acceleration,
            ),
            config,
            sim: MujocoSim::from_model(model),
            joints,
            odometry: WheelOdometry::default(),
            rng: ChaCha8Rng::seed_from_u64(0),
            needs_reset: true,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &UpkieConfig {
        &self.config
    }

    /// The simulation (for tests and inspection).
    pub fn sim(&self) -> &MujocoSim {
        &self.sim
    }

    /// The joint indices.
    pub fn joints(&self) -> &UpkieJoints {
        &self.joints
    }

    /// The rate limiter's last output (m/s).
    pub fn commanded_velocity(&self) -> f64 {
        self.command.output
    }

    /// The observation `[pitch, ground position, pitch rate, ground velocity]`.
    pub fn observation(&self) -> [f64; 4] {
        let d = &self.sim.data;
        let r = &d.xmat()[self.joints.base];
        let pitch = r[2].atan2(r[8]);
        let pitch_rate = d.qvel()[self.joints.root_dof + 4];
        [
            pitch,
            self.odometry.position,
            pitch_rate,
            self.odometry.velocity,
        ]
    }

    /// Which wheels touch the floor.
    pub fn wheels_on_ground(&self) -> [bool; 2] {
        let mut on = [false; 2];
        for c in self.sim.data.contact() {
            let (a, b) = (c.geom[0] as usize, c.geom[1] as usize);
            for (side, &tire) in self.joints.tires.iter().enumerate() {
                if (a == tire && b == self.joints.floor) || (b == tire && a == self.joints.floor) {
                    on[side] = true;
                }
            }
        }
        on
    }
}

impl Env for UpkieGroundVelocity {
    type Obs = Vec<f64>;

    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        if let Some(seed) = seed {
            self.rng = ChaCha8Rng::seed_from_u64(seed);
        }
        let n = self.config.reset_noise;
        let mut uniform = |x: f64| {
            if x > 0.0 {
                self.rng.random_range(-x..=x)
            } else {
                0.0
            }
        };
        let (pitch, roll, x) = (uniform(n.pitch), uniform(n.roll), uniform(n.x));
        let z = uniform(n.z).abs();
        let (v_x, v_z, omega_x, omega_y) = (
            uniform(n.v_x),
            uniform(n.v_z),
            uniform(n.omega_x),
            uniform(n.omega_y),
        );
        self.sim.reset();
        let (p, v) = (self.joints.root_qpos, self.joints.root_dof);
        let mut qpos = self.sim.qpos().to_vec();
        let mut qvel = vec![0.0; self.sim.qvel().len()];
        qpos[p..p + 3].copy_from_slice(&[x, 0.0, self.config.reset_height + z]);
        qpos[p + 3..p + 7].copy_from_slice(&quaternion_from_euler(roll, pitch, 0.0));
        // Base-frame velocities: the free joint's linear velocity is in the world frame.
        let (s, c) = pitch.sin_cos();
        let (sroll, croll) = roll.sin_cos();
        // R = Ry(pitch) Rx(roll); v_world = R (v_x, 0, v_z).
        qvel[v] = c * v_x + s * croll * v_z;
        qvel[v + 1] = -sroll * v_z;
        qvel[v + 2] = -s * v_x + c * croll * v_z;
        qvel[v + 3] = omega_x;
        qvel[v + 4] = omega_y;
        self.sim
            .set_state(&qpos, &qvel)
            .expect("sizes of this model");
        // Legs hold the angles read at reset; wheels start from rest.
        let d = &mut self.sim.data;
        for side in 0..2 {
            for k in 0..2 {
                let q = d.qpos()[self.joints.leg_qpos[side][k]];
                d.ctrl_mut()[self.joints.leg_actuators[side][k]] = q;
            }
            d.ctrl_mut()[self.joints.wheel_actuators[side]] = 0.0;
        }
        self.odometry = WheelOdometry::default();
        self.needs_reset = false;
        (self.observation().to_vec(), Info::default())
    }

    fn step(&mut self, action: &[f64]) -> Result<Step<Vec<f64>>> {
        if self.needs_reset {
            return Err(EnvError::ResetNeeded);
        }
        check_action(action, 1)?;
        let velocity = self.command.apply(action[0], self.dt());
        let targets = VelocityCommand::wheel_targets(velocity);
        for (side, target) in targets.iter().enumerate() {
            self.sim.data.ctrl_mut()[self.joints.wheel_actuators[side]] = *target;
        }
        let dt = self.sim.timestep();
        for _ in 0..self.config.physics_steps {
            self.sim.raw_step();
            let wheel_velocity = self.joints.wheel_dof.map(|i| self.sim.qvel()[i]);
            self.odometry
                .update(wheel_velocity, self.wheels_on_ground(), dt);
        }
        let obs = self.observation();
        let terminated = !obs[0].is_finite() || obs[0].abs() > self.config.max_pitch;
        self.needs_reset = terminated;
        Ok(Step {
            reward: self.config.reward.value(action[0], &obs),
            obs: obs.to_vec(),
            terminated,
            truncated: false,
            info: Info::default(),
        })
    }

    fn observation_space(&self) -> ObservationSpace {
        let high = vec![std::f64::consts::PI, f64::INFINITY, 1000.0, 2.0];
        let low = high.iter().map(|h| -h).collect();
        ObservationSpace::Box(BoxSpace::new(low, high).expect("-h <= h"))
    }

    /// `+-max_ground_velocity`: v1's `Box(-1, 1)` at its default of 1 m/s; the mid-2023 env the
    /// shipped policy trained in scaled its box with the clamp, as here.
    fn action_space(&self) -> BoxSpace {
        let v = self.config.max_ground_velocity;
        BoxSpace::uniform(1, -v, v).expect("checked > 0 in new")
    }

    fn dt(&self) -> f64 {
        self.sim.timestep() * self.config.physics_steps as f64
    }
    fn sim(&self) -> Option<&MujocoSim> {
        Some(&self.sim)
    }
}
