//! Where the ground is sampled around the robot.
//!
//! - [`ScanPattern::FootCircles`]: the paper's 4 x 52 points, on circles of radii 0.08, 0.16,
//!   0.26, 0.36 and 0.48 m with 6, 8, 10, 12 and 16 points around each foot, turned with the
//!   base's yaw; each value is the ground height minus the foot centre's height.
//! - [`ScanPattern::BaseGrid`]: legged_gym's 17 x 11 grid (x +-0.8 m, y +-0.5 m, 0.1 m apart)
//!   around the base, yaw-aligned; each value is the ground height minus the base's height.

/// The paper's circle radii (m).
pub const CIRCLE_RADII: [f64; 5] = [0.08, 0.16, 0.26, 0.36, 0.48];
/// Points on each circle.
pub const CIRCLE_POINTS: [usize; 5] = [6, 8, 10, 12, 16];
/// Points per foot in the paper's pattern.
pub const POINTS_PER_FOOT: usize = 52;

/// A height-scan layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanPattern {
    /// 52 points on circles around each foot (the paper).
    FootCircles,
    /// 187 points on a grid around the base (legged_gym).
    BaseGrid,
}

impl ScanPattern {
    /// Number of groups (feet, or 1 for the base grid) and points per group.
    pub fn shape(self) -> (usize, usize) {
        match self {
            Self::FootCircles => (4, POINTS_PER_FOOT),
            Self::BaseGrid => (1, 17 * 11),
        }
    }

    /// The pattern's offsets in its centre's yaw-aligned frame (x forward, y left).
    pub fn offsets(self) -> Vec<[f64; 2]> {
        match self {
            Self::FootCircles => CIRCLE_RADII
                .iter()
                .zip(CIRCLE_POINTS)
                .flat_map(|(&r, n)| {
                    (0..n).map(move |k| {
                        let theta = std::f64::consts::TAU * k as f64 / n as f64;
                        [r * theta.cos(), r * theta.sin()]
                    })
                })
                .collect(),
            Self::BaseGrid => (0..17)
                .flat_map(|i| (0..11).map(move |j| [-0.8 + 0.1 * i as f64, -0.5 + 0.1 * j as f64]))
                .collect(),
        }
    }
}

/// Turns a yaw-frame offset into a world offset.
pub fn rotate_yaw(offset: [f64; 2], yaw_cos: f64, yaw_sin: f64) -> [f64; 2] {
    [
        yaw_cos * offset[0] - yaw_sin * offset[1],
        yaw_sin * offset[0] + yaw_cos * offset[1],
    ]
}
