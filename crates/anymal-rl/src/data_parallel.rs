//! Data-parallel gradients on one device: a minibatch's rows are split into shards, each shard's
//! forward and backward runs on its own thread through its own autodiff graph, and the shards'
//! gradients are summed in shard order.
//!
//! Burn runs one graph's operations one after another. At the student's batch of 300 each
//! product is too small to share between cores, so one graph leaves the other cores idle. Shards
//! fill them (`bench_networks` on 2 cores: (c) 1.2-1.9x, (b) 1.3-1.8x). Burn has no such
//! splitter: its data-parallel training (`burn-train`) replicates models across devices, not
//! across the threads of one CPU device.
//!
//! Each shard's loss must be the mean over its rows, as every loss in this crate is; it is
//! weighted by its share of the rows, so the summed gradient is the whole minibatch's up to
//! rounding. One shard runs on the calling thread exactly as a plain backward does. A shard must
//! not draw from the device's random number generator: threads would take its numbers in no fixed
//! order. Draw them for the whole minibatch first.

use std::ops::Range;

use burn::module::Module;
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::tensor::Tensor;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::RlError;

/// How many shards a minibatch's gradient is split into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataParallel {
    /// The most shards; 0 means one per thread of rayon's pool (one per core by default). The
    /// rounding of the summed gradient depends on the number of shards: fix it to reproduce a run
    /// exactly on a machine with another number of cores.
    pub max_shards: usize,
    /// The fewest rows in a shard. Below it, Burn's per-operation costs, and the lock that all
    /// autodiff graphs share, outweigh the second thread: for a network with layers of 64
    /// units, 2 shards of 100 rows took twice as long as one shard of 200. Raise it for small
    /// networks.
    pub min_rows: usize,
}

impl Default for DataParallel {
    /// One shard per core, of at least 128 rows.
    fn default() -> Self {
        Self {
            max_shards: 0,
            min_rows: 128,
        }
    }
}

impl DataParallel {
    /// Every minibatch in one shard, on the calling thread.
    pub fn off() -> Self {
        Self {
            max_shards: 1,
            min_rows: 1,
        }
    }

    /// The number of shards for a minibatch of `rows` rows: at least 1, at most `max_shards`,
    /// each of at least `min_rows` rows.
    pub fn shards(&self, rows: usize) -> usize {
        let max = match self.max_shards {
            0 => rayon::current_num_threads(),
            max => max,
        };
        max.min(rows / self.min_rows.max(1)).max(1)
    }
}

/// `shards` contiguous ranges covering `0..rows`, in order, their lengths differing by at most
/// one (the first ones are the longer).
pub fn shard_ranges(rows: usize, shards: usize) -> Vec<Range<usize>> {
    let shards = shards.clamp(1, rows.max(1));
    let (base, longer) = (rows / shards, rows % shards);
    let mut start = 0;
    (0..shards)
        .map(|shard| {
            let len = base + usize::from(shard < longer);
            start += len;
            start - len..start
        })
        .collect()
}

/// The gradients of the mean loss over `rows` rows, computed in `shards` shards (see the
/// [module documentation](self)), and what `loss` returned beside each shard's loss, in shard
/// order. On a GPU device (one with an adapter identity) there is always one shard.
///
/// `loss(model, rows)` builds the loss of the given rows, a mean over them, on `model`: the
/// model itself for one shard, otherwise a copy of it with its own graph (the same parameter
/// ids and values). Nothing is applied to the model here.
///
/// # Errors
/// When `rows` is 0, and the first error of a shard's `loss`.
pub fn sharded_gradients<M, T>(
    model: &M,
    rows: usize,
    shards: usize,
    loss: impl Fn(&M, Range<usize>) -> crate::Result<(Tensor<1>, T)> + Sync,
) -> crate::Result<(GradientsParams, Vec<T>)>
where
    M: Module + Clone + Send + Sync,
    T: Send,
{
    if rows == 0 {
        return Err(RlError::Config(
            "a minibatch for sharded_gradients has no rows".into(),
        ));
    }
    // A GPU runs one queue: threads would only take turns on it.
    let on_host = model
        .devices()
        .iter()
        .all(|device| device.identity().is_none());
    let ranges = shard_ranges(rows, if on_host { shards } else { 1 });
    if ranges.len() == 1 {
        let (loss, extra) = loss(model, 0..rows)?;
        return Ok((
            GradientsParams::from_grads(loss.backward(), model),
            vec![extra],
        ));
    }
    let shards: Vec<crate::Result<(GradientsParams, T)>> = ranges
        .into_par_iter()
        .map(|range| {
            // Fresh leaves for the same parameter ids: graphs that shared the model's leaves
            // would be merged into one, whose backward holds a lock the other shards wait on.
            // (`Module::fork` would do it too, but in Burn 0.22.1 each fork leaves entries in
            // autodiff's graph index that are never freed: every later operation slows down.)
            let fork = model.valid().train();
            let share = range.len() as f64 / rows as f64;
            let (loss, extra) = loss(&fork, range)?;
            let grads = loss.mul_scalar(share).backward();
            Ok((GradientsParams::from_grads(grads, &fork), extra))
        })
        .collect();
    let mut sum = GradientsAccumulator::new();
    let mut extras = Vec::with_capacity(shards.len());
    for shard in shards {
        let (grads, extra) = shard?;
        sum.accumulate(model, grads);
        extras.push(extra);
    }
    Ok((sum.grads(), extras))
}

