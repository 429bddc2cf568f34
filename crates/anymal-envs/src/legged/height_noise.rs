//! The student's exteroceptive noise (Miki et al. 2022, "Exteroceptive noise model") and the
//! curriculum factor `c` that scales it.
//!
//! For each sample point `p` of foot `f`, at nominal offset `(x, y)`:
//! ```text
//! x_p = x + e_px + e_fx + w_x,   y_p = y + e_py + e_fy + w_y
//! h_p = terrain(x_p, y_p) + e_pz + e_fz + w_z + e_outlier
//! ```
//! `e_p*` per point and `e_f*` per foot are drawn every step, `w_*` per foot once per episode,
//! and `e_outlier ~ N(0, outlier_std)` is added with probability `outlier_probability`. One of
//! the noise conditions (nominal / offset / noisy, 60 / 30 / 10 %) is drawn at an episode's start
//! (the legged environment draws again halfway).
//!
//! [`HeightNoise::shift_positions`] moves the points; an environment that owns a terrain reads
//! the heights there. [`HeightNoise::apply`] adds the height part, which needs only the heights,
//! so it also runs on environments without a terrain (the student trainer's mock worlds).

use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// A noise magnitude, fixed or multiplied by the curriculum factor `c`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NoiseValue {
    /// The magnitude at `c = 1`.
    pub value: f64,
    /// Whether the magnitude is `value * c` (the paper's entries written `0.1 c`).
    pub scaled: bool,
}

impl NoiseValue {
    /// A magnitude independent of the curriculum.
    pub const fn fixed(value: f64) -> Self {
        Self {
            value,
            scaled: false,
        }
    }

    /// A magnitude of `value * c`.
    pub const fn scaled(value: f64) -> Self {
        Self {
            value,
            scaled: true,
        }
    }

    /// No noise.
    pub const fn zero() -> Self {
        Self::fixed(0.0)
    }

    /// The magnitude at curriculum factor `level`.
    pub fn at(&self, level: f64) -> f64 {
        if self.scaled {
            self.value * level
        } else {
            self.value
        }
    }
}

/// One noise condition of the height model (standard deviations in the heights' unit).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NoiseCondition {
    /// Probability of drawing this condition at an episode start.
    pub probability: f64,
    /// Per-point height noise `e_pz` (the paper's z1).
    pub point_std: NoiseValue,
    /// Per-foot height noise `e_fz`, drawn every step (z3).
    pub foot_std: NoiseValue,
    /// Standard deviation of an outlier (z4).
    pub outlier_std: NoiseValue,
    /// Probability that a sample is an outlier (z5).
    pub outlier_probability: NoiseValue,
    /// Per-foot offset `w_z`, drawn once per episode (z7).
    pub episode_std: NoiseValue,
    /// Per-point position noise `e_px, e_py` (z0).
    #[serde(default = "NoiseValue::zero")]
    pub point_xy_std: NoiseValue,
    /// Per-foot position noise `e_fx, e_fy`, drawn every step (z2).
    #[serde(default = "NoiseValue::zero")]
    pub foot_xy_std: NoiseValue,
    /// Per-foot position offset `w_x, w_y`, drawn once per episode (z6).
    #[serde(default = "NoiseValue::zero")]
    pub episode_xy_std: NoiseValue,
}

/// The height noise model: conditions drawn per episode. See the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeightNoise {
    /// The conditions; their probabilities must sum to 1.
    pub conditions: Vec<NoiseCondition>,
}

impl HeightNoise {
    /// The paper's three conditions: nominal (60 %), offset (30 %), noisy (10 %).
    pub fn paper() -> Self {
        use NoiseValue as V;
        // The paper's vectors [z0 .. z7] in its order.
        let condition = |probability, z: [V; 8]| NoiseCondition {
            probability,
            point_xy_std: z[0],
            point_std: z[1],
            foot_xy_std: z[2],
            foot_std: z[3],
            outlier_std: z[4],
            outlier_probability: z[5],
            episode_xy_std: z[6],
            episode_std: z[7],
        };
        let (f, c) = (V::fixed, V::scaled);
        Self {
            conditions: vec![
                condition(
                    0.6,
                    [
                        f(0.004),
                        f(0.005),
                        f(0.01),
                        f(0.04),
                        f(0.03),
                        f(0.05),
                        f(0.1),
                        f(0.1),
                    ],
                ),
                condition(
                    0.3,
                    [
                        f(0.004),
                        f(0.005),
                        f(0.01),
                        c(0.1),
                        c(0.1),
                        f(0.02),
                        f(0.1),
                        f(0.1),
                    ],
                ),
                condition(
                    0.1,
                    [
                        f(0.004),
                        c(0.1),
                        c(0.1),
                        c(0.3),
                        c(0.3),
                        c(0.3),
                        f(0.1),
                        f(0.1),
                    ],
                ),
            ],
        }
    }

