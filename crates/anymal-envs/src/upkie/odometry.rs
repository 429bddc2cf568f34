//! Wheel odometry as upkie's `WheelOdometry`: the ground velocity is the mean, over wheels on
//! the ground, of `r_s * wheel joint velocity` (`r_s = +0.05` m left, `-0.05` m right: the
//! joints turn the other way round on the two sides), the position its integral; both are
//! zeroed at reset and frozen while no wheel touches the ground. The joint velocity is relative
//! to the leg, so the estimate is the axle's speed minus `0.05 * pitch rate`.

/// Signed tire radius per side (m).
pub const SIGNED_RADIUS: [f64; 2] = [0.05, -0.05];

/// Ground position and velocity estimated from the wheels.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WheelOdometry {
    /// Ground position (m).
    pub position: f64,
    /// Ground velocity (m/s).
    pub velocity: f64,
}

impl WheelOdometry {
    /// Integrates one physics step of `dt` from the wheels' joint velocities and contacts.
    pub fn update(&mut self, wheel_velocity: [f64; 2], on_ground: [bool; 2], dt: f64) {
        let touching: Vec<f64> = (0..2)
            .filter(|&s| on_ground[s])
            .map(|s| SIGNED_RADIUS[s] * wheel_velocity[s])
            .collect();
        if touching.is_empty() {
            return;
        }
        self.velocity = touching.iter().sum::<f64>() / touching.len() as f64;
        self.position += self.velocity * dt;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn velocity_is_the_mean_over_wheels_on_the_ground_and_freezes_in_the_air() {
        let mut odometry = WheelOdometry::default();
        // Both on the ground: left +10 rad/s, right -10 rad/s is 0.5 m/s forward.
        odometry.update([10.0, -10.0], [true, true], 0.001);
        assert!((odometry.velocity - 0.5).abs() < 1e-12);
        assert!((odometry.position - 0.0005).abs() < 1e-12);
        // One wheel up: only the other counts.
        odometry.update([10.0, 0.0], [true, false], 0.001);
        assert!((odometry.velocity - 0.5).abs() < 1e-12);
        // Both up: nothing moves.
        let before = odometry;
        odometry.update([50.0, -50.0], [false, false], 0.001);
        assert_eq!(odometry, before);
    }
}
