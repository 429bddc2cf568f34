//! MuJoCo InvertedPendulum, step for step as Gymnasium's `InvertedPendulum-v4` and `-v5`.
//!
//! Observation `[cart x, pole angle, cart velocity, pole angular velocity]`; action the motor
//! command, sent as is (MuJoCo clamps it to [-3, 3]; NaN or infinite actions are refused with an
//! error, where MuJoCo would zero the controls with a warning); two `mj_step`s of 0.02 s per step;
//! terminated when an observation is not finite or `|angle| > 0.2`. Reward 1 every step in v4;
//! in v5, 0 on the terminating step. [`make_inverted_pendulum`] adds the 1000-step time limit
//! that `gymnasium.make` adds.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::env::{BoxedEnv, Env, Info, ObservationSpace, Step, check_action};
use crate::error::{EnvError, Result};
use crate::mujoco::{MjModel, MujocoSim};
use crate::space::BoxSpace;
use crate::wrappers::{Delay, FrameStack, TimeLimit, TransformReward};

/// The model, written from Gymnasium's published values (assets/inverted_pendulum.xml).
pub const INVERTED_PENDULUM_XML: &str = include_str!("../../../assets/inverted_pendulum.xml");

/// Steps per episode that `gymnasium.make` allows.
pub const MAX_EPISODE_STEPS: usize = 1000;

const FRAME_SKIP: usize = 2;
const RESET_NOISE: f64 = 0.01;
const MAX_ANGLE: f64 = 0.2;

/// Which Gymnasium version's reward to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendulumVersion {
    /// Reward 1 on every step, the terminating one included.
    V4,
    /// Reward 0 on the terminating step.
    V5,
}

/// The inverted pendulum, without time limit (see [`make_inverted_pendulum`]).
pub struct InvertedPendulum {
    sim: MujocoSim,
    version: PendulumVersion,
    rng: ChaCha8Rng,
    needs_reset: bool,
}

/// `gymnasium.make("InvertedPendulum-v4"/"-v5")`: the pendulum with its 1000-step time limit.
pub fn make_inverted_pendulum(version: PendulumVersion) -> TimeLimit<InvertedPendulum> {
    TimeLimit::new(InvertedPendulum::new(version), MAX_EPISODE_STEPS)
}

/// A reward-shaping function: the new reward of a step.
pub type RewardFn = fn(&Step<Vec<f64>>) -> f64;

/// The tutorial's pipeline around the pendulum, in its order:
/// `FrameStack(Delay(TransformReward(TimeLimit(InvertedPendulum))))`, each layer optional.
#[derive(Debug, Clone, Copy)]
pub struct PendulumTask {
    /// v4 or v5.
    pub version: PendulumVersion,
    /// Reward shaping: the new reward as a function of the step.
    pub reward: Option<RewardFn>,
    /// Time constant (seconds) of the tutorial's low-pass delay on actions and observations.
    pub delay: Option<f64>,
    /// Number of observations stacked.
    pub frame_stack: Option<usize>,
}

impl PendulumTask {
    /// The plain environment of `version`, nothing added.
    pub fn new(version: PendulumVersion) -> Self {
        Self {
            version,
            reward: None,
            delay: None,
            frame_stack: None,
        }
    }

    /// Builds one environment; an invalid delay or stack size gives an error naming it.
    pub fn make(&self) -> Result<BoxedEnv> {
        let mut env: BoxedEnv = Box::new(make_inverted_pendulum(self.version));
        if let Some(reward) = self.reward {
            env = Box::new(TransformReward::new(env, reward));
        }
        if let Some(time_constant) = self.delay {
            env = Box::new(Delay::new(env, time_constant)?);
        }
        if let Some(n) = self.frame_stack {
            if n == 0 {
                return Err(EnvError::Parameter(
                    "frame_stack must stack at least 1 observation".into(),
                ));
            }
            env = Box::new(FrameStack::new(env, n)?);
        }
        Ok(env)
    }
}

