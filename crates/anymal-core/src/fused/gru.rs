//! The arithmetic of a GRU cell after its two projections, as one operation forward and
//! backward. From the input gates `gi = x W_i + b_i` and hidden gates `gh = h W_h + b_h`
//! (`[batch, 3 * hidden]`, reset, update and new gates in PyTorch's order) and `h`:
//!
//! ```text
//! r = sigmoid(gi_r + gh_r)      z = sigmoid(gi_z + gh_z)
//! n = tanh(gi_n + r * gh_n)     h' = n + z * (h - n)
//! ```
//!
//! Written with Burn's operations this is sixteen operations (three slices of each projection,
//! sums, two sigmoids, a tanh, products), under autodiff as many graph nodes and fresh buffers,
//! and a backward that writes each slice's gradient into its own zero-filled
//! `[batch, 3 * hidden]` buffer before adding them. Here the forward is one pass that keeps
//! `r, z, n, gh_n` per sample, and the backward one pass that writes both gate gradients:
//!
//! ```text
//! dn = g (1 - z)       dz = g (h - n)          dh = g z
//! da_n = dn (1 - n^2)  da_r = da_n gh_n r (1 - r)   da_z = dz z (1 - z)
//! dgi = [da_r, da_z, da_n]    dgh = [da_r, da_z, r da_n]
//! ```

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::{Tensor, TensorData};
use rayon::prelude::*;

use super::fast_math::{sigmoid, tanh};
use super::{chunk_rows, contiguous, plain, tracked, vectorized};
use crate::activation;

/// The next hidden state `[batch, hidden]` from the input gates and hidden gates
/// (`[batch, 3 * hidden]` each) and the hidden state `h` `[batch, hidden]`.
///
/// # Panics
/// If the shapes do not fit together.
pub fn gru_update(input_gates: Tensor<2>, hidden_gates: Tensor<2>, h: Tensor<2>) -> Tensor<2> {
    let [batch, hidden] = h.dims();
    for (name, gates) in [("input", &input_gates), ("hidden", &hidden_gates)] {
        assert_eq!(
            gates.dims(),
            [batch, 3 * hidden],
            "gru_update: {name} gates of shape {:?} for a hidden state of shape {:?}",
            gates.dims(),
            [batch, hidden]
        );
    }
    flex_update(&input_gates, &hidden_gates, &h)
        .unwrap_or_else(|| update_with_burn_ops(input_gates, hidden_gates, h))
}

/// The same function with Burn's operations, for every device other than flex.
fn update_with_burn_ops(
    input_gates: Tensor<2>,
    hidden_gates: Tensor<2>,
    h: Tensor<2>,
) -> Tensor<2> {
    let [input_r, input_z, input_n] = three_gates(input_gates);
    let [hidden_r, hidden_z, hidden_n] = three_gates(hidden_gates);
    let reset = activation::sigmoid(input_r + hidden_r);
    let update = activation::sigmoid(input_z + hidden_z);
    let new = activation::tanh(input_n + reset * hidden_n);
    new.clone() + update * (h - new)
}

fn three_gates(gates: Tensor<2>) -> [Tensor<2>; 3] {
    let mut parts = gates.chunk(3, 1).into_iter();
    std::array::from_fn(|_| parts.next().expect("chunk(3) gives three parts"))
}

