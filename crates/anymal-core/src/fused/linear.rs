//! `activation(x W + b)` of a Burn [`Linear`] layer as one operation, forward and backward.
//!
//! A Linear layer followed by a LeakyReLU costs, under Burn's autodiff, the matmul plus four full
//! passes over the activations forward (bias, and the activation as `s x + (1 - s) relu(x)`, see
//! [`activation`](crate::activation)) and five backward. Here:
//!
//! - forward: the matmul, written by `gemm` straight into the output buffer, then one in-place
//!   pass adding the bias and applying the activation;
//! - backward: one in-place pass turning the output gradient into the pre-activation gradient
//!   (`g * (y > 0 ? 1 : s)`, from the output `y`: LeakyReLU keeps the sign) while summing the
//!   bias gradient, then the two matmuls `x^T g` and `g W^T`.
//!
//! [`linear_blocks`] takes the input as blocks of columns, `cat(blocks, 1)`, without building
//! the concatenation: `sum_i x_i W_i` over the matching row blocks `W_i` of the weight, and
//! backward only the gradients of the blocks that need one. A trunk fed
//! `[proprio, latents]` then neither copies its input forward and backward nor computes a
//! gradient for the observations (about 6 % of the teacher's training multiply-adds).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::nn::Linear;
use burn::tensor::{Shape, Tensor, TensorData};
use rayon::prelude::*;

use super::{PLAIN_MIN_VALUES, chunk_rows, contiguous, for_row_chunks, plain, tracked, vectorized};
use crate::activation::{LEAKY_RELU_SLOPE, leaky_relu};

const SLOPE: f32 = LEAKY_RELU_SLOPE as f32;

/// What follows the affine map in [`linear`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinearActivation {
    /// Nothing: `x W + b`.
    Identity,
    /// PyTorch's LeakyReLU (slope [`LEAKY_RELU_SLOPE`]).
    LeakyRelu,
}

/// `activation(x W + b)` over the last dimension of `x`, with `layer`'s weight and bias.
///
/// # Panics
/// If the last dimension of `x` is not the layer's input width (as [`Linear::forward`]).
pub fn linear<const D: usize>(
    layer: &Linear,
    x: Tensor<D>,
    activation: LinearActivation,
) -> Tensor<D> {
    let weight = layer.weight.val();
    let [d_input, d_output] = weight.dims();
    let dims = x.dims();
    assert!(
        D >= 1 && dims[D - 1] == d_input,
        "linear: input of shape {dims:?} for a layer of input width {d_input}"
    );
    let Some(bias) = layer.bias.as_ref().map(|bias| bias.val()) else {
        return activation.apply(layer.forward(x));
    };
    let rows = dims[..D - 1].iter().product();
    let mut out_dims = dims;
    out_dims[D - 1] = d_output;
    if let Some(x_plain) = plain(&x) {
        // Reshaped as flex primitives, without Burn's operations: at batch 1 each of the two
        // reshapes cost 0.2-0.4 us, against about 1.8 us for a whole 64 x 64 layer.
        let x_2d = x_plain.reshape(Shape::new([rows, d_input]));
        return match plain_forward(&[x_2d], &weight, &bias, activation) {
            Some(out) => Tensor::from_primitive::<Flex>(out.reshape(Shape::from(out_dims))),
            None => activation.apply(layer.forward(x)),
        };
    }
    let rows_2d = x.clone().reshape([rows, d_input]);
    match flex_linear(&[rows_2d], &weight, &bias, activation) {
        Some(out) => out.reshape(out_dims),
        None => activation.apply(layer.forward(x)),
    }
}

/// `activation(cat(blocks, 1) W + b)` with `layer`'s weight and bias, without building the
/// concatenation (see the module documentation).
///
/// # Panics
/// If the blocks' row counts differ or their widths do not add up to the layer's input width.
pub fn linear_blocks(
    layer: &Linear,
    blocks: Vec<Tensor<2>>,
    activation: LinearActivation,
) -> Tensor<2> {
    let weight = layer.weight.val();
    let d_input = weight.dims()[0];
    let shapes: Vec<[usize; 2]> = blocks.iter().map(Tensor::dims).collect();
    let width: usize = shapes.iter().map(|shape| shape[1]).sum();
    assert!(
        !shapes.is_empty()
            && shapes.iter().all(|shape| shape[0] == shapes[0][0])
            && width == d_input,
        "linear_blocks: blocks of shapes {shapes:?} for a layer of input width {d_input}"
    );
    let fused = layer
        .bias
        .as_ref()
        .and_then(|bias| flex_linear(&blocks, &weight, &bias.val(), activation));
    fused.unwrap_or_else(|| activation.apply(layer.forward(Tensor::cat(blocks, 1))))
}

