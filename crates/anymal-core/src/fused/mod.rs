//! Operations fused by hand for Burn's flex CPU device, forward and backward: a Linear layer
//! with its activation ([`linear()`]), sigmoid and tanh ([`activation`]), and a GRU cell's gate
//! arithmetic ([`gru`]).
//!
//! Hand-written because Burn 0.22's flex device runs every tensor operation on its own (it has
//! no operation fusion) and Burn's autodiff stores a graph node, and a fresh buffer, per
//! operation; its sigmoid backward even recomputes the sigmoid and then takes four more passes.
//! These run one pass over the data where Burn takes several, in place where the buffer is not
//! shared, and store what their backward needs (the output) instead of recomputing it.
//!
//! They are Burn backend extensions (Burn's `extension` feature): they read the flex primitives
//! behind the tensors and register their own autodiff nodes. That path is taken for f32 tensors
//! on the flex device, with or without autodiff (Burn's default checkpointing); on every other
//! device (ndarray, wgpu, ...) the same functions run Burn's own operations, so results agree
//! to rounding everywhere (the tests compare values and gradients with Burn's).

pub mod activation;
mod fast_math;
pub mod gru;
pub mod linear;

pub use gru::gru_update;
pub use linear::{LinearActivation, linear, linear_blocks};

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, DType, Flex};
use burn::tensor::Tensor;
use rayon::prelude::*;

/// The autodiff flex primitive behind `tensor`, when it is an f32 tensor on the autodiff flex
/// device with Burn's default checkpointing.
fn tracked<const D: usize>(tensor: &Tensor<D>) -> Option<FloatTensor<Autodiff<Flex>>> {
    if tensor.dtype() != DType::F32 || !tensor.device().is_autodiff() {
        return None;
    }
    tensor.clone().try_into_primitive::<Autodiff<Flex>>().ok()
}

/// Below this many values, acting without autodiff keeps Burn's own operations: at batch 1 the
/// fused path's extra bookkeeping cost more than it saved (measured on `bench_networks` (a)).
const PLAIN_MIN_VALUES: usize = 4096;

/// The flex primitive behind `tensor`, when it is an f32 tensor on the plain flex device.
fn plain<const D: usize>(tensor: &Tensor<D>) -> Option<FlexTensor> {
    if tensor.dtype() != DType::F32 || tensor.device().is_autodiff() {
        return None;
    }
    tensor.clone().try_into_primitive::<Flex>().ok()
}

/// [`plain`] for the input of an operation, which must also hold at least
/// [`PLAIN_MIN_VALUES`] values.
fn plain_input<const D: usize>(tensor: &Tensor<D>) -> Option<FlexTensor> {
    if tensor.shape().num_elements() < PLAIN_MIN_VALUES {
        return None;
    }
    plain(tensor)
}

/// `tensor` as a contiguous buffer starting at offset 0 (copied only when it is not).
fn contiguous(tensor: FlexTensor) -> FlexTensor {
    let whole = tensor.bytes().len() / std::mem::size_of::<f32>();
    match tensor.layout().contiguous_offsets() {
        Some((0, end)) if end == whole => tensor,
        _ => tensor.to_contiguous(),
    }
}

/// Runs `body` compiled for the widest SIMD instructions this CPU offers (AVX-512 or AVX2,
/// detected at run time by `pulp`), so that the loops inlined into it vectorise beyond the
/// SSE2 baseline. `body` is a closure (small loops, which the compiler inlines) or a
/// `pulp::WithSimd` whose `#[inline(always)]` method holds a larger loop.
#[inline(always)]
fn vectorized<Body: pulp::WithSimd>(body: Body) -> Body::Output {
    pulp::Arch::new().dispatch(body)
}

/// Values per parallel chunk: small tensors stay on the calling thread.
const CHUNK_VALUES: usize = 128 * 1024;

/// Rows of `width` values per parallel chunk (at least one).
fn chunk_rows(width: usize) -> usize {
    (CHUNK_VALUES / width.max(1)).max(1)
}

/// Runs `apply` on chunks of whole rows of `width` values, in parallel when there are several,
/// each [`vectorized`].
fn for_row_chunks(values: &mut [f32], width: usize, apply: impl Fn(&mut [f32]) + Sync) {
    let chunk_len = chunk_rows(width) * width;
    if values.len() <= chunk_len {
        vectorized(|| apply(values));
    } else {
        values
            .par_chunks_mut(chunk_len)
            .for_each(|values| vectorized(|| apply(values)));
    }
}

/// Runs `apply` on matching chunks of `values` and `other` (same length), in parallel when
/// there are several, each [`vectorized`].
fn for_chunk_pairs(values: &mut [f32], other: &[f32], apply: impl Fn(&mut [f32], &[f32]) + Sync) {
    if values.len() <= CHUNK_VALUES {
        vectorized(|| apply(values, other));
    } else {
        values
            .par_chunks_mut(CHUNK_VALUES)
            .zip(other.par_chunks(CHUNK_VALUES))
            .for_each(|(values, other)| vectorized(|| apply(values, other)));
    }
}

/// Largest absolute difference between two tensors, for the tests of the fused operations.
#[cfg(test)]
fn max_difference(a: Tensor<2>, b: Tensor<2>) -> f32 {
    (a - b).abs().max().into_scalar::<f32>()
}

/// The message of the panic that `f` raises, for the tests of the fused operations.
#[cfg(test)]
fn panic_message<T>(f: impl FnOnce() -> T) -> String {
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .err()
        .expect("a panic");
    *payload
        .downcast::<String>()
        .expect("a formatted panic message")
}