    /// The model reduced to its condition `index`, drawn every episode (an evaluation under
    /// one condition); `None` when there is no such condition.
    pub fn only(&self, index: usize) -> Option<Self> {
        let condition = self.conditions.get(index)?;
        Some(Self {
            conditions: vec![NoiseCondition {
                probability: 1.0,
                ..*condition
            }],
        })
    }

    /// Independent per-point Gaussian noise of standard deviation `std * c`.
    pub fn gaussian(std: f64) -> Self {
        let zero = NoiseValue::fixed(0.0);
        Self {
            conditions: vec![NoiseCondition {
                probability: 1.0,
                point_std: NoiseValue::scaled(std),
                foot_std: zero,
                outlier_std: zero,
                outlier_probability: zero,
                episode_std: zero,
                point_xy_std: zero,
                foot_xy_std: zero,
                episode_xy_std: zero,
            }],
        }
    }

    /// No noise: the student sees the noiseless heights.
    pub fn none() -> Self {
        Self::gaussian(0.0)
    }

    /// Checks that there is a condition, that the probabilities sum to 1 and that every
    /// magnitude is finite and non-negative.
    pub fn validate(&self) -> Result<(), String> {
        if self.conditions.is_empty() {
            return Err("height noise: at least one condition is needed".into());
        }
        let total: f64 = self.conditions.iter().map(|c| c.probability).sum();
        if (total - 1.0).abs() > 1e-9 {
            return Err(format!(
                "height noise: condition probabilities sum to {total}, not 1"
            ));
        }
        for (i, c) in self.conditions.iter().enumerate() {
            let values = [
                ("probability", c.probability),
                ("point_std", c.point_std.value),
                ("foot_std", c.foot_std.value),
                ("outlier_std", c.outlier_std.value),
                ("outlier_probability", c.outlier_probability.value),
                ("episode_std", c.episode_std.value),
                ("point_xy_std", c.point_xy_std.value),
                ("foot_xy_std", c.foot_xy_std.value),
                ("episode_xy_std", c.episode_xy_std.value),
            ];
            if let Some((name, v)) = values.iter().find(|(_, v)| !(v.is_finite() && *v >= 0.0)) {
                return Err(format!(
                    "height noise: condition {i}: {name} must be finite and >= 0, got {v}"
                ));
            }
        }
        Ok(())
    }

    /// Draws a condition and the per-episode offsets for an episode of an environment with
    /// `num_legs` feet.
    pub fn start_episode(&self, num_legs: usize, rng: &mut impl Rng) -> EpisodeNoise {
        let mut episode = EpisodeNoise {
            condition: 0,
            foot_offsets: (0..num_legs).map(|_| rng.sample(StandardNormal)).collect(),
            foot_xy_offsets: (0..num_legs)
                .map(|_| [rng.sample(StandardNormal), rng.sample(StandardNormal)])
                .collect(),
        };
        self.redraw_condition(&mut episode, rng);
        episode
    }

    /// Draws the episode's condition again (the legged environment does so halfway through an
    /// episode); the per-episode offsets stay.
    pub fn redraw_condition(&self, episode: &mut EpisodeNoise, rng: &mut impl Rng) {
        let draw: f64 = rng.random();
        let mut cumulative = 0.0;
        let condition = self
            .conditions
            .iter()
            .position(|c| {
                cumulative += c.probability;
                draw < cumulative
            })
            .unwrap_or(self.conditions.len() - 1);
        episode.condition = condition;
    }

    /// Moves sample positions (`legs * samples` offsets, leg after leg, in metres) by the
    /// position part of one step's noise at curriculum factor `level`.
    pub fn shift_positions<R: Rng>(
        &self,
        episode: &EpisodeNoise,
        level: f64,
        points: &mut [[f64; 2]],
        rng: &mut R,
    ) {
        let c = &self.conditions[episode.condition];
        let legs = episode.foot_offsets.len().max(1);
        let samples = points.len() / legs;
        let (point, foot, per_episode) = (
            c.point_xy_std.at(level),
            c.foot_xy_std.at(level),
            c.episode_xy_std.at(level),
        );
        if point == 0.0 && foot == 0.0 && per_episode == 0.0 {
            return;
        }
        let mut normal = || -> f64 { rng.sample(StandardNormal) };
        for (leg, foot_points) in points.chunks_mut(samples).enumerate() {
            let w = episode.foot_xy_offsets[leg];
            let shift = [
                foot * normal() + per_episode * w[0],
                foot * normal() + per_episode * w[1],
            ];
            for p in foot_points {
                p[0] += shift[0] + point * normal();
                p[1] += shift[1] + point * normal();
            }
        }
    }

