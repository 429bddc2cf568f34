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

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex, TensorMetadata};
use burn::nn::Linear;
use burn::tensor::{Tensor, TensorData};
use rayon::prelude::*;

use super::{chunk_rows, contiguous, for_row_chunks, plain, plain_input, tracked, vectorized};
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
    let rows_2d = x.clone().reshape([rows, d_input]);
    match flex_linear(&rows_2d, &weight, &bias, activation) {
        Some(out) => {
            let mut out_dims = dims;
            out_dims[D - 1] = d_output;
            out.reshape(out_dims)
        }
        None => activation.apply(layer.forward(x)),
    }
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

/// The fused operation when all three tensors are f32 on flex (with or without autodiff);
/// `None` otherwise.
fn flex_linear(
    x: &Tensor<2>,
    weight: &Tensor<2>,
    bias: &Tensor<1>,
    activation: LinearActivation,
) -> Option<Tensor<2>> {
    if let (Some(x), Some(weight), Some(bias)) = (tracked(x), tracked(weight), tracked(bias)) {
        let (x, x_node) = x.into_parts();
        let (weight, weight_node) = weight.into_parts();
        let (bias, bias_node) = bias.into_parts();
        let out = forward(&x, &weight, &bias, activation);
        let out = match FusedLinear
            .prepare::<NoCheckpointing>([x_node, weight_node, bias_node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let state = FusedLinearState {
                    x,
                    weight,
                    out: (activation == LinearActivation::LeakyRelu).then(|| out.clone()),
                };
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(out),
        };
        Some(Tensor::from_primitive::<Autodiff<Flex>>(out))
    } else {
        // A few rows take the fused path whatever their size: they skip gemm's packing.
        let x = if x.dims()[0] <= MAX_FEW_ROWS {
            plain(x)?
        } else {
            plain_input(x)?
        };
        let out = forward(&x, &plain(weight)?, &plain(bias)?, activation);
        Some(Tensor::from_primitive::<Flex>(out))
    }
}

/// Forward on flex: the matmul, then bias and activation in one in-place pass.
fn forward(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: &FlexTensor,
    activation: LinearActivation,
) -> FlexTensor {
    let mut out = matmul(Operand::of(x, false), Operand::of(weight, false));
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

/// The autodiff node of the fused operation; its parents are `[x, weight, bias]`.
#[derive(Debug)]
struct FusedLinear;

/// What the backward pass needs: the input, the weight, and the output when the activation's
/// derivative is read from it.
#[derive(Clone, Debug)]
struct FusedLinearState {
    x: FlexTensor,
    weight: FlexTensor,
    out: Option<FlexTensor>,
}

impl Backward<Flex, 3> for FusedLinear {
    type State = FusedLinearState;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [x_parent, weight_parent, bias_parent] = ops.parents;
        let FusedLinearState { x, weight, out } = ops.state;
        let grad = grads.consume::<Flex>(&ops.node);
        let (grad, bias_grad) = pre_activation_grad(grad, out.as_ref());
        if let Some(parent) = bias_parent {
            grads.register::<Flex>(parent.id, bias_grad);
        }
        if let Some(parent) = weight_parent {
            let weight_grad = matmul(Operand::of(&x, true), Operand::of(&grad, false));
            grads.register::<Flex>(parent.id, weight_grad);
        }
        if let Some(parent) = x_parent {
            let x_grad = matmul(Operand::of(&grad, false), Operand::of(&weight, true));
            grads.register::<Flex>(parent.id, x_grad);
        }
    }
}

/// Turns the output gradient `[rows, width]` into the gradient before the activation (in place
/// when the buffer is not shared; the LeakyReLU's output `out` says where it had slope `s`) and
/// returns it with its column sums, the bias gradient.
fn pre_activation_grad(grad: FlexTensor, out: Option<&FlexTensor>) -> (FlexTensor, FlexTensor) {
    let width = grad.shape()[1];
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

/// A 2-D f32 flex tensor read through its strides, possibly transposed (no copy).
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
        let (rows, cols, row_stride, col_stride) = (shape[0], shape[1], strides[0], strides[1]);
        let operand = Operand {
            data: tensor.storage(),
            offset: layout.start_offset(),
            rows,
            cols,
            row_stride,
            col_stride,
        };
        if transpose {
            Operand {
                rows: cols,
                cols: rows,
                row_stride: col_stride,
                col_stride: row_stride,
                ..operand
            }
        } else {
            operand
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

/// `out = lhs @ rhs` for a few rows when `rhs`'s rows are contiguous, one pass over `rhs` per
/// output row: `out[r] = sum_i lhs[r, i] rhs[i]`, each term a vectorised multiply-add of a row;
/// a `pulp::WithSimd`, so that the loop is compiled for the CPU's vector instructions.
struct FewRowsProduct<'a> {
    lhs: &'a Operand<'a>,
    rhs: &'a Operand<'a>,
    /// `[lhs.rows, rhs.cols]`, zero-filled.
    out: &'a mut [f32],
}

impl pulp::WithSimd for FewRowsProduct<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let Self { lhs, rhs, out } = self;
        let rhs_row = |i: usize| {
            let start = (rhs.offset as isize + i as isize * rhs.row_stride) as usize;
            &rhs.data[start..start + rhs.cols]
        };
        for (r, out_row) in out.chunks_exact_mut(rhs.cols).enumerate() {
            let lhs_row = lhs.offset as isize + r as isize * lhs.row_stride;
            for i in 0..lhs.cols {
                let a = lhs.data[(lhs_row + i as isize * lhs.col_stride) as usize];
                for (o, w) in out_row.iter_mut().zip(rhs_row(i)) {
                    *o += a * w;
                }
            }
        }
    }
}

