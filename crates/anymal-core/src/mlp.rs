//! The multi-layer perceptron used by every network: Linear layers with LeakyReLU between them,
//! as the PyTorch package's `MLP`.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Tensor;

use crate::fused::{LinearActivation, linear};

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
        let last = self.layers.len() - 1;
        let mut x = x;
        for (i, layer) in self.layers.iter().enumerate() {
            let activation = if i < last || self.final_activation {
                LinearActivation::LeakyRelu
            } else {
                LinearActivation::Identity
            };
            x = linear(layer, x, activation);
        }
        x
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
