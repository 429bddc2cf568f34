//! Rewards of the ground-velocity env.

/// Which reward a step gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpkieReward {
    /// `UpkieGroundVelocity-v1`'s `SurvivalReward`: 1 per step.
    Survival,
    /// The PPO balancer's reward at the tutorial's pin: `1 + exp(-1.5 (a - obs[2])^2)`, `a` the
    /// action. The code calls `obs[2]` the ground velocity; it is the pitch rate (an index bug
    /// upstream fixed later). Kept as it was at the pin.
    Balancer,
    /// The reward upstream's shipped PPO policy was trained with (its `StandingReward`, August
    /// 2023): `1 - |pitch + 0.2 pitch rate| / (pi / 2) - |p + 0.2 ground velocity| / 0.5`, the
    /// pitch and position 0.2 s ahead, each normalised. Its env then ordered the observation
    /// `[pitch, p, ground velocity, pitch rate]`; here the terms are read by meaning.
    Standing,
}

/// The shipped policy's look-ahead (s) and normalisers (rad, m), from its `config.gin`.
const STANDING_LOOKAHEAD: f64 = 0.2;
const STANDING_MAX_PITCH: f64 = std::f64::consts::FRAC_PI_2;
const STANDING_MAX_POSITION: f64 = 0.5;

impl UpkieReward {
    /// The reward for `action` given the observation `obs` after the step.
    pub fn value(self, action: f64, obs: &[f64; 4]) -> f64 {
        let [pitch, position, pitch_rate, velocity] = *obs;
        match self {
            Self::Survival => 1.0,
            Self::Balancer => 1.0 + (-1.5 * (action - pitch_rate).powi(2)).exp(),
            Self::Standing => {
                let pitch_ahead = pitch + STANDING_LOOKAHEAD * pitch_rate;
                let position_ahead = position + STANDING_LOOKAHEAD * velocity;
                1.0 - pitch_ahead.abs() / STANDING_MAX_PITCH
                    - position_ahead.abs() / STANDING_MAX_POSITION
            }
        }
    }
}
