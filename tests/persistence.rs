//! Saving and loading models and configurations in Burn's format.

mod common;

use anymal::core::burn::config::Config;
use anymal::core::burn::tensor::Device;
use anymal::core::io::{load, load_weights, save};
use anymal::core::{ActionKind, Anymal, AnymalConfig, Student, Teacher};
use common::{seeded, values};

fn config() -> AnymalConfig {
    AnymalConfig::new(5)
        .with_proprio_dim(7)
        .with_extero_dim(4)
        .with_privileged_dim(3)
        .with_num_legs(2)
        .with_latent_extero_dim(3)
        .with_student_belief_state_dim(8)
        .with_mlp_hidden(vec![16, 8])
        .with_action_kind(ActionKind::Gaussian { init_log_std: -0.3 })
}

#[test]
fn anymal_round_trips_with_its_configuration_and_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("anymal.bpk");
    let device = Device::flex();
    let mut anymal = config().init(&device).unwrap();
    anymal.normalizer.update(
        seeded([6, 7], 1, &device),
        seeded([6, 2, 4], 2, &device),
        seeded([6, 3], 3, &device),
    );
    save(&anymal, &path).unwrap();

    let loaded: Anymal = load(&path, &device).unwrap();
    assert_eq!(loaded.config().to_string(), anymal.config().to_string());
    let (p, e) = (seeded([2, 7], 4, &device), seeded([2, 2, 4], 5, &device));
    let a = anymal
        .forward_student(p.clone(), e.clone(), None, true)
        .unwrap();
    let b = loaded.forward_student(p, e, None, true).unwrap();
    assert_eq!(values(a.action), values(b.action));
    assert_eq!(values(a.hiddens), values(b.hiddens));
    assert_eq!(
        values(anymal.normalizer.proprio.mean()),
        values(loaded.normalizer.proprio.mean())
    );
    assert_eq!(loaded.normalizer.proprio.count(), 6.0);
    assert_eq!(
        values(anymal.teacher.action_head.log_std.as_ref().unwrap().val()),
        values(loaded.teacher.action_head.log_std.as_ref().unwrap().val())
    );
}

#[test]
fn teacher_and_student_round_trip_on_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let device = Device::flex();
    let teacher = config().teacher().init(&device).unwrap();
    save(&teacher, dir.path().join("teacher.bpk")).unwrap();
    let loaded: Teacher = load(dir.path().join("teacher.bpk"), &device).unwrap();
    let (p, e, x) = (
        seeded([2, 7], 1, &device),
        seeded([2, 2, 4], 2, &device),
        seeded([2, 3], 3, &device),
    );
    assert_eq!(
        values(
            teacher
                .forward(p.clone(), e.clone(), x.clone())
                .unwrap()
                .value
        ),
        values(loaded.forward(p, e, x).unwrap().value)
    );
    let err = load::<Student>(dir.path().join("teacher.bpk"), &device)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("holds a teacher model, not a student"),
        "{err}"
    );
}

#[test]
fn loading_a_file_of_another_configuration_names_the_first_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("anymal.bpk");
    let device = Device::flex();
    save(&config().init(&device).unwrap(), &path).unwrap();
    let other = config().with_mlp_hidden(vec![16, 9]).init(&device).unwrap();
    let err = load_weights(other, &path).unwrap_err().to_string();
    assert!(
        err.contains("parameter 'teacher.trunk.layers.1.weight' has shape [16, 8] in the file but [16, 9] in the model"),
        "{err}"
    );
    assert!(err.contains("anymal.bpk"), "{err}");
}

#[test]
fn missing_and_corrupt_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let device = Device::flex();
    let err = load::<Anymal>(dir.path().join("absent.bpk"), &device)
        .unwrap_err()
        .to_string();
    assert!(err.contains("absent.bpk: no such file"), "{err}");
    let corrupt = dir.path().join("corrupt.bpk");
    std::fs::write(&corrupt, b"definitely not burnpack").unwrap();
    let err = load::<Anymal>(&corrupt, &device).unwrap_err().to_string();
    assert!(
        err.contains("corrupt.bpk: not a readable burnpack file"),
        "{err}"
    );
}

#[test]
fn saving_replaces_a_file_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("anymal.bpk");
    let device = Device::flex();
    save(&config().init(&device).unwrap(), &path).unwrap();
    let second = config().init(&device).unwrap();
    save(&second, &path).unwrap();
    let loaded: Anymal = load(&path, &device).unwrap();
    assert_eq!(
        values(loaded.teacher.trunk.layers[0].weight.val()),
        values(second.teacher.trunk.layers[0].weight.val())
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "temporary files left: {leftovers:?}");
    // Saving into a folder that does not exist fails and leaves nothing behind.
    let err = save(&second, dir.path().join("missing/anymal.bpk"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing/anymal.bpk"), "{err}");
}

#[test]
fn configurations_round_trip_through_json_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    let config = config();
    config.save(&path).unwrap();
    let loaded = AnymalConfig::load(&path).unwrap();
    assert_eq!(loaded.to_string(), config.to_string());
    assert_eq!(
        loaded.action_kind,
        ActionKind::Gaussian { init_log_std: -0.3 }
    );
}
