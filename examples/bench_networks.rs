//! The seed's three network workloads, per device, beside the PyTorch package measured in the
//! same run with `--anchors` (`benches/anchors/networks.py`, 2 threads; rounds alternate which
//! side runs first, medians over the rounds):
//! (a) student one-step inference latency at batch 1,
//! (b) teacher forward + backward + Adam step at batch 8300 (PPO clipped-surrogate loss),
//! (c) student 10-step truncated BPTT forward + backward + Adam at batch 300 (distillation loss).
//!
//! `cargo run --release --example bench_networks -- --devices flex,ndarray,wgpu [--anchors]`

use std::time::{Duration, Instant};

use anymal::core::burn::optim::AdamConfig;
use anymal::core::burn::tensor::{Device, Distribution, Tensor, TensorData};
use anymal::core::{AnymalConfig, ExteroNoise, describe_device, parse_device};
use anymal::rl::{DataParallel, sharded_gradients};
use clap::Parser;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// mimalloc keeps freed training buffers for reuse; glibc's malloc gives large ones back to the
/// OS and faults them in again on the next step (README, "Benchmarks").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The workloads: their letter and name.
const WORKLOADS: [(&str, &str); 3] = [
    ("a", "(a) student step, batch 1"),
    ("b", "(b) teacher fwd+bwd+Adam, batch 8300"),
    ("c", "(c) student 10-step TBPTT+Adam, batch 300"),
];

#[derive(Parser)]
#[command(
    about = "Network benchmark: the seed's three workloads per device beside the PyTorch package.",
    allow_negative_numbers = true
)]
struct Args {
    /// Comma-separated devices to measure.
    #[arg(long, default_value = "flex,ndarray,wgpu")]
    devices: String,
    /// Timed repetitions of (a).
    #[arg(long, default_value_t = 300)]
    latency_iters: usize,
    /// Timed repetitions of (b) and (c).
    #[arg(long, default_value_t = 10)]
    train_iters: usize,
    /// Row shards of (b) and (c), each on its own thread; 0: one per core.
    #[arg(long, default_value_t = 0)]
    shards: usize,
    /// Comma-separated workloads to run (a, b, c), for profiling one of them.
    #[arg(long, default_value = "a,b,c")]
    workloads: String,
    /// Also measure the anchor in the same run (README, "Benchmarks").
    #[command(flatten)]
    anchors: anymal::anchors::AnchorArgs,
    /// Rounds of the Rust side and the anchor, alternating which goes first; medians.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

fn main() -> std::process::ExitCode {
    anymal::cli::report(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let chosen: Vec<&str> = args.workloads.split(',').map(str::trim).collect();
    let workloads: Vec<_> = WORKLOADS
        .iter()
        .filter(|(letter, _)| chosen.contains(letter))
        .collect();
    let anchors = args.anchors.prepare()?;
    let anchor_args = vec![
        "--latency-iters".to_string(),
        args.latency_iters.to_string(),
        "--train-iters".to_string(),
        args.train_iters.to_string(),
        "--workloads".to_string(),
        args.workloads.clone(),
    ];
    let devices: Vec<&str> = args.devices.split(',').map(str::trim).collect();
    // Per round: each device's medians, and the anchor's, in workload order.
    let mut rust: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); workloads.len()]; devices.len()];
    let mut pytorch: Vec<Vec<f64>> = vec![Vec::new(); workloads.len()];
    for round in 0..args.rounds.max(1) {
        let anchor = |pytorch: &mut Vec<Vec<f64>>| -> Result<(), Box<dyn std::error::Error>> {
            if let Some(anchors) = &anchors {
                let result = anchors.run("networks.py", &anchor_args)?;
                for ((letter, _), times) in workloads.iter().zip(pytorch.iter_mut()) {
                    let seconds = result[*letter]
                        .as_f64()
                        .ok_or_else(|| format!("networks.py printed no '{letter}': {result}"))?;
                    times.push(seconds);
                }
            }
            Ok(())
        };
        let anchor_first = round % 2 == 1;
        if anchor_first {
            anchor(&mut pytorch)?;
        }
        for (name, medians) in devices.iter().zip(rust.iter_mut()) {
            let device = parse_device(name)?;
            let split = DataParallel {
                max_shards: args.shards,
                ..DataParallel::default()
            };
            if round == 0 {
                println!("{}", describe_device(&device));
            }
            device.seed(0);
            for ((letter, _), times) in workloads.iter().zip(medians.iter_mut()) {
                times.push(match *letter {
                    "a" => student_step_latency(&device, args.latency_iters)?,
                    "b" => teacher_update(&device, args.train_iters, split)?,
                    _ => student_tbptt_update(&device, args.train_iters, split)?,
                });
            }
        }
        if !anchor_first {
            anchor(&mut pytorch)?;
        }
    }
    let median = |mut xs: Vec<f64>| {
        xs.sort_by(f64::total_cmp);
        xs[xs.len() / 2]
    };
    let pytorch: Vec<Option<f64>> = pytorch
        .into_iter()
        .map(|times| (!times.is_empty()).then(|| median(times)))
        .collect();
    println!(
        "\n{} round(s); in odd rounds the anchor ran first\n",
        args.rounds.max(1)
    );
    println!(
        "| workload | device | median | PyTorch package (2 threads, same run) | speed-up vs PyTorch |"
    );
    println!("|---|---|---|---|---|");
    for (name, medians) in devices.iter().zip(rust) {
        for (((_, workload), times), anchor) in workloads.iter().zip(medians).zip(&pytorch) {
            let ours = median(times);
            let (theirs, ratio) = match anchor {
                Some(t) => (show(*t), format!("{:.2}x", t / ours)),
                None => (anymal::anchors::NOT_MEASURED.to_string(), "-".to_string()),
            };
            println!(
                "| {workload} | {name} | {} | {theirs} | {ratio} |",
                show(ours)
            );
        }
    }
    println!("\n{}", machine_check()?);
    Ok(())
}

