//! Rewards of the ground-velocity env.

/// Which reward a step gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpkieReward {
    /// `UpkieGroundVelocity-v1`'s `SurvivalReward`: 1 per step.
    Survival,
    /// The PPO balancer's reward at the tutorial's pin: `1 + exp(-1.5 (a - obs[2])^2)`, `a` the
    /// action. The code calls `obs[2]` the ground velocity; it is the pitch rate (an index bug
    /// upstream fixed later). Kept as it was, since it is the reward the shipped policy had.
    Balancer,
}

impl UpkieReward {
    /// The reward for `action` given the observation `obs` after the step.
    pub fn value(self, action: f64, obs: &[f64; 4]) -> f64 {
        match self {
            Self::Survival => 1.0,
            Self::Balancer => 1.0 + (-1.5 * (action - obs[2]).powi(2)).exp(),
        }
    }
}