impl LinearActivation {
    /// Applies the activation with Burn's tensor operations.
    fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Self::Identity => x,
            Self::LeakyRelu => leaky_relu(x),
        }
    }
}

/// The fused operation when the blocks, weight and bias are f32 on flex (with or without
/// autodiff); `None` otherwise.
fn flex_linear(
    blocks: &[Tensor<2>],
    weight: &Tensor<2>,
    bias: &Tensor<1>,
    activation: LinearActivation,
) -> Option<Tensor<2>> {
    let tracked_out = match blocks.len() {
        1 => tracked_linear::<3>(blocks, weight, bias, activation),
        2 => tracked_linear::<4>(blocks, weight, bias, activation),
        3 => tracked_linear::<5>(blocks, weight, bias, activation),
        _ => return None,
    };
    if tracked_out.is_some() {
        return tracked_out;
    }
    let blocks = blocks.iter().map(plain).collect::<Option<Vec<_>>>()?;
    let out = plain_forward(&blocks, weight, bias, activation)?;
    Some(Tensor::from_primitive::<Flex>(out))
}

/// The fused forward on the plain flex device, for blocks that are large enough, or a few rows
/// of any size (they skip gemm's packing); `None` otherwise, or when the weight or bias is not
/// on the plain flex device.
fn plain_forward(
    blocks: &[FlexTensor],
    weight: &Tensor<2>,
    bias: &Tensor<1>,
    activation: LinearActivation,
) -> Option<FlexTensor> {
    let values: usize = blocks.iter().map(|x| x.layout().num_elements()).sum();
    if blocks[0].layout().shape()[0] > MAX_FEW_ROWS && values < PLAIN_MIN_VALUES {
        return None;
    }
    Some(forward(blocks, &plain(weight)?, &plain(bias)?, activation))
}

/// The fused operation on flex with autodiff, as a node with `N` parents: the `N - 2` blocks,
/// the weight and the bias.
fn tracked_linear<const N: usize>(
    blocks: &[Tensor<2>],
    weight: &Tensor<2>,
    bias: &Tensor<1>,
    activation: LinearActivation,
) -> Option<Tensor<2>> {
    let mut inputs = Vec::with_capacity(blocks.len());
    let mut nodes = Vec::with_capacity(N);
    for block in blocks {
        let (x, node) = tracked(block)?.into_parts();
        inputs.push(x);
        nodes.push(node);
    }
    let (weight, weight_node) = tracked(weight)?.into_parts();
    let (bias, bias_node) = tracked(bias)?.into_parts();
    nodes.extend([weight_node, bias_node]);
    let nodes: [_; N] = nodes.try_into().ok()?;
    let out = forward(&inputs, &weight, &bias, activation);
    let out = match FusedLinear::<N>
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let state = FusedLinearState {
                blocks: inputs,
                weight,
                out: (activation == LinearActivation::LeakyRelu).then(|| out.clone()),
            };
            prep.finish(state, out)
        }
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Some(Tensor::from_primitive::<Autodiff<Flex>>(out))
}

/// Forward on flex: `sum_i x_i W_i`, then bias and activation in one in-place pass.
fn forward(
    blocks: &[FlexTensor],
    weight: &FlexTensor,
    bias: &FlexTensor,
    activation: LinearActivation,
) -> FlexTensor {
    let weight = Operand::of(weight, false);
    let mut out = sum_of_products(&block_products(blocks, |first, x| {
        (
            Operand::of(x, false),
            weight.row_block(first, x.layout().shape()[1]),
        )
    }));
    let bias = contiguous(bias.clone());
    let bias: &[f32] = bias.storage();
    let leaky = activation == LinearActivation::LeakyRelu;
    for_row_chunks(out.storage_mut::<f32>(), bias.len(), |rows| {
        for row in rows.chunks_exact_mut(bias.len()) {
            for (value, b) in row.iter_mut().zip(bias) {
                *value += b;
            }
            if leaky {
                // Branch-free, so that it vectorises.
                for value in row.iter_mut() {
                    *value = value.max(0.0) + SLOPE * value.min(0.0);
                }
            }
        }
    });
    out
}