/// The speed of a bare 8300 x 256 x 256 matmul on flex, measured in the same run: this VM's
/// speed varies with its neighbours, so compare runs through this line.
fn machine_check() -> Result<String, Box<dyn std::error::Error>> {
    let device = Device::flex();
    let (lhs, rhs) = (randn([8300, 256], &device), randn([256, 256], &device));
    let median = median_of(20, || {
        lhs.clone().matmul(rhs.clone()).into_data();
        Ok(())
    })?;
    let gflops = 2.0 * 8300.0 * 256.0 * 256.0 / median / 1e9;
    Ok(format!(
        "machine check: flex matmul 8300x256x256 in {} ({gflops:.0} GFLOPS)",
        show(median)
    ))
}

fn randn<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
}

/// Median of `iters` timings of `step`, after three untimed warm-up calls.
fn median_of(
    iters: usize,
    mut step: impl FnMut() -> Result<(), Box<dyn std::error::Error>>,
) -> Result<f64, Box<dyn std::error::Error>> {
    for _ in 0..3 {
        step()?;
    }
    let mut times: Vec<Duration> = Vec::with_capacity(iters);
    for _ in 0..iters {
        let start = Instant::now();
        step()?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2].as_secs_f64())
}

/// (a) One student step at batch 1 without autodiff, hidden state carried, action read back.
fn student_step_latency(device: &Device, iters: usize) -> Result<f64, Box<dyn std::error::Error>> {
    let anymal = AnymalConfig::new(10).init(device)?;
    let (proprio, extero) = (randn([1, 133], device), randn([1, 4, 52], device));
    let mut hiddens = Some(anymal.student.initial_hiddens(1, device));
    median_of(iters, || {
        let out = anymal.forward_student(proprio.clone(), extero.clone(), hiddens.take(), false)?;
        out.action.into_data();
        hiddens = Some(out.hiddens);
        Ok(())
    })
}

