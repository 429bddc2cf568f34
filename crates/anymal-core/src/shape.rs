//! Checks of input shapes and devices done before any tensor work, so that a wrong input fails
//! with a message naming it instead of deep inside a backend.

use burn::tensor::{Device, Tensor};

use crate::error::{Error, Result};

/// Checks a set of inputs that share a leading batch dimension and the model's device.
///
/// The first input checked fixes the batch size; every later one must agree with it.
#[derive(Debug)]
pub(crate) struct BatchShapes {
    batch: Option<usize>,
    device: Device,
}

impl BatchShapes {
    /// Checks for a model whose parameters live on `device`.
    pub(crate) fn on(device: Device) -> Self {
        Self {
            batch: None,
            device,
        }
    }

    /// Checks that `tensor` is `[batch, trailing...]` on the model's device, returning its
    /// batch size.
    pub(crate) fn check<const D: usize>(
        &mut self,
        input: &'static str,
        tensor: &Tensor<D>,
        trailing: &[usize],
    ) -> Result<usize> {
        let actual = tensor.dims();
        let batch = self.batch.unwrap_or(actual[0]);
        let matches = D == trailing.len() + 1
            && actual[0] == batch
            && actual[1..].iter().zip(trailing).all(|(a, e)| a == e);
        if !matches {
            let expected = match self.batch {
                Some(b) => format!(
                    "[{b}{}] (batch size {b} from the inputs before it)",
                    join(trailing)
                ),
                None => format!("[B{}]", join(trailing)),
            };
            return Err(Error::Shape {
                input,
                expected,
                actual: actual.to_vec(),
            });
        }
        let device = tensor.device();
        if device != self.device {
            return Err(Error::Device {
                input,
                expected: format!("{:?}", self.device),
                actual: format!("{device:?}"),
            });
        }
        self.batch = Some(batch);
        Ok(batch)
    }
}

fn join(dims: &[usize]) -> String {
    dims.iter().map(|d| format!(", {d}")).collect()
}
