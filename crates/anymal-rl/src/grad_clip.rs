//! Global gradient-norm clipping, as PyTorch's `clip_grad_norm_` and PPO's `max_grad_norm`:
//! one norm over all parameters at once, and every gradient scaled by the same factor.
//! Burn's `GradientClippingConfig::Norm` clips each parameter on its own, which is not this.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

/// Scales every gradient of `module` by `min(1, max_norm / (norm + 1e-6))`, where `norm` is the
/// L2 norm of all gradients together; returns the gradients and that norm `[1]` (computed on
/// the device, not read back).
pub fn clip_grad_norm<M: Module>(
    module: &M,
    mut grads: GradientsParams,
    max_norm: f64,
) -> (GradientsParams, Option<Tensor<1>>) {
    struct SumOfSquares<'a> {
        grads: &'a GradientsParams,
        total: Option<Tensor<1>>,
    }
    impl ModuleVisitor for SumOfSquares<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(grad) = self.grads.get::<D>(param.id) {
                let sum = grad.powi_scalar(2).sum();
                self.total = Some(match self.total.take() {
                    Some(total) => total + sum,
                    None => sum,
                });
            }
        }
    }
    struct Scale<'a> {
        grads: &'a mut GradientsParams,
        factor: Tensor<1>,
    }
    impl ModuleVisitor for Scale<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(grad) = self.grads.remove::<D>(param.id) {
                let factor = self.factor.clone().reshape([1; D]);
                self.grads.register(param.id, grad * factor);
            }
        }
    }

    let mut sum = SumOfSquares {
        grads: &grads,
        total: None,
    };
    module.visit(&mut sum);
    let Some(total) = sum.total else {
        return (grads, None);
    };
    let norm = total.sqrt();
    let factor = norm
        .clone()
        .add_scalar(1e-6)
        .recip()
        .mul_scalar(max_norm)
        .clamp_max(1.0);
    module.visit(&mut Scale {
        grads: &mut grads,
        factor,
    });
    (grads, Some(norm))
}