/// `lhs @ rhs` into a new contiguous tensor, with the `gemm` crate that flex itself uses.
/// Calling it directly writes the product straight into its final buffer: flex's own matmul
/// zero-fills a byte buffer and then copies it to an aligned one (burn-flex 0.22.1).
fn matmul(lhs: Operand, rhs: Operand) -> FlexTensor {
    assert_eq!(
        lhs.cols, rhs.rows,
        "fused linear: matmul inner widths differ"
    );
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    let mut out = Vec::<f32>::with_capacity(m * n);
    if k == 0 {
        out.resize(m * n, 0.0);
    } else if m <= MAX_FEW_ROWS && rhs.col_stride == 1 {
        out.resize(m * n, 0.0);
        vectorized(FewRowsProduct {
            lhs: &lhs,
            rhs: &rhs,
            out: &mut out,
        });
    } else {
        let parallelism = parallelism(m, k, n);
        // SAFETY: the operands' offsets, shapes and strides come from their flex layouts, so
        // every element gemm reads lies in their storage; `out` has room for `m * n` values,
        // gemm writes all of them (`read_dst` is false, so the uninitialised values are never
        // read), and only then is the length set.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                out.as_mut_ptr(),
                1,
                n as isize,
                false,
                lhs.data.as_ptr().add(lhs.offset),
                lhs.col_stride,
                lhs.row_stride,
                rhs.data.as_ptr().add(rhs.offset),
                rhs.col_stride,
                rhs.row_stride,
                0.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            );
            out.set_len(m * n);
        }
    }
    FlexTensor::from_data(TensorData::new(out, [m, n]))
}

#[cfg(test)]
mod tests {
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

    /// The few-rows product reads its input through strides: a transposed input (each row's
    /// values 3 apart) gives Burn's result.
    #[test]
    fn few_rows_read_strided_inputs() {
        let device = Device::flex();
        let layer = LinearConfig::new(37, 45).init(&device);
        let x = Tensor::<2>::random([37, 3], Distribution::Normal(0.0, 1.0), &device).transpose();
        let bias = layer.bias.as_ref().unwrap().val();
        let fused = flex_linear(&x, &layer.weight.val(), &bias, LinearActivation::LeakyRelu);
        assert_close(
            fused.expect("the fused path"),
            LinearActivation::LeakyRelu.apply(layer.forward(x)),
            "strided input",
        );
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
            let out = flex_linear(&x, &weight, &bias, LinearActivation::LeakyRelu);
            assert_eq!(out.is_some(), fused, "{device:?} with {rows} rows");
        }
    }

    #[test]
    fn names_a_wrong_input_width() {
        let layer = LinearConfig::new(3, 2).init(&Device::flex());
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            linear(
                &layer,
                Tensor::<2>::zeros([4, 5], &Device::flex()),
                LinearActivation::Identity,
            )
        }));
        let message = *result.unwrap_err().downcast::<String>().unwrap();
        assert!(
            message.contains("[4, 5]") && message.contains("input width 3"),
            "{message}"
        );
    }
}