/// The fused operation when the three tensors are f32 on flex (with or without autodiff).
fn flex_update(
    input_gates: &Tensor<2>,
    hidden_gates: &Tensor<2>,
    h: &Tensor<2>,
) -> Option<Tensor<2>> {
    if let (Some(gi), Some(gh), Some(h)) = (tracked(input_gates), tracked(hidden_gates), tracked(h))
    {
        let (gi, gi_node) = gi.into_parts();
        let (gh, gh_node) = gh.into_parts();
        let (h, h_node) = h.into_parts();
        let prepared = FusedGru
            .prepare::<NoCheckpointing>([gi_node, gh_node, h_node])
            .compute_bound()
            .stateful();
        let out = match prepared {
            OpsKind::Tracked(prep) => {
                let h = contiguous(h);
                let (out, saved) = forward(&gi, &gh, &h);
                prep.finish(FusedGruState { saved, h }, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(&gi, &gh, &h).0),
        };
        return Some(Tensor::from_primitive::<Autodiff<Flex>>(out));
    }
    let (gi, gh, h) = (plain(input_gates)?, plain(hidden_gates)?, plain(h)?);
    Some(Tensor::from_primitive::<Flex>(forward(&gi, &gh, &h).0))
}

/// Values per sample that the backward reads: `r, z, n, gh_n`, `hidden` each.
const SAVED_PER_HIDDEN: usize = 4;

/// Forward on flex: `h'`, and `r, z, n, gh_n` per sample (for the backward).
fn forward(gi: &FlexTensor, gh: &FlexTensor, h: &FlexTensor) -> (FlexTensor, Vec<f32>) {
    let [batch, hidden] = [h.layout().shape()[0], h.layout().shape()[1]];
    let (gi, gh, h) = (
        contiguous(gi.clone()),
        contiguous(gh.clone()),
        contiguous(h.clone()),
    );
    let (gi, gh, h): (&[f32], &[f32], &[f32]) = (gi.storage(), gh.storage(), h.storage());
    let mut out = vec![0.0f32; batch * hidden];
    let mut saved = vec![0.0f32; batch * SAVED_PER_HIDDEN * hidden];
    let rows = chunk_rows(hidden);
    if batch <= rows {
        vectorized(ForwardRows {
            inputs: [gi, gh, h],
            hidden,
            first_row: 0,
            out: &mut out,
            saved: &mut saved,
        });
    } else {
        out.par_chunks_mut(rows * hidden)
            .zip(saved.par_chunks_mut(rows * SAVED_PER_HIDDEN * hidden))
            .enumerate()
            .for_each(|(chunk, (out, saved))| {
                vectorized(ForwardRows {
                    inputs: [gi, gh, h],
                    hidden,
                    first_row: chunk * rows,
                    out,
                    saved,
                })
            });
    }
    let out = FlexTensor::from_data(TensorData::new(out, [batch, hidden]));
    (out, saved)
}

/// Values per block of the per-sample loops: one AVX-512 register of f32.
const LANES: usize = 16;

/// The block of `src` starting at `start` (`len <= LANES` values, zero padded) as a local array.
/// The loops work on local arrays because with a dozen slices that might overlap the compiler
/// gave up on vectorising them (too many run-time overlap checks).
#[inline(always)]
fn load(src: &[f32], start: usize, len: usize) -> [f32; LANES] {
    let mut block = [0.0; LANES];
    if len == LANES {
        block.copy_from_slice(&src[start..start + LANES]);
    } else {
        block[..len].copy_from_slice(&src[start..start + len]);
    }
    block
}

/// Writes the first `len` values of `block` to `dst` from `start` on.
#[inline(always)]
fn store(dst: &mut [f32], start: usize, len: usize, block: &[f32; LANES]) {
    if len == LANES {
        dst[start..start + LANES].copy_from_slice(block);
    } else {
        dst[start..start + len].copy_from_slice(&block[..len]);
    }
}

/// The forward of the samples from `first_row` on whose outputs `out` and `saved` hold, from
/// `[gi, gh, h]` of the whole batch; a `pulp::WithSimd`, so that the loop is compiled for the
/// CPU's vector instructions (a closure this size was not inlined there).
struct ForwardRows<'a> {
    inputs: [&'a [f32]; 3],
    hidden: usize,
    first_row: usize,
    out: &'a mut [f32],
    saved: &'a mut [f32],
}

impl pulp::WithSimd for ForwardRows<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let Self {
            inputs: [gi, gh, h],
            hidden,
            first_row,
            out,
            saved,
        } = self;
        let rows = out
            .chunks_exact_mut(hidden)
            .zip(saved.chunks_exact_mut(SAVED_PER_HIDDEN * hidden));
        for (row, (out, saved)) in rows.enumerate() {
            let sample = first_row + row;
            forward_sample(
                &gi[sample * 3 * hidden..(sample + 1) * 3 * hidden],
                &gh[sample * 3 * hidden..(sample + 1) * 3 * hidden],
                &h[sample * hidden..(sample + 1) * hidden],
                out,
                saved,
            );
        }
    }
}