    /// Adds the noise of one step to `heights` (`legs * samples`, leg after leg) at curriculum
    /// factor `level`.
    pub fn apply<R: Rng>(
        &self,
        episode: &EpisodeNoise,
        level: f64,
        heights: &mut [f32],
        rng: &mut R,
    ) {
        let c = &self.conditions[episode.condition];
        let legs = episode.foot_offsets.len().max(1);
        let samples = heights.len() / legs;
        let (point, foot, outlier) = (
            c.point_std.at(level),
            c.foot_std.at(level),
            c.outlier_std.at(level),
        );
        let (outlier_p, episode_std) = (c.outlier_probability.at(level), c.episode_std.at(level));
        let normal = |rng: &mut R| -> f64 { rng.sample(StandardNormal) };
        for (leg, foot_heights) in heights.chunks_mut(samples).enumerate() {
            let foot_shift = foot * normal(rng) + episode_std * episode.foot_offsets[leg];
            for h in foot_heights {
                let mut noise = foot_shift + point * normal(rng);
                if outlier_p > 0.0 && rng.random::<f64>() < outlier_p {
                    noise += outlier * normal(rng);
                }
                *h += noise as f32;
            }
        }
    }
}

/// The noise state of one environment's episode: its condition and per-foot offsets (in units
/// of `episode_std`).
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeNoise {
    /// Index of the condition drawn for the episode.
    pub condition: usize,
    /// `w_z / episode_std` per foot.
    pub foot_offsets: Vec<f64>,
    /// `(w_x, w_y) / episode_xy_std` per foot.
    pub foot_xy_offsets: Vec<[f64; 2]>,
}

/// How the curriculum factor `c` of the noise grows with the student's training iterations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum NoiseCurriculum {
    /// The same factor throughout.
    Constant(f64),
    /// 0 until iteration `from`, rising linearly to 1 at iteration `to` (the paper: 20 to 100).
    Linear {
        /// Last iteration with factor 0.
        from: usize,
        /// First iteration with factor 1.
        to: usize,
    },
}

impl NoiseCurriculum {
    /// The factor at `iteration`.
    pub fn level(&self, iteration: usize) -> f64 {
        match *self {
            Self::Constant(c) => c,
            Self::Linear { from, to } if to <= from => f64::from(u8::from(iteration >= to)),
            Self::Linear { from, to } => {
                ((iteration as f64 - from as f64) / (to - from) as f64).clamp(0.0, 1.0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn gaussian_noise_has_the_asked_spread_and_scales_with_the_level() {
        let noise = HeightNoise::gaussian(0.5);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let episode = noise.start_episode(4, &mut rng);
        let mut heights = vec![0.0f32; 4 * 10_000];
        noise.apply(&episode, 2.0, &mut heights, &mut rng);
        let var = heights.iter().map(|&h| (h as f64).powi(2)).sum::<f64>() / heights.len() as f64;
        assert!((var.sqrt() - 1.0).abs() < 0.02, "std {}", var.sqrt());
        let mut clean = vec![0.25f32; 8];
        noise.apply(&episode, 0.0, &mut clean, &mut rng);
        assert_eq!(clean, vec![0.25f32; 8]);
    }

    #[test]
    fn episode_offsets_are_constant_within_an_episode_and_per_foot() {
        let zero = NoiseValue::fixed(0.0);
        let noise = HeightNoise {
            conditions: vec![NoiseCondition {
                probability: 1.0,
                point_std: zero,
                foot_std: zero,
                outlier_std: zero,
                outlier_probability: zero,
                episode_std: NoiseValue::fixed(0.1),
                point_xy_std: zero,
                foot_xy_std: zero,
                episode_xy_std: zero,
            }],
        };
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let episode = noise.start_episode(2, &mut rng);
        for _ in 0..3 {
            let mut heights = vec![0.0f32; 6];
            noise.apply(&episode, 1.0, &mut heights, &mut rng);
            for (leg, foot) in heights.chunks(3).enumerate() {
                let expected = (0.1 * episode.foot_offsets[leg]) as f32;
                assert!(foot.iter().all(|&h| (h - expected).abs() < 1e-7));
            }
        }
    }

    #[test]
    fn conditions_are_drawn_with_their_probabilities() {
        let noise = HeightNoise::paper();
        noise.validate().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut counts = [0usize; 3];
        for _ in 0..20_000 {
            counts[noise.start_episode(4, &mut rng).condition] += 1;
        }
        for (count, p) in counts.iter().zip([0.6, 0.3, 0.1]) {
            assert!((*count as f64 / 20_000.0 - p).abs() < 0.015, "{counts:?}");
        }
        let mut bad = HeightNoise::paper();
        bad.conditions[0].probability = 0.5;
        assert!(bad.validate().unwrap_err().contains("sum to 0.9"));
    }

    #[test]
    fn the_paper_curriculum_rises_from_iteration_20_to_100() {
        let c = NoiseCurriculum::Linear { from: 20, to: 100 };
        assert_eq!(c.level(0), 0.0);
        assert_eq!(c.level(20), 0.0);
        assert!((c.level(60) - 0.5).abs() < 1e-12);
        assert_eq!(c.level(100), 1.0);
        assert_eq!(c.level(500), 1.0);
    }
}