/// (b) One PPO minibatch update of the teacher at batch 8300, the minibatch split into
/// row shards on all cores (`anymal_rl::data_parallel`).
fn teacher_update(
    device: &Device,
    iters: usize,
    split: DataParallel,
) -> Result<f64, Box<dyn std::error::Error>> {
    let device = device.clone().autodiff();
    let batch = 8300;
    let mut teacher = AnymalConfig::new(10).init(&device)?.teacher;
    let mut optimizer = AdamConfig::new().init();
    let (proprio, extero, privileged) = (
        randn([batch, 133], &device),
        randn([batch, 4, 52], &device),
        randn([batch, 50], &device),
    );
    let actions =
        Tensor::<2>::random([batch, 1], Distribution::Uniform(0.0, 10.0), &device).floor();
    let (old_log_probs, advantages, returns) = (
        randn([batch], &device).sub_scalar(2.3),
        randn([batch], &device),
        randn([batch], &device),
    );
    let shards = split.shards(batch);
    median_of(iters, || {
        let (grads, _) = sharded_gradients(&teacher, batch, shards, |teacher, rows| {
            let take = |x: &Tensor<1>| x.clone().slice(rows.clone());
            let out = teacher.forward(
                proprio.clone().slice(rows.clone()),
                extero.clone().slice(rows.clone()),
                privileged.clone().slice(rows.clone()),
            )?;
            let dist = teacher.distribution(out.action);
            let ratio =
                (dist.log_prob(actions.clone().slice(rows.clone())) - take(&old_log_probs)).exp();
            let advantages = take(&advantages);
            let surrogate =
                (ratio.clone() * advantages.clone()).min_pair(ratio.clamp(0.8, 1.2) * advantages);
            let value_loss = (out.value - take(&returns)).powi_scalar(2).mean();
            let loss = surrogate.mean().neg() + value_loss.mul_scalar(0.5)
                - dist.entropy().mean().mul_scalar(0.005);
            Ok((loss, ()))
        })?;
        teacher = optimizer.step(5e-4, teacher.clone(), grads);
        teacher.trunk.layers[0].weight.val().into_data();
        Ok(())
    })
}

/// (c) Ten student steps with the hidden state carried, one backward through all of them, Adam;
/// the batch split into row shards on all cores, as `StudentTrainer` does.
fn student_tbptt_update(
    device: &Device,
    iters: usize,
    split: DataParallel,
) -> Result<f64, Box<dyn std::error::Error>> {
    let device = device.clone().autodiff();
    let (batch, steps) = (300, 10);
    let mut anymal = AnymalConfig::new(10)
        .init(&device)?
        .init_student_with_teacher();
    let mut optimizer = AdamConfig::new().init();
    let inputs: Vec<_> = (0..steps)
        .map(|_| {
            (
                randn([batch, 133], &device),
                randn([batch, 4, 52], &device),
                randn([batch, 50], &device),
            )
        })
        .collect();
    let clean_heights = inputs
        .iter()
        .map(|(_, extero, _)| extero.to_data().try_to_vec::<f32>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{e:?}"))?;
    let shards = split.shards(batch);
    let mut iteration = 0;
    median_of(iters, || {
        iteration += 1;
        let noisy = noisy_heights(&clean_heights, [batch, 4, 52], iteration, &device);
        let (grads, _) = sharded_gradients(&anymal, batch, shards, |anymal, rows| {
            let mut hiddens = None;
            let mut total: Option<Tensor<1>> = None;
            for ((proprio, extero, privileged), noisy) in inputs.iter().zip(&noisy) {
                let out = anymal.distillation_loss(
                    proprio.clone().slice(rows.clone()),
                    extero.clone().slice(rows.clone()),
                    privileged.clone().slice(rows.clone()),
                    hiddens,
                    ExteroNoise::Observed(noisy.clone().slice(rows.clone())),
                )?;
                hiddens = Some(out.student.hiddens);
                total = Some(match total {
                    None => out.loss,
                    Some(sum) => sum + out.loss,
                });
            }
            Ok((total.expect("ten steps").div_scalar(steps as f64), ()))
        })?;
        anymal = optimizer.step(5e-4, anymal.clone(), grads);
        anymal.student.trunk.layers[0].weight.val().into_data();
        Ok(())
    })
}

/// The package's height noise, `U[0, 1) * 0.1` added to the clean heights of each step, drawn
/// for the whole batch (shards must not draw from a shared generator) and on all cores: step `s`
/// of iteration `seed` from its own ChaCha8 stream, so the values do not depend on the number of
/// threads. Burn's `Tensor::random` draws one value at a time on the calling thread (about 7 %
/// of (c)'s CPU time in a profile, with the other core idle).
fn noisy_heights(
    clean: &[Vec<f32>],
    shape: [usize; 3],
    seed: u64,
    device: &Device,
) -> Vec<Tensor<3>> {
    clean
        .par_iter()
        .enumerate()
        .map(|(step, heights)| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(step as u64);
            let noisy: Vec<f32> = heights
                .iter()
                .map(|height| height + 0.1 * rng.random::<f32>())
                .collect();
            Tensor::from_data(TensorData::new(noisy, shape), device)
        })
        .collect()
}

fn show(seconds: f64) -> String {
    if seconds < 1e-3 {
        format!("{:.0} us", seconds * 1e6)
    } else {
        format!("{:.1} ms", seconds * 1e3)
    }
}
