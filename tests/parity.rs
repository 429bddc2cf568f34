//! Parity with the PyTorch package: its weights, loaded from both file formats, reproduce its
//! outputs (tests/fixtures/seed-parity-default, format in the fixture's config.json) on every
//! device.

mod common;

use anymal::core::burn::tensor::{Device, Tensor};
use anymal::core::pytorch::import_pytorch;
use anymal::core::{Anymal, AnymalConfig, BeliefLayout, ExteroNoise, StudentConfig, TeacherConfig};
use common::{SafetensorsFile, assert_close, devices, fixture, values};

const STEPS: usize = 4;
const TOL: f32 = 1e-5;

fn package_config() -> AnymalConfig {
    AnymalConfig::new(10).with_belief_layout(BeliefLayout::Package)
}

/// The fixture's inputs at step 0: proprio, extero, privileged.
fn step_zero_inputs(io: &SafetensorsFile, device: &Device) -> (Tensor<2>, Tensor<3>, Tensor<2>) {
    (
        io.tensor("proprio", Some(0), device),
        io.tensor("extero", Some(0), device),
        io.tensor("privileged", Some(0), device),
    )
}

/// The teacher's logits at step 0 are the package's.
fn assert_package_teacher_logits(action: Tensor<2>, io: &SafetensorsFile) {
    assert_close(
        "teacher logits",
        &values(action),
        &io.get("teacher_logits").1,
        TOL,
    );
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
    let (p, e, x) = step_zero_inputs(&io, &device);
    let out = teacher.forward(p, e, x).unwrap();
    assert_package_teacher_logits(out.action, &io);

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

/// The fixture's weights with the student's height encoder resized to hidden widths
/// `[40, 30]`, as the package's 0.0.22 writes them for `student_extero_encoder_hidden=(40, 30)`;
/// returns the file and its first layer's weight (`[out, in]`, PyTorch's layout).
fn resized_student_encoder_file(dir: &std::path::Path) -> (std::path::PathBuf, Vec<f32>) {
    use safetensors::tensor::{Dtype, SafeTensors, TensorView};
    let bytes = std::fs::read(fixture("weights.safetensors")).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let resized: Vec<(String, Vec<usize>)> = [
        ("0.weight", vec![40, 52]),
        ("0.bias", vec![40]),
        ("2.weight", vec![30, 40]),
        ("2.bias", vec![30]),
        ("4.weight", vec![24, 30]),
        ("4.bias", vec![24]),
    ]
    .into_iter()
    .map(|(name, shape)| (format!("student.extero_encoder.net.{name}"), shape))
    .collect();
    let data: Vec<(String, Vec<usize>, Vec<u8>)> = file
        .tensors()
        .into_iter()
        .filter(|(name, _)| !resized.iter().any(|(r, _)| r == name))
        .map(|(name, view)| (name, view.shape().to_vec(), view.data().to_vec()))
        .chain(resized.iter().map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let values = (0..n).flat_map(|i| ((i % 7) as f32 * 0.01 - 0.03).to_le_bytes());
            (name.clone(), shape.clone(), values.collect())
        }))
        .collect();
    let first = data
        .iter()
        .find(|(name, ..)| name == "student.extero_encoder.net.0.weight")
        .map(|(_, _, b)| {
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        })
        .unwrap()
        .collect();
    let views = data.iter().map(|(name, shape, b)| {
        (
            name.clone(),
            TensorView::new(Dtype::F32, shape.clone(), b).unwrap(),
        )
    });
    let path = dir.join("student-encoder-40-30.safetensors");
    safetensors::serialize_to_file(views, None, &path).unwrap();
    (path, first)
}

#[test]
fn a_student_height_encoder_of_its_own_widths_is_carried_and_imported() {
    let device = Device::flex();
    let dir = tempfile::tempdir().unwrap();
    let (path, first_weight) = resized_student_encoder_file(dir.path());

    let config = package_config().with_student_extero_encoder_hidden(vec![40, 30]);
    let anymal = import_pytorch(config.init(&device).unwrap(), &path).unwrap();
    let weight = anymal.student.extero_encoder.layers[0].weight.val(); // [in, out]
    assert_eq!(weight.dims(), [52, 40]);
    assert_eq!(values(weight.transpose()), first_weight);
    // The teacher is untouched by the student's widths: still the package's outputs.
    let io = SafetensorsFile::open(fixture("io.safetensors"));
    let (p, e, x) = step_zero_inputs(&io, &device);
    assert_package_teacher_logits(anymal.forward_teacher(p, e, x).unwrap().action, &io);
    // The student keeps its own encoder when initialised from the teacher.
    let student = anymal.init_student_with_teacher().student;
    assert_eq!(
        values(student.extero_encoder.layers[0].weight.val().transpose()),
        first_weight
    );

    // The default widths (80, 60) do not fit this file, and the error says where.
    let err = import_pytorch(package_config().init(&device).unwrap(), &path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("student.extero_encoder"), "{err}");
}
