//! Parity with the PyTorch package: its weights, loaded from both file formats, reproduce its
//! outputs (tests/fixtures/seed-parity-default, format in the fixture's config.json) on every
//! device.

mod common;

use anymal::core::burn::tensor::Device;
use anymal::core::pytorch::import_pytorch;
use anymal::core::{Anymal, AnymalConfig, BeliefLayout, ExteroNoise, StudentConfig, TeacherConfig};
use common::{SafetensorsFile, assert_close, devices, fixture, values};

const STEPS: usize = 4;
const TOL: f32 = 1e-5;

fn package_config() -> AnymalConfig {
    AnymalConfig::new(10).with_belief_layout(BeliefLayout::Package)
}

fn check_anymal(anymal: &Anymal, device: &Device, what: &str) {
    let io = SafetensorsFile::open(fixture("io.safetensors"));
    let proprio = |t| io.tensor::<2>("proprio", Some(t), device);
    let extero = |t| io.tensor::<3>("extero", Some(t), device);
    let privileged = |t| io.tensor::<2>("privileged", Some(t), device);

    let teacher = anymal
        .forward_teacher(proprio(0), extero(0), privileged(0))
        .unwrap();
    assert_close(
        &format!("{what} teacher logits"),
        &values(teacher.action),
        &io.get("teacher_logits").1,
        TOL,
    );
    assert_close(
        &format!("{what} teacher values"),
        &values(teacher.value),
        &io.get("teacher_values").1,
        TOL,
    );

    let mut hiddens = None;
    for t in 0..STEPS {
        let out = anymal
            .forward_student(proprio(t), extero(t), hiddens, true)
            .unwrap();
        let recon = out.reconstruction.unwrap();
        let check = |name: &str, actual: Vec<f32>| {
            let key = format!("{name}_t{t}");
            assert_close(&format!("{what} {key}"), &actual, &io.get(&key).1, TOL);
        };
        check("student_logits", values(out.action));
        check("student_hiddens", values(out.hiddens.clone()));
        check("recon_privileged", values(recon.privileged));
        check("recon_extero", values(recon.extero));
        hiddens = Some(out.hiddens);
    }

    let loss = anymal
        .distillation_loss(
            proprio(0),
            extero(0),
            privileged(0),
            None,
            ExteroNoise::None,
        )
        .unwrap();
    assert_close(
        &format!("{what} distillation loss"),
        &values(loss.loss),
        &io.get("anymal_loss_t0").1,
        TOL,
    );
}

#[test]
fn pytorch_weights_reproduce_the_package_outputs_on_every_device() {
    for (name, device) in devices() {
        for file in ["weights.pt", "weights.safetensors"] {
            let anymal = package_config().init(&device).unwrap();
            let anymal = import_pytorch(anymal, fixture(file)).unwrap();
            check_anymal(&anymal, &device, &format!("{name} {file}"));
        }
    }
}

#[test]
fn teacher_and_student_import_their_part_of_an_anymal_file() {
    let device = Device::flex();
    let io = SafetensorsFile::open(fixture("io.safetensors"));
    let teacher = import_pytorch(
        TeacherConfig::new(10).init(&device).unwrap(),
        fixture("weights.pt"),
    )
    .unwrap();
    let out = teacher
        .forward(
            io.tensor("proprio", Some(0), &device),
            io.tensor("extero", Some(0), &device),
            io.tensor("privileged", Some(0), &device),
        )
        .unwrap();
    assert_close(
        "teacher logits",
        &values(out.action),
        &io.get("teacher_logits").1,
        TOL,
    );

    let student_config = StudentConfig::new(10).with_belief_layout(BeliefLayout::Package);
    let student = import_pytorch(
        student_config.init(&device).unwrap(),
        fixture("weights.safetensors"),
    )
    .unwrap();
    let out = student
        .forward(
            io.tensor("proprio", Some(0), &device),
            io.tensor("extero", Some(0), &device),
            None,
            false,
        )
        .unwrap();
    assert_close(
        "student logits",
        &values(out.action),
        &io.get("student_logits_t0").1,
        TOL,
    );
}

#[test]
fn importing_needs_the_package_belief_layout() {
    let device = Device::flex();
    let anymal = AnymalConfig::new(10).init(&device).unwrap();
    let err = import_pytorch(anymal, fixture("weights.pt"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("BeliefLayout::Package"), "{err}");
}

#[test]
fn importing_into_another_configuration_names_the_mismatch() {
    let device = Device::flex();
    let anymal = AnymalConfig::new(12)
        .with_belief_layout(BeliefLayout::Package)
        .init(&device)
        .unwrap();
    let err = import_pytorch(anymal, fixture("weights.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("weights.safetensors"), "{err}");
    assert!(err.contains("action_head.linear.weight"), "{err}");
}

#[test]
fn importing_a_missing_file_names_it() {
    let device = Device::flex();
    let anymal = package_config().init(&device).unwrap();
    let err = import_pytorch(anymal, "no/such/weights.pt")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no/such/weights.pt") && err.contains("no such file"),
        "{err}"
    );
}