impl InvertedPendulum {
    /// The pendulum with the bundled model, compiled once per process and shared read-only by
    /// every copy (each copy owns its simulation state): copies of a vector env then keep one
    /// model in the cache instead of one each.
    pub fn new(version: PendulumVersion) -> Self {
        static BUNDLED_MODEL: OnceLock<Arc<MjModel>> = OnceLock::new();
        let model = BUNDLED_MODEL.get_or_init(|| {
            MujocoSim::compile_xml_string(INVERTED_PENDULUM_XML)
                .expect("the bundled model compiles")
        });
        Self::with_sim(MujocoSim::from_model(model.clone()), version)
    }

    /// The pendulum with the model of an MJCF file (same joints and actuator).
    pub fn from_file(path: impl AsRef<Path>, version: PendulumVersion) -> Result<Self> {
        let sim = MujocoSim::from_file(path.as_ref())?;
        if sim.qpos().len() != 2 || sim.num_actuators() != 1 {
            return Err(EnvError::Model {
                path: path.as_ref().to_path_buf(),
                message: format!(
                    "an inverted pendulum needs 2 joints and 1 actuator, this model has {} and {}",
                    sim.qpos().len(),
                    sim.num_actuators()
                ),
            });
        }
        Ok(Self::with_sim(sim, version))
    }

    fn with_sim(sim: MujocoSim, version: PendulumVersion) -> Self {
        Self {
            sim,
            version,
            rng: ChaCha8Rng::seed_from_u64(0),
            needs_reset: true,
        }
    }

    /// Sets the MuJoCo state (Gymnasium's `set_state`), for example to start from a given state.
    pub fn set_state(&mut self, qpos: &[f64], qvel: &[f64]) -> Result<()> {
        self.sim.set_state(qpos, qvel)?;
        self.needs_reset = false;
        Ok(())
    }

    /// The current observation `[qpos, qvel]`.
    pub fn observation(&self) -> Vec<f64> {
        [self.sim.qpos(), self.sim.qvel()].concat()
    }

    /// The simulation (for benchmarks and inspection).
    pub fn sim_mut(&mut self) -> &mut MujocoSim {
        &mut self.sim
    }
}

impl Env for InvertedPendulum {
    type Obs = Vec<f64>;

    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        if let Some(seed) = seed {
            self.rng = ChaCha8Rng::seed_from_u64(seed);
        }
        self.sim.reset();
        let mut noise = |n: usize| -> Vec<f64> {
            (0..n)
                .map(|_| self.rng.random_range(-RESET_NOISE..RESET_NOISE))
                .collect()
        };
        let (qpos, qvel) = (noise(2), noise(2));
        self.set_state(&qpos, &qvel).expect("sizes match the model");
        (self.observation(), Info::default())
    }

    fn step(&mut self, action: &[f64]) -> Result<Step<Vec<f64>>> {
        if self.needs_reset {
            return Err(EnvError::ResetNeeded);
        }
        check_action(action, 1)?;
        // Gymnasium also calls mj_rnePostConstraint here; it only computes accelerations and
        // contact forces, which this observation and reward never read, so it is skipped.
        self.sim.do_simulation(action, FRAME_SKIP);
        let obs = self.observation();
        let terminated = obs.iter().any(|v| !v.is_finite()) || obs[1].abs() > MAX_ANGLE;
        let reward = match self.version {
            PendulumVersion::V4 => 1.0,
            PendulumVersion::V5 if terminated => 0.0,
            PendulumVersion::V5 => 1.0,
        };
        Ok(Step {
            obs,
            reward,
            terminated,
            truncated: false,
            info: Info::default(),
        })
    }

    fn observation_space(&self) -> ObservationSpace {
        ObservationSpace::Box(BoxSpace::unbounded(4))
    }

    fn action_space(&self) -> BoxSpace {
        BoxSpace::uniform(1, -3.0, 3.0).expect("-3 <= 3")
    }

    fn dt(&self) -> f64 {
        self.sim.timestep() * FRAME_SKIP as f64
    }
    fn sim(&self) -> Option<&MujocoSim> {
        Some(&self.sim)
    }
}