/// `f(first, block)` for each block, `first` being the block's first column in the whole input
/// (its first row in the weight).
fn block_products<'a, T>(
    blocks: &'a [FlexTensor],
    mut f: impl FnMut(usize, &'a FlexTensor) -> T,
) -> Vec<T> {
    let mut first = 0;
    blocks
        .iter()
        .map(|x| {
            let item = f(first, x);
            first += x.layout().shape()[1];
            item
        })
        .collect()
}

/// The autodiff node of the fused operation; its `N` parents are the `N - 2` blocks, the weight
/// and the bias.
#[derive(Debug)]
struct FusedLinear<const N: usize>;

/// What the backward pass needs: the input blocks, the weight, and the output when the
/// activation's derivative is read from it.
#[derive(Clone, Debug)]
struct FusedLinearState {
    blocks: Vec<FlexTensor>,
    weight: FlexTensor,
    out: Option<FlexTensor>,
}

impl<const N: usize> Backward<Flex, N> for FusedLinear<N> {
    type State = FusedLinearState;

    fn backward(
        self,
        ops: Ops<Self::State, N>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [block_parents @ .., weight_parent, bias_parent] = ops.parents.as_slice() else {
            unreachable!("a fused linear node has its blocks, a weight and a bias")
        };
        let FusedLinearState {
            blocks,
            weight,
            out,
        } = ops.state;
        let grad = grads.consume::<Flex>(&ops.node);
        let (grad, bias_grad) = pre_activation_grad(grad, out.as_ref());
        if let Some(parent) = bias_parent {
            grads.register::<Flex>(parent.id, bias_grad);
        }
        let grad_operand = Operand::of(&grad, false);
        if let Some(parent) = weight_parent {
            // The weight's gradient, row block by row block: `x_i^T g`.
            let products = block_products(&blocks, |_, x| (Operand::of(x, true), grad_operand));
            grads.register::<Flex>(parent.id, stacked_products(&products));
        }
        let weight = Operand::of(&weight, false);
        let block_grads = block_products(&blocks, |first, x| {
            let width = x.layout().shape()[1];
            (grad_operand, weight.row_block(first, width).transposed())
        });
        for (parent, product) in block_parents.iter().zip(block_grads) {
            if let Some(parent) = parent {
                grads.register::<Flex>(parent.id, sum_of_products(&[product]));
            }
        }
    }
}

/// Turns the output gradient `[rows, width]` into the gradient before the activation (in place
/// when the buffer is not shared; the LeakyReLU's output `out` says where it had slope `s`) and
/// returns it with its column sums, the bias gradient.
fn pre_activation_grad(grad: FlexTensor, out: Option<&FlexTensor>) -> (FlexTensor, FlexTensor) {
    let width = grad.layout().shape()[1];
    let mut grad = contiguous(grad);
    let out = out.map(|out| contiguous(out.clone()));
    let out: Option<&[f32]> = out.as_ref().map(|out| out.storage());
    let values = grad.storage_mut::<f32>();
    let chunk_len = chunk_rows(width) * width;
    // Partial sums per fixed chunk of rows, added in chunk order: the same result for any
    // number of threads.
    let partial_sums: Vec<Vec<f32>> = values
        .par_chunks_mut(chunk_len)
        .enumerate()
        .map(|(chunk, grad_rows)| {
            let mut sums = vec![0.0f32; width];
            let start = chunk * chunk_len;
            let out_rows = out.map(|out| &out[start..start + grad_rows.len()]);
            for (row, grad_row) in grad_rows.chunks_exact_mut(width).enumerate() {
                if let Some(out_rows) = out_rows {
                    let out_row = &out_rows[row * width..(row + 1) * width];
                    for (g, &y) in grad_row.iter_mut().zip(out_row) {
                        *g *= if y > 0.0 { 1.0 } else { SLOPE };
                    }
                }
                for (sum, g) in sums.iter_mut().zip(grad_row.iter()) {
                    *sum += g;
                }
            }
            sums
        })
        .collect();
    let mut bias_grad = vec![0.0f32; width];
    for sums in &partial_sums {
        for (total, sum) in bias_grad.iter_mut().zip(sums) {
            *total += sum;
        }
    }
    let bias_grad = FlexTensor::from_data(TensorData::new(bias_grad, [width]));
    (grad, bias_grad)
}

