//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use anymal::core::burn::tensor::{Device, Tensor, TensorData};
use anymal::core::parse_device;

/// The devices every numeric test runs on. wgpu runs on Mesa's software Vulkan (lavapipe) on
/// machines without a GPU; `.ci/run` installs it.
pub fn devices() -> Vec<(&'static str, Device)> {
    ["flex", "ndarray", "wgpu"]
        .into_iter()
        .map(|name| (name, parse_device(name).unwrap()))
        .collect()
}

/// The parity fixture produced by the PyTorch package.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/seed-parity-default")
        .join(name)
}

/// Tensors of a safetensors file, as (shape, values).
pub struct SafetensorsFile {
    bytes: Vec<u8>,
}

impl SafetensorsFile {
    pub fn open(path: PathBuf) -> Self {
        Self {
            bytes: std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        }
    }

    pub fn get(&self, name: &str) -> (Vec<usize>, Vec<f32>) {
        let tensors = safetensors::SafeTensors::deserialize(&self.bytes).unwrap();
        let view = tensors
            .tensor(name)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let values = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        (view.shape().to_vec(), values)
    }

    /// The tensor `name`, or its slice `index` along the first dimension.
    pub fn tensor<const D: usize>(
        &self,
        name: &str,
        index: Option<usize>,
        device: &Device,
    ) -> Tensor<D> {
        let (mut shape, mut values) = self.get(name);
        if let Some(i) = index {
            let len = values.len() / shape[0];
            values = values[i * len..(i + 1) * len].to_vec();
            shape.remove(0);
        }
        Tensor::from_data(TensorData::new(values, shape), device)
    }
}

/// The values of a tensor.
pub fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

/// Largest absolute difference between two value lists of equal length.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Asserts that `actual` is within `tol` of `expected`, element by element.
pub fn assert_close(what: &str, actual: &[f32], expected: &[f32], tol: f32) {
    let diff = max_abs_diff(actual, expected);
    assert!(diff <= tol, "{what}: max abs difference {diff:e} > {tol:e}");
}

/// A tensor of uniform values in [-1, 1) from a fixed-seed generator, identical on every device.
pub fn seeded<const D: usize>(shape: [usize; D], seed: u64, device: &Device) -> Tensor<D> {
    let n = shape.iter().product();
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let values: Vec<f32> = (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}
