//! Sigmoid and tanh in one pass each way: forward writes the output into a fresh buffer (the
//! caller still holds the input) and keeps it; backward multiplies the gradient by the derivative read
//! from that output, `y (1 - y)` or `1 - y^2`. Burn's autodiff sigmoid recomputes the sigmoid
//! in its backward and then takes four more passes (flex, Burn 0.22.1).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::Tensor;

use super::fast_math::{sigmoid, tanh};
use super::{contiguous, for_chunk_pairs, for_row_chunks, plain_input, tracked};

/// An activation whose derivative is a function of its output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputActivation {
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
}

impl OutputActivation {
    #[inline(always)]
    fn derivative(self, y: f32) -> f32 {
        match self {
            Self::Sigmoid => y * (1.0 - y),
            Self::Tanh => 1.0 - y * y,
        }
    }
}

/// `activation(x)` elementwise when `x` is an f32 tensor on flex (with or without autodiff);
/// `None` otherwise, for the caller to use Burn's operations.
pub fn apply<const D: usize>(x: &Tensor<D>, activation: OutputActivation) -> Option<Tensor<D>> {
    if let Some(x) = tracked(x) {
        let (x, node) = x.into_parts();
        let out = forward(x, activation);
        let out = match FusedActivation
            .prepare::<NoCheckpointing>([node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((out.clone(), activation), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        };
        return Some(Tensor::from_primitive::<Autodiff<Flex>>(out));
    }
    let out = forward(plain_input(x)?, activation);
    Some(Tensor::from_primitive::<Flex>(out))
}

fn forward(x: FlexTensor, activation: OutputActivation) -> FlexTensor {
    let mut out = contiguous(x);
    // Copy-on-write: the caller's handle shares the input, so this writes a fresh buffer.
    let values = out.storage_mut::<f32>();
    match activation {
        OutputActivation::Sigmoid => for_row_chunks(values, 1, |values| {
            values.iter_mut().for_each(|value| *value = sigmoid(*value));
        }),
        OutputActivation::Tanh => for_row_chunks(values, 1, |values| {
            values.iter_mut().for_each(|value| *value = tanh(*value));
        }),
    }
    out
}

/// The autodiff node; its state is the output and the activation.
#[derive(Debug)]
struct FusedActivation;

impl Backward<Flex, 1> for FusedActivation {
    type State = (FlexTensor, OutputActivation);

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [Some(parent)] = ops.parents else {
            return;
        };
        let (out, activation) = ops.state;
        let mut grad = contiguous(grads.consume::<Flex>(&ops.node));
        let out = contiguous(out);
        for_chunk_pairs(grad.storage_mut::<f32>(), out.storage(), |grad, out| {
            for (g, &y) in grad.iter_mut().zip(out) {
                *g *= activation.derivative(y);
            }
        });
        grads.register::<Flex>(parent.id, grad);
    }
}

#[cfg(test)]
mod tests {
    use super::super::max_difference;
    use super::*;
    use burn::tensor::activation::sigmoid;
    use burn::tensor::{Device, Distribution};

    /// Values and gradients against Burn's sigmoid and tanh, on flex with and without
    /// autodiff, for a small tensor and one spread over several parallel chunks.
    #[test]
    fn match_burn_values_and_gradients() {
        let device = Device::flex().autodiff();
        for activation in [OutputActivation::Sigmoid, OutputActivation::Tanh] {
            for rows in [3, 1000] {
                let x = Tensor::<2>::random([rows, 37], Distribution::Normal(0.0, 3.0), &device)
                    .require_grad();
                let weights = Tensor::<2>::random([rows, 37], Distribution::Default, &device);
                let reference = match activation {
                    OutputActivation::Sigmoid => sigmoid(x.clone()),
                    OutputActivation::Tanh => x.clone().tanh(),
                };
                let fused = apply(&x, activation).expect("flex takes the fused path");
                assert!(max_difference(fused.clone(), reference.clone()) < 1e-6);
                let fused_grad = x.grad(&(fused * weights.clone()).sum().backward()).unwrap();
                let reference_grad = x.grad(&(reference.clone() * weights).sum().backward());
                assert!(max_difference(fused_grad, reference_grad.unwrap()) < 1e-6);

                let plain = apply(&x.clone().inner(), activation);
                assert_eq!(plain.is_some(), rows * 37 >= super::super::PLAIN_MIN_VALUES);
                if let Some(plain) = plain {
                    assert!(max_difference(plain, reference.inner()) < 1e-6);
                }
            }
        }
    }

    #[test]
    fn tanh_is_exact_in_the_tails_and_odd() {
        let device = Device::flex().autodiff();
        let x = Tensor::<2>::from_floats([[-100.0, -1e-4, 0.0, 1e-4, 100.0]], &device);
        let values: Vec<f32> = apply(&x, OutputActivation::Tanh)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let expected = [-1.0f32, -1e-4, 0.0, 1e-4, 1.0];
        for (got, want) in values.iter().zip(expected) {
            assert!(
                (got - want).abs() <= 1e-7 * want.abs().max(1e-3),
                "{got} vs {want}"
            );
        }
    }

    #[test]
    fn other_devices_use_burn_operations() {
        #[allow(deprecated)]
        let x = Tensor::<2>::zeros([2, 2], &Device::ndarray());
        assert!(apply(&x, OutputActivation::Sigmoid).is_none());
    }
}