/// A 2-D f32 flex tensor read through its strides, possibly transposed or a block of its rows
/// (no copy).
#[derive(Clone, Copy)]
struct Operand<'a> {
    data: &'a [f32],
    offset: usize,
    rows: usize,
    cols: usize,
    row_stride: isize,
    col_stride: isize,
}

impl<'a> Operand<'a> {
    /// Views the 2-D `tensor` (or its transpose). Its strides must be positive.
    fn of(tensor: &'a FlexTensor, transpose: bool) -> Self {
        let layout = tensor.layout();
        let (shape, strides) = (layout.shape(), layout.strides());
        assert!(
            shape.num_dims() == 2 && strides.iter().all(|&stride| stride >= 0),
            "fused linear: expected a 2-D tensor with positive strides, got {layout:?}"
        );
        let operand = Operand {
            data: tensor.storage(),
            offset: layout.start_offset(),
            rows: shape[0],
            cols: shape[1],
            row_stride: strides[0],
            col_stride: strides[1],
        };
        if transpose {
            operand.transposed()
        } else {
            operand
        }
    }

    /// The transpose.
    fn transposed(self) -> Self {
        Operand {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// Rows `first..first + rows`.
    fn row_block(self, first: usize, rows: usize) -> Self {
        assert!(
            first + rows <= self.rows,
            "fused linear: rows {first}..{} of {}",
            first + rows,
            self.rows
        );
        Operand {
            offset: (self.offset as isize + first as isize * self.row_stride) as usize,
            rows,
            ..self
        }
    }
}

/// Whether gemm splits an `[m, k] @ [k, n]` product over rayon's threads: only when it is large
/// (flex's rule, 192^3 multiply-adds) and its batch dimension is long (the output's rows, or the
/// shared width of a weight gradient). A short batch leaves gemm too few row blocks to share,
/// and the hand-off costs more than it saves: on 2 cores the student's training step at batch
/// 300 (`bench_networks` (c)) ran about 10 % faster with all of its products on one thread, while
/// the teacher's at batch 8300 (b) ran faster with its large products split.
fn parallelism(m: usize, k: usize, n: usize) -> gemm::Parallelism {
    const MIN_MULTIPLY_ADDS: usize = 192 * 192 * 192;
    const MIN_BATCH: usize = 4096;
    if m * n * k >= MIN_MULTIPLY_ADDS && m.max(k) >= MIN_BATCH {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    }
}

/// Products with at most this many rows (acting at batch 1; the height encoder's 4 legs) skip
/// gemm, which packs the whole right-hand side, the layer's weights, on every call: at batch 1
/// that packing took a fifth of the student's step (`bench_networks` (a)).
const MAX_FEW_ROWS: usize = 4;

/// `out (+)= lhs @ rhs` for a few rows when `rhs`'s rows are contiguous: for each output row, a
/// block of its columns is kept in vector registers while `sum_i lhs[r, i] rhs[i, block]` runs
/// over the block's part of every row of `rhs`, then written once; a `pulp::WithSimd`, so that
/// the loop is compiled for the CPU's vector instructions. (Adding into `out` row by row read and
/// wrote every output block once per term: `bench_networks` (a) spent a third of its time there.)
struct FewRowsProduct<'a> {
    lhs: Operand<'a>,
    rhs: Operand<'a>,
    /// `[lhs.rows, rhs.cols]`, added to.
    out: &'a mut [f32],
}

/// Vectors of output columns kept in registers at a time (64 columns with AVX-512).
const BLOCK_VECTORS: usize = 4;

/// `out[..] += sum_i a(i) rhs_row(i)[first..]` over `terms` terms, for `out` of `V` vectors:
/// even and odd terms go to two sets of `V` accumulators, so that twice as many multiply-adds
/// are in flight (one set waits on the multiply-add latency at `V` < 8), added at the end.
#[inline(always)]
fn add_block<'a, S: pulp::Simd, const V: usize>(
    simd: S,
    terms: usize,
    a: impl Fn(usize) -> f32,
    rhs_row: impl Fn(usize) -> &'a [f32],
    first: usize,
    out: &mut [f32],
) {
    let columns = first..first + V * S::F32_LANES;
    let weights = |i: usize| S::as_simd_f32s(&rhs_row(i)[columns.clone()]).0;
    let (out, _) = S::as_mut_simd_f32s(out);
    let mut even: [S::f32s; V] = std::array::from_fn(|v| out[v]);
    let mut odd: [S::f32s; V] = [simd.splat_f32s(0.0); V];
    let mut i = 0;
    while i + 1 < terms {
        let (a_even, a_odd) = (simd.splat_f32s(a(i)), simd.splat_f32s(a(i + 1)));
        let (w_even, w_odd) = (weights(i), weights(i + 1));
        for v in 0..V {
            even[v] = simd.mul_add_e_f32s(a_even, w_even[v], even[v]);
            odd[v] = simd.mul_add_e_f32s(a_odd, w_odd[v], odd[v]);
        }
        i += 2;
    }
    if i < terms {
        let a_even = simd.splat_f32s(a(i));
        for (sum, &w) in even.iter_mut().zip(weights(i)) {
            *sum = simd.mul_add_e_f32s(a_even, w, *sum);
        }
    }
    for (out, (even, odd)) in out.iter_mut().zip(even.into_iter().zip(odd)) {
        *out = simd.add_f32s(even, odd);
    }
}

