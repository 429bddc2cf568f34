//! Velocity commands `(vx, vy, yaw rate)` in the base's yaw frame: drawn at an episode's start
//! from configurable ranges, drawn again every `resample_interval` seconds, zero with
//! probability `zero_probability`, and, in heading mode, a heading drawn instead of a yaw rate,
//! which a proportional law turns into the yaw rate (legged_gym's rough-terrain setting).

use std::f64::consts::PI;

use rand::Rng;

use crate::error::{EnvError, Result};

/// How commands are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CommandConfig {
    /// Forward velocity range (m/s).
    pub vx: [f64; 2],
    /// Lateral velocity range (m/s).
    pub vy: [f64; 2],
    /// Yaw rate range (rad/s); also the yaw rate's clamp in heading mode.
    pub yaw_rate: [f64; 2],
    /// Seconds between draws.
    pub resample_interval: f64,
    /// Probability that a draw is the zero command (standing still).
    pub zero_probability: f64,
    /// Heading mode: draw a heading in [-pi, pi) and steer towards it.
    pub heading: bool,
    /// Yaw rate per radian of heading error in heading mode.
    pub heading_gain: f64,
    /// Planar speeds below this are set to zero (legged_gym: 0.2 m/s).
    pub min_speed: f64,
}

impl Default for CommandConfig {
    /// legged_gym's ranges: +-1 m/s, +-1 rad/s, drawn every 10 s; 10 % zero commands.
    fn default() -> Self {
        Self {
            vx: [-1.0, 1.0],
            vy: [-1.0, 1.0],
            yaw_rate: [-1.0, 1.0],
            resample_interval: 10.0,
            zero_probability: 0.1,
            heading: false,
            heading_gain: 0.5,
            min_speed: 0.2,
        }
    }
}

impl CommandConfig {
    /// A fixed command, never resampled (for demonstrations and evaluations).
    pub fn fixed(vx: f64, vy: f64, yaw_rate: f64) -> Self {
        Self {
            vx: [vx, vx],
            vy: [vy, vy],
            yaw_rate: [yaw_rate, yaw_rate],
            resample_interval: f64::INFINITY,
            zero_probability: 0.0,
            heading: false,
            heading_gain: 0.5,
            min_speed: 0.0,
        }
    }

    /// Checks ranges and probabilities.
    pub fn validate(&self) -> Result<()> {
        for (name, [low, high]) in [
            ("vx", self.vx),
            ("vy", self.vy),
            ("yaw_rate", self.yaw_rate),
        ] {
            if !(low.is_finite() && high.is_finite() && low <= high) {
                return Err(EnvError::Parameter(format!(
                    "command: {name} range [{low}, {high}] must be finite with low <= high"
                )));
            }
        }
        if !(0.0..=1.0).contains(&self.zero_probability)
            || self.resample_interval.is_nan()
            || self.resample_interval <= 0.0
        {
            return Err(EnvError::Parameter(format!(
                "command: zero_probability {} must lie in [0, 1] and resample_interval {} be > 0",
                self.zero_probability, self.resample_interval
            )));
        }
        Ok(())
    }
}

/// The command of one robot.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// `(vx, vy, yaw rate)` now.
    pub velocity: [f64; 3],
    /// The target heading in heading mode.
    pub heading: Option<f64>,
    /// Seconds since the last draw.
    pub age: f64,
}

impl Command {
    /// A command drawn from `config`.
    pub fn draw(config: &CommandConfig, rng: &mut impl Rng) -> Self {
        let mut uniform = |[low, high]: [f64; 2]| {
            if low == high {
                low
            } else {
                rng.random_range(low..high)
            }
        };
        let (vx, vy, yaw) = (
            uniform(config.vx),
            uniform(config.vy),
            uniform(config.yaw_rate),
        );
        let heading = config.heading.then(|| rng.random_range(-PI..PI));
        let zero = config.zero_probability > 0.0 && rng.random::<f64>() < config.zero_probability;
        let (mut vx, mut vy) = (vx, vy);
        if zero || vx.hypot(vy) < config.min_speed {
            (vx, vy) = (0.0, 0.0);
        }
        let yaw = if zero { 0.0 } else { yaw };
        Self {
            velocity: [vx, vy, yaw],
            heading: if zero { None } else { heading },
            age: 0.0,
        }
    }

    /// Advances by `dt`: redraws when the interval has passed and, in heading mode, sets the yaw
    /// rate from the heading error at the base's `yaw`.
    pub fn update(&mut self, config: &CommandConfig, yaw: f64, dt: f64, rng: &mut impl Rng) {
        self.age += dt;
        if self.age >= config.resample_interval {
            *self = Self::draw(config, rng);
        }
        if let Some(heading) = self.heading {
            let error = (heading - yaw + PI).rem_euclid(2.0 * PI) - PI;
            let max = config.yaw_rate[0].abs().max(config.yaw_rate[1].abs());
            self.velocity[2] = (config.heading_gain * error).clamp(-max, max);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn draws_stay_in_range_with_the_asked_share_of_zero_commands() {
        let config = CommandConfig::default();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut zeros = 0;
        for _ in 0..10_000 {
            let c = Command::draw(&config, &mut rng);
            let [vx, vy, w] = c.velocity;
            assert!((-1.0..=1.0).contains(&vx) && (-1.0..=1.0).contains(&vy));
            assert!((-1.0..=1.0).contains(&w));
            assert!(vx == 0.0 && vy == 0.0 || vx.hypot(vy) >= 0.2);
            zeros += usize::from(c.velocity == [0.0; 3]);
        }
        assert!((zeros as f64 / 10_000.0 - 0.1).abs() < 0.015, "{zeros}");
    }

    #[test]
    fn commands_are_redrawn_on_the_interval_and_heading_mode_steers() {
        let config = CommandConfig {
            resample_interval: 1.0,
            zero_probability: 0.0,
            heading: true,
            ..CommandConfig::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut c = Command::draw(&config, &mut rng);
        let heading = c.heading.expect("heading mode");
        c.update(&config, heading - 0.4, 0.5, &mut rng);
        assert!((c.velocity[2] - 0.2).abs() < 1e-12, "{:?}", c.velocity);
        let before = c.clone();
        c.update(&config, 0.0, 0.6, &mut rng);
        assert_ne!(c.heading, before.heading);
        assert!(config.validate().is_ok());
        let bad = CommandConfig {
            zero_probability: 1.5,
            ..config
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("zero_probability")
        );
    }
}