/// One sample's forward from `gi`, `gh` (`3 * hidden` values) and `h`: `h'` into `out` and
/// `r, z, n, gh_n` into `saved` (`4 * hidden` values).
#[inline(always)]
fn forward_sample(gi: &[f32], gh: &[f32], h: &[f32], out: &mut [f32], saved: &mut [f32]) {
    let hidden = h.len();
    for start in (0..hidden).step_by(LANES) {
        let len = LANES.min(hidden - start);
        let gate = |values: &[f32], part: usize| load(values, part * hidden + start, len);
        let (gh_new, h_block) = (gate(gh, 2), load(h, start, len));
        let [mut reset, mut update, mut new, mut out_block] = [[0.0f32; LANES]; 4];
        for (gate_input, gate_hidden, gate) in [
            (gate(gi, 0), gate(gh, 0), &mut reset),
            (gate(gi, 1), gate(gh, 1), &mut update),
        ] {
            for j in 0..LANES {
                gate[j] = sigmoid(gate_input[j] + gate_hidden[j]);
            }
        }
        let gi_new = gate(gi, 2);
        for j in 0..LANES {
            new[j] = tanh(gi_new[j] + reset[j] * gh_new[j]);
            out_block[j] = new[j] + update[j] * (h_block[j] - new[j]);
        }
        store(out, start, len, &out_block);
        for (part, block) in [reset, update, new, gh_new].iter().enumerate() {
            store(saved, part * hidden + start, len, block);
        }
    }
}

/// One sample's backward from its output gradient `g`, `h` and what the forward saved: the
/// gate gradients into `d_gi` and `d_gh` (`3 * hidden` values each) and `h`'s into `d_h`.
#[inline(always)]
fn backward_sample(
    saved: &[f32],
    g: &[f32],
    h: &[f32],
    d_gi: &mut [f32],
    d_gh: &mut [f32],
    d_h: &mut [f32],
) {
    let hidden = h.len();
    for start in (0..hidden).step_by(LANES) {
        let len = LANES.min(hidden - start);
        let part = |part: usize| load(saved, part * hidden + start, len);
        let [reset, update, new, gh_new] = [part(0), part(1), part(2), part(3)];
        let (g, h) = (load(g, start, len), load(h, start, len));
        let [
            mut d_reset,
            mut d_update,
            mut d_new,
            mut d_gh_new,
            mut d_h_block,
        ] = [[0.0f32; LANES]; 5];
        for j in 0..LANES {
            let (r, z, n) = (reset[j], update[j], new[j]);
            d_new[j] = g[j] * (1.0 - z) * (1.0 - n * n);
            d_reset[j] = d_new[j] * gh_new[j] * r * (1.0 - r);
            d_update[j] = g[j] * (h[j] - n) * z * (1.0 - z);
            d_gh_new[j] = r * d_new[j];
            d_h_block[j] = g[j] * z;
        }
        for (part, block) in [d_reset, d_update, d_new].iter().enumerate() {
            store(d_gi, part * hidden + start, len, block);
        }
        for (part, block) in [d_reset, d_update, d_gh_new].iter().enumerate() {
            store(d_gh, part * hidden + start, len, block);
        }
        store(d_h, start, len, &d_h_block);
    }
}

/// The backward of the samples from `first_row` on whose gradients `grads` (`[d_gi, d_gh,
/// d_h]`) hold, from `[saved, g, h]` of the whole batch; a `pulp::WithSimd` as [`ForwardRows`].
struct BackwardRows<'a> {
    inputs: [&'a [f32]; 3],
    hidden: usize,
    first_row: usize,
    grads: [&'a mut [f32]; 3],
}

impl pulp::WithSimd for BackwardRows<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let Self {
            inputs: [saved, grad, h],
            hidden,
            first_row,
            grads: [d_gi, d_gh, d_h],
        } = self;
        let rows = d_gi
            .chunks_exact_mut(3 * hidden)
            .zip(d_gh.chunks_exact_mut(3 * hidden))
            .zip(d_h.chunks_exact_mut(hidden));
        for (row, ((d_gi, d_gh), d_h)) in rows.enumerate() {
            let sample = first_row + row;
            backward_sample(
                &saved[sample * SAVED_PER_HIDDEN * hidden..],
                &grad[sample * hidden..(sample + 1) * hidden],
                &h[sample * hidden..(sample + 1) * hidden],
                d_gi,
                d_gh,
                d_h,
            );
        }
    }
}

/// The autodiff node; its parents are `[input gates, hidden gates, h]`.
#[derive(Debug)]
struct FusedGru;

/// What the backward pass reads: `r, z, n, gh_n` per sample, and `h`.
#[derive(Clone, Debug)]
struct FusedGruState {
    saved: Vec<f32>,
    h: FlexTensor,
}