impl pulp::WithSimd for FewRowsProduct<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        let Self { lhs, rhs, out } = self;
        let (n, lanes) = (rhs.cols, S::F32_LANES);
        let rhs_row = |i: usize| {
            let start = (rhs.offset as isize + i as isize * rhs.row_stride) as usize;
            &rhs.data[start..start + n]
        };
        for (r, out_row) in out.chunks_exact_mut(n).enumerate() {
            let lhs_row = lhs.offset as isize + r as isize * lhs.row_stride;
            let a = |i: usize| lhs.data[(lhs_row + i as isize * lhs.col_stride) as usize];
            let mut first = 0;
            while first + BLOCK_VECTORS * lanes <= n {
                let out = &mut out_row[first..first + BLOCK_VECTORS * lanes];
                add_block::<S, BLOCK_VECTORS>(simd, lhs.cols, a, rhs_row, first, out);
                first += BLOCK_VECTORS * lanes;
            }
            // The remaining whole vectors as one block: they share the pass over the terms.
            let rest = (n - first) / lanes;
            let out = &mut out_row[first..first + rest * lanes];
            match rest {
                3 => add_block::<S, 3>(simd, lhs.cols, a, rhs_row, first, out),
                2 => add_block::<S, 2>(simd, lhs.cols, a, rhs_row, first, out),
                1 => add_block::<S, 1>(simd, lhs.cols, a, rhs_row, first, out),
                _ => {}
            }
            first += rest * lanes;
            if first < n {
                let mut sum = simd.partial_load_f32s(&out_row[first..]);
                for i in 0..lhs.cols {
                    let w = simd.partial_load_f32s(&rhs_row(i)[first..]);
                    sum = simd.mul_add_e_f32s(simd.splat_f32s(a(i)), w, sum);
                }
                simd.partial_store_f32s(&mut out_row[first..], sum);
            }
        }
    }
}

