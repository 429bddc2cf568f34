//! Hyperparameters that change during training: the learning rate and the clip range as
//! functions of training progress, as Stable-Baselines3 takes them, plus the exponential decay
//! of the paper and rsl_rl's adaptive-KL learning-rate rule.

use serde::{Deserialize, Serialize};

/// How a hyperparameter evolves over a run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Schedule {
    /// The same value throughout.
    Constant(f64),
    /// Linear in the progress remaining `p` (1 at the start, 0 at the end):
    /// `at_end + p * (at_start - at_end)`. The tutorial's `affine_schedule(y_0, y_1)` is
    /// `Affine { at_end: y_0, at_start: y_1 }`.
    Affine {
        /// Value at the start of training (progress remaining 1).
        at_start: f64,
        /// Value at the end of training (progress remaining 0).
        at_end: f64,
    },
    /// `initial * factor^updates`, once per PPO update (the paper: 5e-4, factor 0.9999).
    Exponential {
        /// Value before the first update.
        initial: f64,
        /// Multiplier applied after every update.
        factor: f64,
    },
    /// rsl_rl's rule, applied after every minibatch: divide by 1.5 when the approximate KL
    /// exceeds twice `target_kl`, multiply by 1.5 when it is below half of it, within
    /// `[min, max]`.
    AdaptiveKl {
        /// Value before the first update.
        initial: f64,
        /// The KL divergence the rule aims for.
        target_kl: f64,
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
}

impl Schedule {
    /// The tutorial's `affine_schedule(y_0, y_1)`: `y_1` at the start, `y_0` at the end.
    pub fn affine(y_0: f64, y_1: f64) -> Self {
        Self::Affine {
            at_start: y_1,
            at_end: y_0,
        }
    }

    /// rsl_rl's adaptive-KL rule with its bounds (1e-5, 1e-2).
    pub fn adaptive_kl(initial: f64, target_kl: f64) -> Self {
        Self::AdaptiveKl {
            initial,
            target_kl,
            min: 1e-5,
            max: 1e-2,
        }
    }

    /// Checks that the values make sense, naming the first that does not.
    pub fn validate(&self, name: &str) -> Result<(), String> {
        let positive = |what: &str, x: f64| {
            if x.is_finite() && x >= 0.0 {
                Ok(())
            } else {
                Err(format!("{name}: {what} must be finite and >= 0, got {x}"))
            }
        };
        match *self {
            Self::Constant(x) => positive("the value", x),
            Self::Affine { at_start, at_end } => {
                positive("at_start", at_start)?;
                positive("at_end", at_end)
            }
            Self::Exponential { initial, factor } => {
                positive("initial", initial)?;
                positive("factor", factor)
            }
            Self::AdaptiveKl {
                initial,
                target_kl,
                min,
                max,
            } => {
                positive("initial", initial)?;
                positive("target_kl", target_kl)?;
                positive("min", min)?;
                positive("max", max)?;
                if min > max {
                    return Err(format!("{name}: min {min} is above max {max}"));
                }
                Ok(())
            }
        }
    }

    /// The value at `progress_remaining` (1 -> 0) after `updates` PPO updates, for the
    /// schedules that depend on nothing else; `AdaptiveKl` returns its initial value (its state
    /// lives in [`AdaptiveValue`]).
    pub fn value(&self, progress_remaining: f64, updates: usize) -> f64 {
        match *self {
            Self::Constant(x) => x,
            Self::Affine { at_start, at_end } => at_end + progress_remaining * (at_start - at_end),
            Self::Exponential { initial, factor } => initial * factor.powi(updates as i32),
            Self::AdaptiveKl { initial, .. } => initial,
        }
    }
}

/// A scheduled hyperparameter with the state the adaptive rule needs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdaptiveValue {
    /// The schedule.
    pub schedule: Schedule,
    /// The current value.
    pub current: f64,
}

impl AdaptiveValue {
    /// Starts `schedule` at its initial value.
    pub fn new(schedule: Schedule) -> Self {
        Self {
            schedule,
            current: schedule.value(1.0, 0),
        }
    }

    /// Moves to the value for the coming update.
    pub fn start_update(&mut self, progress_remaining: f64, updates: usize) {
        if !matches!(self.schedule, Schedule::AdaptiveKl { .. }) {
            self.current = self.schedule.value(progress_remaining, updates);
        }
    }

    /// Applies the adaptive-KL rule after a minibatch whose approximate KL was `kl`.
    pub fn observe_kl(&mut self, kl: f64) {
        if let Schedule::AdaptiveKl {
            target_kl,
            min,
            max,
            ..
        } = self.schedule
        {
            if kl > 2.0 * target_kl {
                self.current = (self.current / 1.5).max(min);
            } else if kl < 0.5 * target_kl && kl > 0.0 {
                self.current = (self.current * 1.5).min(max);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affine_matches_the_tutorial() {
        // affine_schedule(y_0=3e-4, y_1=3e-3) evaluated at progress remaining x.
        let s = Schedule::affine(3e-4, 3e-3);
        for x in [1.0, 0.5, 0.0] {
            let tutorial = 3e-4 + x * (3e-3 - 3e-4);
            assert!((s.value(x, 0) - tutorial).abs() < 1e-15);
        }
    }

    #[test]
    fn exponential_decays_per_update() {
        let s = Schedule::Exponential {
            initial: 5e-4,
            factor: 0.9999,
        };
        assert_eq!(s.value(0.3, 0), 5e-4);
        assert!((s.value(0.3, 1000) - 5e-4 * 0.9999f64.powi(1000)).abs() < 1e-18);
    }

    #[test]
    fn adaptive_kl_follows_rsl_rl() {
        let mut v = AdaptiveValue::new(Schedule::adaptive_kl(1e-3, 0.01));
        v.observe_kl(0.05); // > 2 x target
        assert!((v.current - 1e-3 / 1.5).abs() < 1e-15);
        v.observe_kl(0.01); // within the band: unchanged
        assert!((v.current - 1e-3 / 1.5).abs() < 1e-15);
        v.observe_kl(0.001); // < target / 2
        assert!((v.current - 1e-3).abs() < 1e-15);
        for _ in 0..100 {
            v.observe_kl(1.0);
        }
        assert_eq!(v.current, 1e-5);
        v.start_update(0.0, 7); // progress does not move an adaptive value
        assert_eq!(v.current, 1e-5);
    }

    #[test]
    fn invalid_values_are_named() {
        let err = Schedule::Constant(-1.0)
            .validate("learning_rate")
            .unwrap_err();
        assert!(err.contains("learning_rate") && err.contains("-1"), "{err}");
    }
}
