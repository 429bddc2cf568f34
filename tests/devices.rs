//! Device selection by name, and the same weights giving the same outputs on every device.

mod common;

use anymal::core::burn::tensor::Device;
use anymal::core::io::{load, save};
use anymal::core::{Anymal, AnymalConfig, ExteroNoise, describe_device, parse_device};
use common::{assert_close, devices, seeded, values};

#[test]
fn unknown_device_names_list_the_valid_ones() {
    let err = parse_device("tpu").unwrap_err().to_string();
    assert_eq!(
        err,
        "unknown device 'tpu': valid devices are flex, ndarray, wgpu"
    );
    assert!(parse_device("FLEX").is_ok());
}

#[test]
fn wgpu_reports_its_adapter() {
    let device = parse_device("wgpu").unwrap();
    let description = describe_device(&device);
    assert!(description.contains("adapter '"), "{description}");
}

#[test]
fn all_devices_agree_within_1e_4() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("anymal.bpk");
    let flex = Device::flex();
    save(&AnymalConfig::new(10).init(&flex).unwrap(), &path).unwrap();

    let mut reference: Option<Vec<Vec<f32>>> = None;
    for (name, device) in devices() {
        let anymal: Anymal = load(&path, &device).unwrap();
        let (p, e, x) = (
            seeded([8, 133], 1, &device),
            seeded([8, 4, 52], 2, &device),
            seeded([8, 50], 3, &device),
        );
        let teacher = anymal
            .forward_teacher(p.clone(), e.clone(), x.clone())
            .unwrap();
        let mut outputs = vec![values(teacher.action), values(teacher.value)];
        let mut hiddens = None;
        for _ in 0..3 {
            let student = anymal
                .forward_student(p.clone(), e.clone(), hiddens, true)
                .unwrap();
            let recon = student.reconstruction.unwrap();
            outputs.extend([
                values(student.action),
                values(recon.privileged),
                values(recon.extero),
            ]);
            hiddens = Some(student.hiddens);
        }
        let loss = anymal
            .distillation_loss(p, e, x, hiddens, ExteroNoise::None)
            .unwrap();
        outputs.push(values(loss.loss));
        match &reference {
            None => reference = Some(outputs),
            Some(expected) => {
                for (i, (a, b)) in outputs.iter().zip(expected).enumerate() {
                    assert_close(&format!("{name} output {i} vs flex"), a, b, 1e-4);
                }
            }
        }
    }
}