/// Writes `lhs @ rhs` (`[m, n]`, rows `n` apart) at `out`, or adds it to what is there when
/// `accumulate`; with the `gemm` crate that flex itself uses, or [`FewRowsProduct`].
///
/// # Safety
/// `out` must be valid for writing `m * n` values, and hold initialised values if `accumulate`.
unsafe fn product_into(lhs: Operand, rhs: Operand, out: *mut f32, accumulate: bool) {
    assert_eq!(
        lhs.cols, rhs.rows,
        "fused linear: matmul inner widths differ"
    );
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    let few_rows = m <= MAX_FEW_ROWS && rhs.col_stride == 1;
    if !accumulate && (k == 0 || few_rows) {
        // SAFETY: `out` is valid for `m * n` writes (the caller's contract).
        unsafe { out.write_bytes(0, m * n) };
    }
    if k == 0 {
        return;
    }
    if few_rows {
        // SAFETY: the `m * n` values at `out` are now initialised.
        let out = unsafe { std::slice::from_raw_parts_mut(out, m * n) };
        vectorized(FewRowsProduct { lhs, rhs, out });
        return;
    }
    // SAFETY: the operands' offsets, shapes and strides come from their flex layouts, so every
    // element gemm reads lies in their storage; gemm writes the `m * n` values at `out`, and
    // reads them only when `accumulate` (`read_dst`), when they are initialised.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out,
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr().add(lhs.offset),
            lhs.col_stride,
            lhs.row_stride,
            rhs.data.as_ptr().add(rhs.offset),
            rhs.col_stride,
            rhs.row_stride,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            parallelism(m, k, n),
        );
    }
}

/// `sum_i lhs_i @ rhs_i` (all `[m, n]`) into a new contiguous tensor. Calling gemm directly
/// writes the products straight into their final buffer: flex's own matmul zero-fills a byte
/// buffer and then copies it to an aligned one (burn-flex 0.22.1).
fn sum_of_products(products: &[(Operand, Operand)]) -> FlexTensor {
    let (m, n) = (products[0].0.rows, products[0].1.cols);
    let mut out = Vec::<f32>::with_capacity(m * n);
    for (i, &(lhs, rhs)) in products.iter().enumerate() {
        assert_eq!((lhs.rows, rhs.cols), (m, n), "fused linear: product shapes");
        // SAFETY: `out` has room for `m * n` values, all written by the first product.
        unsafe { product_into(lhs, rhs, out.as_mut_ptr(), i > 0) };
    }
    // SAFETY: the first product wrote all `m * n` values.
    unsafe { out.set_len(m * n) };
    FlexTensor::from_data(TensorData::new(out, [m, n]))
}

/// `[lhs_1 @ rhs_1; lhs_2 @ rhs_2; ...]`, the products (`[m_i, n]`) stacked by rows, into a new
/// contiguous tensor.
fn stacked_products(products: &[(Operand, Operand)]) -> FlexTensor {
    let n = products[0].1.cols;
    let m: usize = products.iter().map(|(lhs, _)| lhs.rows).sum();
    let mut out = Vec::<f32>::with_capacity(m * n);
    let mut first_row = 0;
    for &(lhs, rhs) in products {
        assert_eq!(rhs.cols, n, "fused linear: product shapes");
        // SAFETY: rows `first_row..first_row + lhs.rows` of `out` lie within its capacity.
        unsafe { product_into(lhs, rhs, out.as_mut_ptr().add(first_row * n), false) };
        first_row += lhs.rows;
    }
    // SAFETY: the products wrote all `m * n` values, block after block.
    unsafe { out.set_len(m * n) };
    FlexTensor::from_data(TensorData::new(out, [m, n]))
}

#[cfg(test)]
mod tests {
    use super::super::panic_message;
    use super::*;
    use burn::module::Module;
    use burn::nn::LinearConfig;
    use burn::tensor::{Device, Distribution, Tensor};

    /// Largest difference relative to the largest reference magnitude: below 1e-5 (rounding).
    fn assert_close(got: Tensor<2>, expected: Tensor<2>, what: &str) {
        let scale = expected.clone().abs().max().into_scalar::<f32>().max(1.0);
        let diff = (got - expected).abs().max().into_scalar::<f32>();
        assert!(
            diff / scale < 1e-5,
            "{what}: max difference {diff} at scale {scale}"
        );
    }

