//! The multi-layer perceptron used by every network: Linear layers with LeakyReLU between them,
//! as the PyTorch package's `MLP`.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Tensor;

use crate::fused::{LinearActivation, linear, linear_blocks};

/// Configuration of an [`Mlp`].
#[derive(Config, Debug)]
pub struct MlpConfig {
    /// Layer widths: input, hidden..., output (at least input and output).
    pub dims: Vec<usize>,
    /// Whether a LeakyReLU follows the last layer too.
    #[config(default = false)]
    pub final_activation: bool,
}

/// Linear layers with LeakyReLU between them.
#[derive(Module, Debug)]
pub struct Mlp {
    /// The layers, input first.
    pub layers: Vec<Linear>,
    #[module(skip)]
    final_activation: bool,
}

impl MlpConfig {
    /// Builds the MLP on `device` with PyTorch's default Linear initialisation.
    pub fn init(&self, device: &burn::tensor::Device) -> Mlp {
        assert!(
            self.dims.len() >= 2,
            "MlpConfig needs at least an input and an output width, got {:?}",
            self.dims
        );
        let layers = self
            .dims
            .windows(2)
            .map(|pair| LinearConfig::new(pair[0], pair[1]).init(device))
            .collect();
        Mlp {
            layers,
            final_activation: self.final_activation,
        }
    }
}

impl Mlp {
    /// Applies the MLP to the last dimension of `x`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        self.forward_from(1, linear(&self.layers[0], x, self.activation_after(0)))
    }

    /// Applies the MLP to `cat(blocks, 1)` without building the concatenation (see
    /// [`linear_blocks`]): for inputs such as `[observations, latents]`.
    pub fn forward_blocks(&self, blocks: Vec<Tensor<2>>) -> Tensor<2> {
        let first = linear_blocks(&self.layers[0], blocks, self.activation_after(0));
        self.forward_from(1, first)
    }

    /// Applies the layers from `first` on.
    fn forward_from<const D: usize>(&self, first: usize, x: Tensor<D>) -> Tensor<D> {
        self.layers
            .iter()
            .enumerate()
            .skip(first)
            .fold(x, |x, (i, layer)| {
                linear(layer, x, self.activation_after(i))
            })
    }

    /// What follows layer `i`: a LeakyReLU, except after the last layer without
    /// `final_activation`.
    fn activation_after(&self, i: usize) -> LinearActivation {
        if i + 1 < self.layers.len() || self.final_activation {
            LinearActivation::LeakyRelu
        } else {
            LinearActivation::Identity
        }
    }

    /// The device of the parameters.
    pub fn device(&self) -> burn::tensor::Device {
        self.layers[0].weight.lazy_device()
    }

    /// Input width.
    pub fn input_dim(&self) -> usize {
        self.layers[0].weight.dims()[0]
    }

    /// Output width.
    pub fn output_dim(&self) -> usize {
        self.layers[self.layers.len() - 1].weight.dims()[1]
    }
}
