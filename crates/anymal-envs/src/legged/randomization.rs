//! Domain randomisation, each part switchable (`None` turns it off).
//!
//! Per episode: the initial joint state, base orientation and velocity; pushes (force and
//! torque on the base, seen only in the privileged state) start at random times. Link masses
//! and foot friction live in the compiled model, which the copies of an environment share
//! read-only (the terrain alone is megabytes): [`Randomization::model_variants`] physical
//! variants are compiled once, and each episode picks one of them, so 1024 copies cost
//! `variants` models, not 1024.

use rand::Rng;

use crate::error::{EnvError, Result};

/// What is randomised, and how much.
#[derive(Debug, Clone, PartialEq)]
pub struct Randomization {
    /// Every link's mass is multiplied by `U(1 - x, 1 + x)` (per variant).
    pub mass_scale: Option<f64>,
    /// Foot friction `U(low, high)` (per variant and foot).
    pub friction: Option<[f64; 2]>,
    /// Share of variants with low friction `U(0.05, 0.3)` ("now and then low foot friction").
    pub low_friction_share: f64,
    /// Number of physical variants compiled (at least 1).
    pub model_variants: usize,
    /// Joint angles `default + U(-x, x)` rad at reset.
    pub joint_position: Option<f64>,
    /// Joint velocities `U(-x, x)` rad/s at reset.
    pub joint_velocity: Option<f64>,
    /// Roll and pitch `U(-x, x)` rad at reset (yaw is always uniform).
    pub base_tilt: Option<f64>,
    /// Base linear and angular velocity `U(-x, x)` at reset.
    pub base_velocity: Option<f64>,
    /// Pushes: force and torque on the base for a while, at random times.
    pub push: Option<PushConfig>,
}

/// External pushes on the base.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PushConfig {
    /// Horizontal force components `U(-x, x)` N; vertical half of that.
    pub force: f64,
    /// Torque components `U(-x, x)` N m.
    pub torque: f64,
    /// Seconds a push lasts.
    pub duration: f64,
    /// Mean seconds between pushes (exponentially distributed gaps).
    pub mean_interval: f64,
}

impl Default for Randomization {
    /// Masses +-10 %, friction U(0.5, 1.25) with 10 % low-friction variants, 16 variants, joints
    /// +-0.1 rad and +-0.5 rad/s, tilt +-0.1 rad, base velocity +-0.3, pushes of up to 60 N /
    /// 10 N m for 0.5 s about every 6 s.
    fn default() -> Self {
        Self {
            mass_scale: Some(0.1),
            friction: Some([0.5, 1.25]),
            low_friction_share: 0.1,
            model_variants: 16,
            joint_position: Some(0.1),
            joint_velocity: Some(0.5),
            base_tilt: Some(0.1),
            base_velocity: Some(0.3),
            push: Some(PushConfig {
                force: 60.0,
                torque: 10.0,
                duration: 0.5,
                mean_interval: 6.0,
            }),
        }
    }
}

impl Randomization {
    /// Nothing randomised but the heading: every episode starts the same.
    pub fn none() -> Self {
        Self {
            mass_scale: None,
            friction: None,
            low_friction_share: 0.0,
            model_variants: 1,
            joint_position: None,
            joint_velocity: None,
            base_tilt: None,
            base_velocity: None,
            push: None,
        }
    }

    /// legged_gym's flat-ground setting: foot friction U(0.5, 1.25) without low-friction
    /// variants, masses as built, joints +-0.1 rad at rest, base velocity +-0.5, and a push of
    /// about 0.7 m/s (60 N for 0.5 s) about every 15 s.
    pub fn legged_gym() -> Self {
        Self {
            mass_scale: None,
            low_friction_share: 0.0,
            joint_velocity: None,
            base_tilt: None,
            base_velocity: Some(0.5),
            push: Some(PushConfig {
                force: 60.0,
                torque: 0.0,
                duration: 0.5,
                mean_interval: 15.0,
            }),
            ..Self::default()
        }
    }

