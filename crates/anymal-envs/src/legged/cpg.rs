//! The paper's central pattern generator: one phase per leg advancing at a base frequency, and
//! the foot trajectory it drives (Miki et al. 2022, after Lee et al. 2020).
//!
//! A leg's phase `phi` in [0, 2 pi): swing for [0, pi], stance for (pi, 2 pi). In swing the foot
//! rises from the nominal point by `clearance * (-2 t^3 + 3 t^2)`, `t = 2 phi / pi`, over
//! [0, pi/2], and comes down by `clearance * (2 t^3 - 3 t^2 + 1)`, `t = 2 phi / pi - 1`, over
//! (pi/2, pi]; in stance it stays at the nominal point. The trajectory is in the base frame.
//!
//! The policy's four phase offsets shift each leg's phase for the current step
//! (`trajectory(phi_l + dphi_l)`), as in the paper's action description.

use std::f64::consts::{FRAC_PI_2, PI, TAU};

use crate::legged::robot::NUM_LEGS;

/// CPG settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpgConfig {
    /// Base gait frequency (Hz); the predecessor's code used 1.3.
    pub base_frequency: f64,
    /// Peak foot height above the nominal point in swing (m); the paper: 0.2.
    pub clearance: f64,
    /// Phases at an episode's start. The default is a trot: left front and right hind start
    /// their swing (0), right front and left hind start their stance (pi).
    pub initial_phases: [f64; NUM_LEGS],
}

impl Default for CpgConfig {
    fn default() -> Self {
        Self {
            base_frequency: 1.3,
            clearance: 0.2,
            initial_phases: [0.0, PI, PI, 0.0],
        }
    }
}

/// The phases of one robot's legs.
#[derive(Debug, Clone, PartialEq)]
pub struct Cpg {
    config: CpgConfig,
    phases: [f64; NUM_LEGS],
}

impl Cpg {
    /// A CPG at its initial phases.
    pub fn new(config: CpgConfig) -> Self {
        Self {
            config,
            phases: config.initial_phases.map(|p| p.rem_euclid(TAU)),
        }
    }

    /// Back to the initial phases.
    pub fn reset(&mut self) {
        self.phases = self.config.initial_phases.map(|p| p.rem_euclid(TAU));
    }

    /// Advances every phase by `dt` seconds at the base frequency.
    pub fn advance(&mut self, dt: f64) {
        let step = TAU * self.config.base_frequency * dt;
        for phase in &mut self.phases {
            *phase = (*phase + step).rem_euclid(TAU);
        }
    }

    /// The legs' phases.
    pub fn phases(&self) -> [f64; NUM_LEGS] {
        self.phases
    }

    /// The settings.
    pub fn config(&self) -> &CpgConfig {
        &self.config
    }

    /// Foot height above the nominal point at phase `phi`.
    pub fn foot_lift(&self, phi: f64) -> f64 {
        foot_lift(phi, self.config.clearance)
    }
}

/// Whether phase `phi` is in swing.
pub fn in_swing(phi: f64) -> bool {
    phi.rem_euclid(TAU) <= PI
}

/// The trajectory's height above the nominal point at phase `phi` for a `clearance`.
pub fn foot_lift(phi: f64, clearance: f64) -> f64 {
    let phi = phi.rem_euclid(TAU);
    if phi <= FRAC_PI_2 {
        let t = phi / FRAC_PI_2;
        clearance * (-2.0 * t * t * t + 3.0 * t * t)
    } else if phi <= PI {
        let t = phi / FRAC_PI_2 - 1.0;
        clearance * (2.0 * t * t * t - 3.0 * t * t + 1.0)
    } else {
        0.0
    }
}
