//! A GRU cell with PyTorch `GRUCell`'s equations, and a stack of them stepped one time step at a
//! time. Burn's `Gru` runs whole sequences only, with no per-sample reset, so recurrent rollouts
//! and truncated backpropagation with episode boundaries need this hand-written cell.
//!
//! ```text
//! r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
//! z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
//! n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))
//! h' = (1 - z) * n + z * h
//! ```

use burn::config::Config;
use burn::module::{Initializer, Module};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor, TensorData};

use crate::fused::{LinearActivation, gru_update, linear, linear_blocks};

/// Configuration of a [`GruCell`].
#[derive(Config, Debug)]
pub struct GruCellConfig {
    /// Width of the input.
    pub input_size: usize,
    /// Width of the hidden state.
    pub hidden_size: usize,
}

/// One GRU cell. Both projections compute the three gates (reset, update, new) in one matmul,
/// in PyTorch's order, so `input.weight` is PyTorch's `weight_ih` transposed; the rest of the
/// step is [`gru_update`] (one fused operation on flex).
#[derive(Module, Debug)]
pub struct GruCell {
    /// Input projection, `[input, 3 * hidden]`.
    pub input: Linear,
    /// Hidden-state projection, `[hidden, 3 * hidden]`.
    pub hidden: Linear,
}

impl GruCellConfig {
    /// Builds the cell with PyTorch's initialisation, U(-1/sqrt(hidden), 1/sqrt(hidden)).
    pub fn init(&self, device: &Device) -> GruCell {
        let bound = 1.0 / (self.hidden_size as f64).sqrt();
        let initializer = Initializer::Uniform {
            min: -bound,
            max: bound,
        };
        let gates = 3 * self.hidden_size;
        GruCell {
            input: LinearConfig::new(self.input_size, gates)
                .with_initializer(initializer.clone())
                .init(device),
            hidden: LinearConfig::new(self.hidden_size, gates)
                .with_initializer(initializer)
                .init(device),
        }
    }
}

impl GruCell {
    /// One step: `x` is `[batch, input]`, `h` is `[batch, hidden]`; returns the next `h`.
    pub fn forward(&self, x: Tensor<2>, h: Tensor<2>) -> Tensor<2> {
        self.forward_blocks(vec![x], h)
    }

    /// [`GruCell::forward`] on the input `cat(blocks, 1)`, without building the concatenation
    /// (see [`linear_blocks`]).
    pub fn forward_blocks(&self, blocks: Vec<Tensor<2>>, h: Tensor<2>) -> Tensor<2> {
        let input_gates = linear_blocks(&self.input, blocks, LinearActivation::Identity);
        let hidden_gates = linear(&self.hidden, h.clone(), LinearActivation::Identity);
        gru_update(input_gates, hidden_gates, h)
    }

    /// Width of the hidden state.
    pub fn hidden_size(&self) -> usize {
        self.hidden.weight.dims()[0]
    }
}

/// Configuration of a [`GruStack`].
#[derive(Config, Debug)]
pub struct GruStackConfig {
    /// Width of the input of the first layer.
    pub input_size: usize,
    /// Width of every hidden state.
    pub hidden_size: usize,
    /// Number of stacked cells.
    pub num_layers: usize,
}

/// Stacked GRU cells: the output of each layer is the input of the next.
/// Hidden states are `[batch, layers, hidden]`.
#[derive(Module, Debug)]
pub struct GruStack {
    /// The cells, first layer first.
    pub cells: Vec<GruCell>,
}

impl GruStackConfig {
    /// Builds the stack on `device`.
    pub fn init(&self, device: &Device) -> GruStack {
        let cells = (0..self.num_layers)
            .map(|layer| {
                let input_size = if layer == 0 {
                    self.input_size
                } else {
                    self.hidden_size
                };
                GruCellConfig::new(input_size, self.hidden_size).init(device)
            })
            .collect();
        GruStack { cells }
    }
}

impl GruStack {
    /// One time step. `x` is `[batch, input]`; `hiddens` is `[batch, layers, hidden]`, zeros when
    /// `None`. Returns the last layer's output `[batch, hidden]` and the next hidden states.
    pub fn forward(&self, x: Tensor<2>, hiddens: Option<Tensor<3>>) -> (Tensor<2>, Tensor<3>) {
        self.forward_blocks(vec![x], hiddens)
    }

    /// [`GruStack::forward`] on the input `cat(blocks, 1)`, without building the concatenation
    /// (see [`linear_blocks`]): for inputs such as `[proprio, extero latent]`.
    ///
    /// # Panics
    /// If there are no blocks, or their shapes do not fit the first cell (as [`linear_blocks`]).
    pub fn forward_blocks(
        &self,
        blocks: Vec<Tensor<2>>,
        hiddens: Option<Tensor<3>>,
    ) -> (Tensor<2>, Tensor<3>) {
        assert!(
            !blocks.is_empty(),
            "GruStack::forward_blocks: no input blocks"
        );
        let [batch, _] = blocks[0].dims();
        let hidden_size = self.hidden_size();
        let hiddens = hiddens.unwrap_or_else(|| self.zeros(batch, &blocks[0].device()));
        let h = |layer| {
            hiddens
                .clone()
                .narrow(1, layer, 1)
                .reshape([batch, hidden_size])
        };
        let mut input = self.cells[0].forward_blocks(blocks, h(0));
        let mut next = vec![input.clone()];
        for (layer, cell) in self.cells.iter().enumerate().skip(1) {
            input = cell.forward(input, h(layer));
            next.push(input.clone());
        }
        (input, Tensor::stack(next, 1))
    }

    /// Zero hidden states `[batch, layers, hidden]`.
    pub fn zeros(&self, batch: usize, device: &Device) -> Tensor<3> {
        Tensor::zeros([batch, self.num_layers(), self.hidden_size()], device)
    }

    /// Number of layers.
    pub fn num_layers(&self) -> usize {
        self.cells.len()
    }

    /// Width of the hidden states.
    pub fn hidden_size(&self) -> usize {
        self.cells[0].hidden_size()
    }
}

/// Zeroes the hidden state of every sample whose episode ended: `hiddens` is
/// `[batch, layers, hidden]` and `episode_ended` has one flag per sample; another number of
/// flags is an error naming both counts.
pub fn reset_hiddens(hiddens: Tensor<3>, episode_ended: &[bool]) -> crate::Result<Tensor<3>> {
    let batch = hiddens.dims()[0];
    if episode_ended.len() != batch {
        return Err(crate::Error::Shape {
            input: "episode_ended",
            expected: format!("{batch} flags (one per hidden state)"),
            actual: vec![episode_ended.len()],
        });
    }
    if !episode_ended.iter().any(|&ended| ended) {
        return Ok(hiddens);
    }
    let keep: Vec<f32> = episode_ended
        .iter()
        .map(|&ended| if ended { 0.0 } else { 1.0 })
        .collect();
    let keep = Tensor::<3>::from_data(TensorData::new(keep, [batch, 1, 1]), &hiddens.device());
    Ok(hiddens * keep)
}