/// The element-wise sum of the shards' values (diagnostics already weighted by each shard's
/// share of the rows, so that the sum is the whole minibatch's weighted mean).
pub(crate) fn summed<const N: usize>(shards: impl IntoIterator<Item = [f64; N]>) -> [f64; N] {
    shards.into_iter().fold([0.0; N], |mut sum, shard| {
        for (total, value) in sum.iter_mut().zip(shard) {
            *total += value;
        }
        sum
    })
}

#[cfg(test)]
mod tests {
    use anymal_core::{Mlp, MlpConfig};
    use burn::tensor::{Device, TensorData};

    use super::*;

    const ROWS: usize = 37;

    fn table(rows: usize, cols: usize, scale: f32, device: &Device) -> Tensor<2> {
        let values = (0..rows * cols)
            .map(|i| ((i * 7919 % 101) as f32 / 50.0 - 1.0) * scale)
            .collect();
        Tensor::from_data(TensorData::new(values, [rows, cols]), device)
    }

    /// An MLP, inputs and targets, and the mean squared error of the given rows.
    struct Regression {
        mlp: Mlp,
        inputs: Tensor<2>,
        targets: Tensor<2>,
    }

    impl Regression {
        fn new() -> Self {
            let device = Device::flex().autodiff();
            Self {
                mlp: MlpConfig::new(vec![5, 16, 3]).init(&device),
                inputs: table(ROWS, 5, 1.0, &device),
                targets: table(ROWS, 3, 0.5, &device),
            }
        }

        fn loss(&self, mlp: &Mlp, rows: Range<usize>) -> crate::Result<(Tensor<1>, usize)> {
            let error = mlp.forward(self.inputs.clone().slice(rows.clone()))
                - self.targets.clone().slice(rows.clone());
            Ok((error.powi_scalar(2).mean(), rows.len()))
        }

        /// Every gradient of the MLP, flattened, layer after layer.
        fn gradients(&self, shards: usize) -> (Vec<f32>, Vec<usize>) {
            let (grads, rows) =
                sharded_gradients(&self.mlp, ROWS, shards, |mlp, rows| self.loss(mlp, rows))
                    .unwrap();
            (flatten(&self.mlp, &grads), rows)
        }
    }

    fn flatten(mlp: &Mlp, grads: &GradientsParams) -> Vec<f32> {
        let mut out = Vec::new();
        for layer in &mlp.layers {
            let weight = grads.get::<2>(layer.weight.id).expect("weight gradient");
            out.extend(weight.into_data().try_to_vec::<f32>().unwrap());
            let bias = layer.bias.as_ref().expect("bias");
            let bias = grads.get::<1>(bias.id).expect("bias gradient");
            out.extend(bias.into_data().try_to_vec::<f32>().unwrap());
        }
        out
    }

    #[test]
    fn shards_sum_to_the_whole_minibatch_gradient() {
        let problem = Regression::new();
        let (whole, rows) = problem.gradients(1);
        assert_eq!(rows, vec![ROWS]);
        // One shard is a plain backward, bit for bit.
        let (loss, _) = problem.loss(&problem.mlp, 0..ROWS).unwrap();
        let plain = GradientsParams::from_grads(loss.backward(), &problem.mlp);
        assert_eq!(whole, flatten(&problem.mlp, &plain));

        let (sharded, rows) = problem.gradients(3);
        assert_eq!(rows, vec![13, 12, 12]);
        assert_eq!(sharded.len(), whole.len());
        let scale = whole.iter().fold(0.0f32, |m, g| m.max(g.abs()));
        for (i, (a, b)) in sharded.iter().zip(&whole).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * scale,
                "gradient {i}: {a} in 3 shards, {b} in one"
            );
        }
        // Summed in shard order: the same shards give the same bits every time.
        assert_eq!(problem.gradients(3).0, sharded);
        // An unweighted sum of the shards' means would be about 3x the whole gradient.
        let total: f32 = whole.iter().map(|g| g.abs()).sum();
        let total_sharded: f32 = sharded.iter().map(|g| g.abs()).sum();
        assert!((total_sharded / total - 1.0).abs() < 1e-4);
    }

    #[test]
    fn a_shards_error_is_returned() {
        let problem = Regression::new();
        let failing = |mlp: &Mlp, rows: Range<usize>| {
            if rows.start > 0 {
                return Err(RlError::NonFinite(format!("rows {rows:?}")));
            }
            problem.loss(mlp, rows)
        };
        let Err(error) = sharded_gradients(&problem.mlp, ROWS, 2, failing) else {
            panic!("the second shard fails");
        };
        assert_eq!(
            error.to_string(),
            RlError::NonFinite("rows 19..37".into()).to_string()
        );
        let Err(error) = sharded_gradients(&problem.mlp, 0, 2, |mlp, rows| problem.loss(mlp, rows))
        else {
            panic!("no rows");
        };
        assert!(error.to_string().contains("no rows"), "{error}");
    }

    #[test]
    fn ranges_cover_the_rows_in_order() {
        assert_eq!(shard_ranges(7, 3), vec![0..3, 3..5, 5..7]);
        assert_eq!(shard_ranges(300, 2), vec![0..150, 150..300]);
        assert_eq!(shard_ranges(2, 5), vec![0..1, 1..2]);
        assert_eq!(shard_ranges(5, 0), vec![0..5]);
    }

    #[test]
    fn shards_respect_both_limits() {
        let split = DataParallel {
            max_shards: 4,
            min_rows: 64,
        };
        assert_eq!(split.shards(300), 4);
        assert_eq!(split.shards(150), 2);
        assert_eq!(split.shards(63), 1);
        assert_eq!(DataParallel::off().shards(8300), 1);
        assert!(DataParallel::default().shards(1 << 20) >= 1);
    }
}