impl Backward<Flex, 3> for FusedGru {
    type State = FusedGruState;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [gi_parent, gh_parent, h_parent] = ops.parents;
        let FusedGruState { saved, h } = ops.state;
        let grad = contiguous(grads.consume::<Flex>(&ops.node));
        let [batch, hidden] = [h.layout().shape()[0], h.layout().shape()[1]];
        let (grad, h): (&[f32], &[f32]) = (grad.storage(), h.storage());
        let mut d_gi = vec![0.0f32; batch * 3 * hidden];
        let mut d_gh = vec![0.0f32; batch * 3 * hidden];
        let mut d_h = vec![0.0f32; batch * hidden];
        let rows = chunk_rows(hidden);
        if batch <= rows {
            vectorized(BackwardRows {
                inputs: [&saved, grad, h],
                hidden,
                first_row: 0,
                grads: [&mut d_gi, &mut d_gh, &mut d_h],
            });
        } else {
            d_gi.par_chunks_mut(rows * 3 * hidden)
                .zip(d_gh.par_chunks_mut(rows * 3 * hidden))
                .zip(d_h.par_chunks_mut(rows * hidden))
                .enumerate()
                .for_each(|(chunk, ((d_gi, d_gh), d_h))| {
                    vectorized(BackwardRows {
                        inputs: [&saved, grad, h],
                        hidden,
                        first_row: chunk * rows,
                        grads: [d_gi, d_gh, d_h],
                    })
                });
        }
        for (parent, values, width) in [
            (gi_parent, d_gi, 3 * hidden),
            (gh_parent, d_gh, 3 * hidden),
            (h_parent, d_h, hidden),
        ] {
            if let Some(parent) = parent {
                let grad = FlexTensor::from_data(TensorData::new(values, [batch, width]));
                grads.register::<Flex>(parent.id, grad);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{max_difference, panic_message};
    use super::*;
    use burn::tensor::{Device, Distribution};

    /// Values and the gradients of all three inputs against the same function in Burn's
    /// operations, for one sample and for a batch spread over several parallel chunks, with a
    /// strided `h` (a slice of a wider tensor); and the value without autodiff.
    #[test]
    fn matches_burn_operations() {
        let device = Device::flex().autodiff();
        let hidden = 50;
        for batch in [1, 700] {
            let random = |width| {
                Tensor::<2>::random([batch, width], Distribution::Normal(0.0, 2.0), &device)
                    .require_grad()
            };
            let (gi, gh, wide_h) = (random(3 * hidden), random(3 * hidden), random(2 * hidden));
            // Each graph slices `h` itself: one backward consumes the nodes it reaches.
            let h = || wide_h.clone().narrow(1, hidden, hidden);
            let weights = Tensor::<2>::random([batch, hidden], Distribution::Default, &device);

            let fused = gru_update(gi.clone(), gh.clone(), h());
            let reference = update_with_burn_ops(gi.clone(), gh.clone(), h());
            assert!(max_difference(fused.clone(), reference.clone()) < 1e-6);
            let fused_grads = (fused * weights.clone()).sum().backward();
            let reference_grads = (reference.clone() * weights).sum().backward();
            for (name, input) in [("input gates", &gi), ("hidden gates", &gh), ("h", &wide_h)] {
                let difference = max_difference(
                    input.grad(&fused_grads).unwrap(),
                    input.grad(&reference_grads).unwrap(),
                );
                assert!(difference < 1e-6, "{name}: {difference}");
            }

            let plain = gru_update(gi.inner(), gh.inner(), h().inner());
            assert!(max_difference(plain, reference.inner()) < 1e-6);
        }
    }

    #[test]
    fn names_mismatched_shapes() {
        let device = Device::flex();
        let message = panic_message(|| {
            gru_update(
                Tensor::zeros([4, 30], &device),
                Tensor::zeros([4, 30], &device),
                Tensor::zeros([4, 9], &device),
            )
        });
        assert!(
            message.contains("[4, 30]") && message.contains("[4, 9]"),
            "{message}"
        );
    }

    #[test]
    fn other_devices_use_burn_operations() {
        #[allow(deprecated)]
        let h = Tensor::<2>::zeros([2, 3], &Device::ndarray());
        assert!(
            flex_update(
                &Tensor::zeros([2, 9], &h.device()),
                &Tensor::zeros([2, 9], &h.device()),
                &h
            )
            .is_none()
        );
    }
}
