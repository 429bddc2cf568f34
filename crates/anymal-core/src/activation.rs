//! The activations of the networks, written for speed on Burn's CPU devices without changing
//! the functions (to rounding). Measured with `perf` on `bench_networks`:
//! - Burn's generic LeakyReLU under autodiff goes through `mask_where`, which took a third of
//!   the teacher update's time on flex; ReLU has one-pass kernels forward and backward.
//!   Without autodiff (acting), Burn's LeakyReLU is one pass and is used as is. (On flex the
//!   networks fuse LeakyReLU into their Linear layers: [`crate::fused::linear()`].)
//! - On flex, sigmoid and tanh run the one-pass kernels of [`crate::fused::activation`];
//!   elsewhere Burn's sigmoid, and tanh as `2 sigmoid(2x) - 1` (flex's tanh cost about three
//!   times its sigmoid).

use burn::tensor::Tensor;

use crate::fused::activation::{OutputActivation, apply};

/// Negative slope of LeakyReLU (PyTorch's default).
pub const LEAKY_RELU_SLOPE: f64 = 0.01;

/// LeakyReLU with PyTorch's slope `s`; under autodiff computed as `s x + (1 - s) relu(x)`.
pub fn leaky_relu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if x.device().is_autodiff() {
        burn::tensor::activation::relu(x.clone()).mul_scalar(1.0 - LEAKY_RELU_SLOPE)
            + x.mul_scalar(LEAKY_RELU_SLOPE)
    } else {
        burn::tensor::activation::leaky_relu(x, LEAKY_RELU_SLOPE)
    }
}

/// `1 / (1 + e^-x)`.
pub fn sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    apply(&x, OutputActivation::Sigmoid).unwrap_or_else(|| burn::tensor::activation::sigmoid(x))
}

/// `tanh(x)`; off flex computed as `2 sigmoid(2x) - 1`, whose sigmoid backward keeps the
/// gradient exact and finite.
pub fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    apply(&x, OutputActivation::Tanh).unwrap_or_else(|| {
        burn::tensor::activation::sigmoid(x.mul_scalar(2.0))
            .mul_scalar(2.0)
            .sub_scalar(1.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn values(t: Tensor<1>) -> Vec<f32> {
        t.into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap()
    }

    #[test]
    fn match_the_plain_functions_with_and_without_autodiff() {
        let x = [-3.0f32, -0.5, 0.0, 0.25, 2.0];
        for device in [Device::default(), Device::default().autodiff()] {
            let t = Tensor::<1>::from_data(TensorData::new(x.to_vec(), [5]), &device);
            for (got, &x) in values(leaky_relu(t.clone())).iter().zip(&x) {
                let expected = if x >= 0.0 { x } else { 0.01 * x };
                assert!((got - expected).abs() < 1e-6, "leaky_relu({x}) = {got}");
            }
            for (got, &x) in values(tanh(t)).iter().zip(&x) {
                assert!((got - x.tanh()).abs() < 1e-6, "tanh({x}) = {got}");
            }
        }
    }
}