    /// Values and all three gradients against Burn's `Linear` + activation, on flex with and
    /// without autodiff, for 2-D and 3-D inputs, batch 1 and a batch spread over several chunks.
    #[test]
    fn matches_burn_linear_and_activation() {
        for activation in [LinearActivation::Identity, LinearActivation::LeakyRelu] {
            for rows in [1, 700] {
                let device = Device::flex().autodiff();
                let layer = LinearConfig::new(37, 45).init(&device);
                let x = Tensor::<3>::random([rows, 2, 37], Distribution::Normal(0.0, 1.0), &device)
                    .require_grad();
                let weights =
                    Tensor::<3>::random([rows, 2, 45], Distribution::Normal(0.0, 1.0), &device);

                let fused = linear(&layer, x.clone(), activation);
                let reference = activation.apply(layer.forward(x.clone()));
                assert_close(
                    fused.clone().reshape([rows * 2, 45]),
                    reference.clone().reshape([rows * 2, 45]),
                    "forward",
                );

                let grads_fused = (fused * weights.clone()).sum().backward();
                let grads_reference = (reference * weights).sum().backward();
                let grad_of =
                    |grads: &burn::tensor::Gradients, t: Tensor<2>| t.grad(grads).unwrap();
                assert_close(
                    x.grad(&grads_fused).unwrap().reshape([rows * 2, 37]),
                    x.grad(&grads_reference).unwrap().reshape([rows * 2, 37]),
                    "input gradient",
                );
                assert_close(
                    grad_of(&grads_fused, layer.weight.val()),
                    grad_of(&grads_reference, layer.weight.val()),
                    "weight gradient",
                );
                let bias = layer.bias.as_ref().unwrap().val();
                assert_close(
                    bias.grad(&grads_fused).unwrap().unsqueeze(),
                    bias.grad(&grads_reference).unwrap().unsqueeze(),
                    "bias gradient",
                );

                let plain = layer.valid();
                let x_plain = x.inner();
                assert_close(
                    linear(&plain, x_plain.clone(), activation).reshape([rows * 2, 45]),
                    activation
                        .apply(plain.forward(x_plain))
                        .reshape([rows * 2, 45]),
                    "forward without autodiff",
                );
            }
        }
    }

    /// Blocks of columns give what the concatenation gives, values and gradients, for two and
    /// three blocks, at 1, 3 and 700 rows (few rows, and gemm adding block after block), with
    /// and without autodiff, the first block untracked as observations are.
    #[test]
    fn blocks_match_the_concatenation() {
        let device = Device::flex().autodiff();
        let layer = LinearConfig::new(15, 9).init(&device);
        let randn =
            |shape: [usize; 2]| Tensor::<2>::random(shape, Distribution::Normal(0.0, 1.0), &device);
        for rows in [1, 3, 700] {
            for widths in [vec![5, 10], vec![5, 7, 3]] {
                let observed = randn([rows, widths[0]]);
                let tracked: Vec<_> = widths[1..]
                    .iter()
                    .map(|&width| randn([rows, width]).require_grad())
                    .collect();
                let blocks: Vec<_> = std::iter::once(observed.clone())
                    .chain(tracked.iter().cloned())
                    .collect();
                let weights = randn([rows, 9]);
                let what = format!("{rows} rows, widths {widths:?}");

                let fused = linear_blocks(&layer, blocks.clone(), LinearActivation::LeakyRelu);
                let reference = LinearActivation::LeakyRelu
                    .apply(layer.forward(Tensor::cat(blocks.clone(), 1)));
                assert_close(fused.clone(), reference.clone(), &what);

                let grads_fused = (fused * weights.clone()).sum().backward();
                let grads_reference = (reference * weights).sum().backward();
                for (i, block) in tracked.iter().enumerate() {
                    assert_close(
                        block.grad(&grads_fused).unwrap(),
                        block.grad(&grads_reference).unwrap(),
                        &format!("{what}: gradient of block {}", i + 1),
                    );
                }
                let weight = layer.weight.val();
                assert_close(
                    weight.grad(&grads_fused).unwrap(),
                    weight.grad(&grads_reference).unwrap(),
                    &format!("{what}: weight gradient"),
                );
                let bias = layer.bias.as_ref().unwrap().val();
                assert_close(
                    bias.grad(&grads_fused).unwrap().unsqueeze(),
                    bias.grad(&grads_reference).unwrap().unsqueeze(),
                    &format!("{what}: bias gradient"),
                );

                let plain = layer.valid();
                let plain_blocks: Vec<_> =
                    blocks.iter().map(|block| block.clone().inner()).collect();
                assert_close(
                    linear_blocks(&plain, plain_blocks.clone(), LinearActivation::Identity),
                    plain.forward(Tensor::cat(plain_blocks, 1)),
                    &format!("{what}: without autodiff"),
                );
            }
        }
    }

