//! The PyTorch package's README, line by line, in Rust: a teacher forward, a student forward
//! carrying its hidden state, the full Anymal with `init_student_with_teacher`, the distillation
//! loss and a few Adam steps on it, then acting with the student.
//!
//! `cargo run --release --example anymal_quickstart -- --device flex`

use anymal::core::burn::module::Module;
use anymal::core::burn::optim::{AdamConfig, GradientsParams};
use anymal::core::burn::tensor::{Device, Distribution, Tensor};
use anymal::core::{
    AnymalConfig, ExteroNoise, StudentConfig, TeacherConfig, describe_device, parse_device,
};
use clap::Parser;

#[derive(Parser)]
#[command(
    about = "The PyTorch package's README quickstart: build the teacher and the student, run them once, save and reload.",
    allow_negative_numbers = true
)]
struct Args {
    /// Device: flex (default CPU), ndarray or wgpu.
    #[arg(long, default_value = "flex")]
    device: String,
    /// Seed of the device's random generator.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn randn<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
}

fn main() -> std::process::ExitCode {
    anymal::cli::report(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let device = parse_device(&args.device)?;
    println!("device: {}", describe_device(&device));
    device.seed(args.seed);

    // Teacher
    let teacher = TeacherConfig::new(10).init(&device)?;
    let (proprio, extero, privileged) = (
        randn([1, 133], &device),
        randn([1, 4, 52], &device),
        randn([1, 50], &device),
    );
    let out = teacher.forward(proprio.clone(), extero.clone(), privileged.clone())?;
    println!(
        "teacher: action logits {:?}, values {:?}",
        out.action.dims(),
        out.value.dims()
    );

    // Student, carrying its hidden state from step to step
    let student = StudentConfig::new(10).init(&device)?;
    let mut hiddens = None;
    for _ in 0..3 {
        let out = student.forward(proprio.clone(), extero.clone(), hiddens, false)?;
        println!(
            "student: action logits {:?}, hiddens {:?}",
            out.action.dims(),
            out.hiddens.dims()
        );
        hiddens = Some(out.hiddens);
    }

    // Full Anymal: initialise the student from the teacher, then distil with noisy heights.
    let train_device = device.clone().autodiff();
    let mut anymal = AnymalConfig::new(10)
        .init(&train_device)?
        .init_student_with_teacher();
    let mut optimizer = AdamConfig::new().init();
    let batch = 32;
    let (proprio, extero, privileged) = (
        randn([batch, 133], &train_device),
        randn([batch, 4, 52], &train_device),
        randn([batch, 50], &train_device),
    );
    for step in 0..20 {
        let out = anymal.distillation_loss(
            proprio.clone(),
            extero.clone(),
            privileged.clone(),
            None,
            ExteroNoise::Uniform { strength: 0.1 },
        )?;
        if step % 5 == 0 || step == 19 {
            println!(
                "step {step:2}: loss {:.4} (behaviour {:.2e}, privileged {:.4}, heights {:.4})",
                out.loss.clone().into_scalar::<f32>(),
                out.behaviour.into_scalar::<f32>(),
                out.reconstruction_privileged.into_scalar::<f32>(),
                out.reconstruction_extero.into_scalar::<f32>(),
            );
        }
        let grads = GradientsParams::from_grads(out.loss.backward(), &anymal);
        anymal = optimizer.step(5e-4, anymal, grads);
    }

    // Deploy the student alone: no autodiff, sample an action from its distribution.
    let anymal = anymal.valid();
    let out = anymal.forward_student(
        proprio.without_autodiff(),
        extero.without_autodiff(),
        None,
        false,
    )?;
    let action = anymal.student.distribution(out.action).sample();
    println!(
        "sampled action: {:?}",
        action.into_data().try_to_vec::<f32>()?
    );
    Ok(())
}