    /// Checks magnitudes.
    pub fn validate(&self) -> Result<()> {
        let magnitudes = [
            ("mass_scale", self.mass_scale),
            ("joint_position", self.joint_position),
            ("joint_velocity", self.joint_velocity),
            ("base_tilt", self.base_tilt),
            ("base_velocity", self.base_velocity),
        ];
        for (name, value) in magnitudes {
            if let Some(v) = value
                && !(v.is_finite() && v >= 0.0)
            {
                return Err(EnvError::Parameter(format!(
                    "randomization: {name} must be finite and >= 0, got {v}"
                )));
            }
        }
        if self.mass_scale.is_some_and(|m| m >= 1.0) {
            return Err(EnvError::Parameter(
                "randomization: mass_scale must be < 1 (masses stay positive)".into(),
            ));
        }
        if let Some([low, high]) = self.friction
            && !(low > 0.0 && low <= high && high.is_finite())
        {
            return Err(EnvError::Parameter(format!(
                "randomization: friction range [{low}, {high}] must satisfy 0 < low <= high"
            )));
        }
        if self.model_variants == 0 || !(0.0..=1.0).contains(&self.low_friction_share) {
            return Err(EnvError::Parameter(format!(
                "randomization: model_variants ({}) must be >= 1 and low_friction_share ({}) in [0, 1]",
                self.model_variants, self.low_friction_share
            )));
        }
        if let Some(p) = self.push
            && !(p.force >= 0.0 && p.torque >= 0.0 && p.duration > 0.0 && p.mean_interval > 0.0)
        {
            return Err(EnvError::Parameter(format!(
                "randomization: push {p:?} needs force, torque >= 0 and duration, interval > 0"
            )));
        }
        Ok(())
    }

    /// A variant's foot frictions.
    pub fn draw_friction(&self, rng: &mut impl Rng) -> Option<[f64; 4]> {
        let [low, high] = self.friction?;
        let slippery = rng.random::<f64>() < self.low_friction_share;
        Some([(); 4].map(|_| {
            if slippery {
                rng.random_range(0.05..=0.3)
            } else {
                rng.random_range(low..=high)
            }
        }))
    }
}

/// `U(-x, x)`, or 0 when the part is off.
pub fn symmetric(rng: &mut impl Rng, magnitude: Option<f64>) -> f64 {
    match magnitude {
        Some(x) if x > 0.0 => rng.random_range(-x..=x),
        _ => 0.0,
    }
}

/// A push in progress or the time until the next.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PushState {
    /// Force on the base (world frame).
    pub force: [f64; 3],
    /// Torque on the base (world frame).
    pub torque: [f64; 3],
    /// Seconds left of the current push (0: none).
    pub remaining: f64,
    /// Seconds until the next push starts.
    pub until_next: f64,
}

impl PushState {
    /// The state at an episode's start.
    pub fn start(config: Option<PushConfig>, rng: &mut impl Rng) -> Self {
        let mut state = Self::default();
        if let Some(c) = config {
            state.until_next = exponential(rng, c.mean_interval);
        }
        state
    }

    /// Advances by `dt`, starting and ending pushes.
    pub fn advance(&mut self, config: Option<PushConfig>, dt: f64, rng: &mut impl Rng) {
        let Some(c) = config else { return };
        if self.remaining > 0.0 {
            self.remaining -= dt;
            if self.remaining <= 0.0 {
                *self = Self {
                    until_next: exponential(rng, c.mean_interval),
                    ..Self::default()
                };
            }
            return;
        }
        self.until_next -= dt;
        if self.until_next <= 0.0 {
            let f = Some(c.force);
            self.force = [
                symmetric(rng, f),
                symmetric(rng, f),
                0.5 * symmetric(rng, f),
            ];
            self.torque = [(); 3].map(|_| symmetric(rng, Some(c.torque)));
            self.remaining = c.duration;
        }
    }
}

fn exponential(rng: &mut impl Rng, mean: f64) -> f64 {
    -mean * (1.0 - rng.random::<f64>()).ln()
}
