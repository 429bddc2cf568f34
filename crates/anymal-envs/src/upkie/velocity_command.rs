//! The action's path to the wheels, as upkie's ground-velocity env: the commanded ground
//! velocity is rate-limited (`max_acceleration * dt` per step), then clamped to
//! `max_velocity`; the wheels' velocity targets are `+v / r` (left) and `-v / r` (right), with
//! upstream's `r = 0.06` m (the tires are 0.05 m: upstream's constant, kept for fidelity).

/// Rate limiter and clamp of the commanded ground velocity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VelocityCommand {
    /// Largest |velocity| (m/s); upstream: 1.
    pub max_velocity: f64,
    /// Largest |acceleration| (m/s^2); upstream: 10.
    pub max_acceleration: f64,
    /// The last output, the limiter's state (upstream keeps it across resets).
    pub output: f64,
}

/// The wheel radius the velocity targets are computed with (m).
pub const COMMAND_WHEEL_RADIUS: f64 = 0.06;

impl VelocityCommand {
    /// Upstream's limits, from rest.
    pub fn new(max_velocity: f64, max_acceleration: f64) -> Self {
        Self {
            max_velocity,
            max_acceleration,
            output: 0.0,
        }
    }

    /// The limited, clamped velocity for `commanded` after a step of `dt`.
    pub fn apply(&mut self, commanded: f64, dt: f64) -> f64 {
        let step = self.max_acceleration * dt;
        let limited = commanded.clamp(self.output - step, self.output + step);
        self.output = limited.clamp(-self.max_velocity, self.max_velocity);
        self.output
    }

    /// Wheel velocity targets (left, right) for ground velocity `v` (rad/s).
    pub fn wheel_targets(v: f64) -> [f64; 2] {
        [v / COMMAND_WHEEL_RADIUS, -v / COMMAND_WHEEL_RADIUS]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_is_rate_limited_then_clamped() {
        let mut command = VelocityCommand::new(1.0, 10.0);
        // 10 m/s^2 at 200 Hz: 0.05 m/s per step.
        assert!((command.apply(1.0, 0.005) - 0.05).abs() < 1e-12);
        for _ in 0..30 {
            command.apply(5.0, 0.005);
        }
        assert_eq!(command.output, 1.0);
        assert!((command.apply(-5.0, 0.005) - 0.95).abs() < 1e-12);
        assert!((command.apply(0.94, 0.005) - 0.94).abs() < 1e-12);
        let [left, right] = VelocityCommand::wheel_targets(0.6);
        assert!((left - 10.0).abs() < 1e-12 && (right + 10.0).abs() < 1e-12);
    }
}