    #[test]
    fn blocks_name_mismatched_shapes() {
        let layer = LinearConfig::new(6, 2).init(&Device::flex());
        let blocks = vec![
            Tensor::<2>::zeros([4, 2], &Device::flex()),
            Tensor::<2>::zeros([4, 3], &Device::flex()),
        ];
        let message = panic_message(|| linear_blocks(&layer, blocks, LinearActivation::Identity));
        assert!(
            message.contains("[[4, 2], [4, 3]]") && message.contains("input width 6"),
            "{message}"
        );
    }

    /// The few-rows product reads its input through strides: a transposed input (each row's
    /// values 3 apart) gives Burn's result.
    #[test]
    fn few_rows_read_strided_inputs() {
        let device = Device::flex();
        let layer = LinearConfig::new(37, 45).init(&device);
        let x = Tensor::<2>::random([37, 3], Distribution::Normal(0.0, 1.0), &device).transpose();
        let bias = layer.bias.as_ref().unwrap().val();
        let fused = flex_linear(
            std::slice::from_ref(&x),
            &layer.weight.val(),
            &bias,
            LinearActivation::LeakyRelu,
        );
        assert_close(
            fused.expect("the fused path"),
            LinearActivation::LeakyRelu.apply(layer.forward(x)),
            "strided input",
        );
    }

    /// The few-rows product gives Burn's result at every output width up to 80 (blocks of 4
    /// vectors, the 1 to 3 vectors left, a partial one, with 8 or 16 lanes) and at odd and even
    /// input widths (its two sets of accumulators), for 1 and 4 rows.
    #[test]
    fn few_rows_cover_every_block_shape() {
        let device = Device::flex();
        for rows in [1, MAX_FEW_ROWS] {
            for inputs in [1, 2, 7, 8] {
                for outputs in 1..=80 {
                    let layer = LinearConfig::new(inputs, outputs).init(&device);
                    let x = Tensor::<2>::random(
                        [rows, inputs],
                        Distribution::Normal(0.0, 1.0),
                        &device,
                    );
                    let fused = flex_linear(
                        std::slice::from_ref(&x),
                        &layer.weight.val(),
                        &layer.bias.as_ref().unwrap().val(),
                        LinearActivation::Identity,
                    );
                    assert_close(
                        fused.expect("the fused path"),
                        layer.forward(x),
                        &format!("{rows} rows, {inputs} -> {outputs}"),
                    );
                }
            }
        }
    }

    #[test]
    fn takes_the_fused_path_on_flex_only() {
        #[allow(deprecated)]
        let devices = [
            (Device::flex(), 2048, true),
            (Device::flex(), 2, true),
            (Device::flex(), 8, false),
            (Device::flex().autodiff(), 2, true),
            (Device::ndarray(), 2048, false),
            (Device::ndarray().autodiff(), 2, false),
        ];
        for (device, rows, fused) in devices {
            let x = Tensor::<2>::ones([rows, 3], &device);
            let weight = Tensor::<2>::ones([3, 4], &device);
            let bias = Tensor::<1>::ones([4], &device);
            let out = flex_linear(&[x], &weight, &bias, LinearActivation::LeakyRelu);
            assert_eq!(out.is_some(), fused, "{device:?} with {rows} rows");
        }
    }

    #[test]
    fn names_a_wrong_input_width() {
        let layer = LinearConfig::new(3, 2).init(&Device::flex());
        let message = panic_message(|| {
            linear(
                &layer,
                Tensor::<2>::zeros([4, 5], &Device::flex()),
                LinearActivation::Identity,
            )
        });
        assert!(
            message.contains("[4, 5]") && message.contains("input width 3"),
            "{message}"
        );
    }
}
