//! `exp`, sigmoid and tanh for f32 without branches or library calls, so that the loops of the
//! fused operations that call them vectorise (libm's `expf` and `expm1f` are one call per value:
//! they took about 5 % of the student's training step, `perf` on `bench_networks` (c)).
//! Hand-written: no maintained crate offers them as inlinable scalar functions.
//!
//! `e^x = 2^k e^r` with `k = round(x / ln 2)` and `|r| <= ln 2 / 2`; `e^r` is its Taylor series
//! to degree 7 (truncation below 6e-9 relative) and `2^k` is built from the exponent bits.
//! Results agree with libm to a few units in the last place (the tests check 2e-7 relative).

/// `ln 2` in two parts, the first exact in few bits, so that `x - k ln 2` loses nothing.
const LN2_HIGH: f32 = 0.693_359_4;
const LN2_LOW: f32 = -2.121_944_4e-4;
/// Adding and subtracting `1.5 * 2^23` rounds an f32 of magnitude below `2^22` to an integer.
const ROUND_TO_INTEGER: f32 = 12_582_912.0;

/// `e^x`. Inputs are clamped to `[-87, 88]`, where `2^k` stays a normal number, so the result
/// lies in `[e^-87, e^88]` (about 1.6e-38 to 1.7e38); NaN stays NaN.
#[inline(always)]
pub(super) fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * std::f32::consts::LOG2_E + ROUND_TO_INTEGER;
    let k = shifted - ROUND_TO_INTEGER;
    let r = (x - k * LN2_HIGH) - k * LN2_LOW;
    let taylor = 1.0
        + r * (1.0
            + r * (1.0 / 2.0
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // k sits in the low mantissa bits of `shifted`: integer arithmetic on the bits gives the
    // exponent of 2^k without a float-to-integer conversion (which does not vectorise well).
    let k_bits = shifted.to_bits().wrapping_sub(ROUND_TO_INTEGER.to_bits());
    taylor * f32::from_bits(k_bits.wrapping_add(127) << 23)
}

/// `e^y - 1` for `y <= 0`, accurate near 0: the Taylor series to degree 8 where `y > -0.35`
/// (truncation below 3e-10 relative), `exp(y) - 1` below.
#[inline(always)]
fn exp_m1_nonpositive(y: f32) -> f32 {
    let near_zero = y
        * (1.0
            + y * (1.0 / 2.0
                + y * (1.0 / 6.0
                    + y * (1.0 / 24.0
                        + y * (1.0 / 120.0
                            + y * (1.0 / 720.0 + y * (1.0 / 5040.0 + y * (1.0 / 40320.0))))))));
    let far = exp(y) - 1.0;
    if y > -0.35 { near_zero } else { far }
}

/// `1 / (1 + e^-x)`.
#[inline(always)]
pub(super) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `tanh(x)` as `-expm1(-2|x|) / (2 + expm1(-2|x|))` with the sign of `x`: accurate near 0,
/// exactly ±1 far from it.
#[inline(always)]
pub(super) fn tanh(x: f32) -> f32 {
    let e = exp_m1_nonpositive(-2.0 * x.abs());
    (-e / (2.0 + e)).copysign(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative error against f64 references over [-100, 100] (below 1e-30, absolute): a grid
    /// that crosses the tanh's two parts and the clamps (`exp` only inside them).
    #[test]
    fn match_f64_references() {
        let mut worst = [0.0f64; 3];
        for i in -20_000..=20_000 {
            let x = i as f32 * 0.005;
            let x64 = x as f64;
            let checks = [
                (
                    exp(x.clamp(-87.0, 88.0)) as f64,
                    x64.clamp(-87.0, 88.0).exp(),
                ),
                (sigmoid(x) as f64, 1.0 / (1.0 + (-x64).exp())),
                (tanh(x) as f64, x64.tanh()),
            ];
            for (worst, (got, want)) in worst.iter_mut().zip(checks) {
                *worst = worst.max(((got - want) / want.abs().max(1e-30)).abs());
            }
        }
        assert!(worst.iter().all(|&w| w < 2e-7), "relative errors {worst:?}");
    }

    #[test]
    fn limits_and_nan() {
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1000.0) > 0.0 && exp(1000.0).is_finite());
        assert_eq!(sigmoid(200.0), 1.0);
        assert!(sigmoid(-200.0) >= 0.0 && sigmoid(-200.0) < 1e-37);
        assert_eq!((tanh(50.0), tanh(-50.0), tanh(0.0)), (1.0, -1.0, 0.0));
        assert!((tanh(1e-6) - 1e-6).abs() < 1e-13);
        assert!(exp(f32::NAN).is_nan() && sigmoid(f32::NAN).is_nan() && tanh(f32::NAN).is_nan());
    }
}
