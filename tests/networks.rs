//! Behaviour of the networks: shapes, errors, GRU resets, belief layouts, the student's
//! initialisation from the teacher, distributions and running statistics.

mod common;

use anymal::core::burn::module::{Module, Param};
use anymal::core::burn::tensor::{Device, Tensor, TensorData};
use anymal::core::io::param_shapes;
use anymal::core::{
    ActionKind, AnymalConfig, BeliefLayout, Categorical, DiagGaussian, ExteroNoise, GruCellConfig,
    RunningStatsConfig, StudentConfig, TeacherConfig, reset_hiddens,
};
use common::{assert_close, devices, max_abs_diff, seeded, values};

fn small_config() -> AnymalConfig {
    AnymalConfig::new(6)
        .with_proprio_dim(9)
        .with_extero_dim(5)
        .with_privileged_dim(4)
        .with_num_legs(2)
        .with_latent_extero_dim(3)
        .with_latent_privileged_dim(2)
        .with_student_belief_state_dim(8)
        .with_student_gru_hidden_size(7)
        .with_mlp_hidden(vec![16, 12])
}

#[test]
fn forward_shapes_follow_the_configuration() {
    let device = Device::flex();
    let anymal = small_config().init(&device).unwrap();
    let out = anymal
        .forward_teacher(
            seeded([3, 9], 1, &device),
            seeded([3, 2, 5], 2, &device),
            seeded([3, 4], 3, &device),
        )
        .unwrap();
    assert_eq!(out.action.dims(), [3, 6]);
    assert_eq!(out.value.dims(), [3]);

    let out = anymal
        .forward_student(
            seeded([3, 9], 1, &device),
            seeded([3, 2, 5], 2, &device),
            None,
            true,
        )
        .unwrap();
    assert_eq!(out.action.dims(), [3, 6]);
    assert_eq!(out.hiddens.dims(), [3, 2, 7]);
    assert_eq!(out.extero_gate.dims(), [3, 6]);
    let recon = out.reconstruction.unwrap();
    assert_eq!(recon.privileged.dims(), [3, 4]);
    assert_eq!(recon.extero.dims(), [3, 2, 5]);
    let gate = values(out.extero_gate);
    assert!(gate.iter().all(|g| *g > 0.0 && *g < 1.0));
}

#[test]
fn wrong_input_shapes_name_the_input_and_both_shapes() {
    let device = Device::flex();
    let anymal = AnymalConfig::new(10).init(&device).unwrap();
    let proprio = Tensor::<2>::zeros([2, 133], &device);
    let extero = Tensor::<3>::zeros([2, 4, 52], &device);
    let privileged = Tensor::<2>::zeros([2, 50], &device);

    let err = anymal
        .forward_teacher(
            Tensor::zeros([2, 130], &device),
            extero.clone(),
            privileged.clone(),
        )
        .unwrap_err()
        .to_string();
    assert_eq!(err, "proprio: expected shape [B, 133], got [2, 130]");

    let err = anymal
        .forward_teacher(
            proprio.clone(),
            Tensor::zeros([2, 3, 52], &device),
            privileged.clone(),
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("extero: expected shape [2, 4, 52]") && err.ends_with("got [2, 3, 52]"),
        "{err}"
    );

    let err = anymal
        .forward_teacher(
            proprio.clone(),
            extero.clone(),
            Tensor::zeros([3, 50], &device),
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("privileged: expected shape [2, 50]") && err.contains("got [3, 50]"),
        "{err}"
    );

    let err = anymal
        .forward_student(
            proprio,
            extero,
            Some(Tensor::zeros([2, 50, 2], &device)),
            false,
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("hiddens: expected shape [2, 2, 50]") && err.ends_with("got [2, 50, 2]"),
        "{err}"
    );
}

#[test]
fn invalid_configurations_say_which_value_is_wrong() {
    let device = Device::flex();
    let err = StudentConfig::new(4)
        .with_belief_state_dim(96)
        .init(&device)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid configuration: belief_state_dim (96) must exceed num_legs x latent_extero_dim (96)"
    );
    let err = TeacherConfig::new(0).init(&device).unwrap_err().to_string();
    assert!(err.contains("num_actions must be positive"), "{err}");
    let err = TeacherConfig::new(3)
        .with_mlp_hidden(vec![])
        .init(&device)
        .unwrap_err()
        .to_string();
    assert!(err.contains("mlp_hidden"), "{err}");
}

#[test]
fn gru_cell_follows_pytorch_equations() {
    let device = Device::flex();
    let cell = GruCellConfig::new(3, 2).init(&device);
    let x = seeded([1, 3], 7, &device);
    let h = seeded([1, 2], 8, &device);
    let next = values(cell.forward(x.clone(), h.clone()));

    // The same step computed by hand from the weights, gate by gate.
    let wi = values(cell.input.weight.val()); // [3, 6]
    let bi = values(cell.input.bias.as_ref().unwrap().val());
    let wh = values(cell.hidden.weight.val()); // [2, 6]
    let bh = values(cell.hidden.bias.as_ref().unwrap().val());
    let (x, h) = (values(x), values(h));
    let gi = |j: usize| (0..3).map(|k| x[k] * wi[k * 6 + j]).sum::<f32>() + bi[j];
    let gh = |j: usize| (0..2).map(|k| h[k] * wh[k * 6 + j]).sum::<f32>() + bh[j];
    let sigmoid = |v: f32| 1.0 / (1.0 + (-v).exp());
    for u in 0..2 {
        let r = sigmoid(gi(u) + gh(u));
        let z = sigmoid(gi(2 + u) + gh(2 + u));
        let n = (gi(4 + u) + r * gh(4 + u)).tanh();
        let expected = (1.0 - z) * n + z * h[u];
        assert!(
            (next[u] - expected).abs() < 1e-6,
            "unit {u}: {} vs {expected}",
            next[u]
        );
    }
}

#[test]
fn reset_zeroes_only_the_ended_episodes() {
    let device = Device::flex();
    let hiddens = seeded([3, 2, 4], 5, &device);
    let before = values(hiddens.clone());
    let after = values(reset_hiddens(hiddens, &[false, true, false]).unwrap());
    assert_eq!(&after[..8], &before[..8]);
    assert!(after[8..16].iter().all(|v| *v == 0.0));
    assert_eq!(&after[16..], &before[16..]);
}

#[test]
fn a_reset_with_the_wrong_number_of_flags_names_both_counts() {
    let hiddens = seeded([3, 2, 4], 5, &Device::flex());
    let err = reset_hiddens(hiddens, &[true, false])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("episode_ended") && err.contains("3 flags") && err.contains("[2]"),
        "{err}"
    );
}

#[test]
fn a_tensor_on_another_device_is_named_not_a_panic_inside_burn() {
    let student = small_config().student().init(&Device::flex()).unwrap();
    let other = anymal::core::parse_device("ndarray").unwrap();
    let (p, e) = (seeded([2, 9], 1, &other), seeded([2, 2, 5], 2, &other));
    let err = student.forward(p, e, None, false).unwrap_err().to_string();
    assert!(err.starts_with("proprio: the model is on"), "{err}");
}

#[test]
fn a_reset_hidden_state_equals_starting_fresh() {
    let device = Device::flex();
    let student = small_config().student().init(&device).unwrap();
    let (p, e) = (seeded([2, 9], 1, &device), seeded([2, 2, 5], 2, &device));
    let first = student.forward(p.clone(), e.clone(), None, false).unwrap();
    let carried = reset_hiddens(first.hiddens, &[true, true]).unwrap();
    let again = student.forward(p, e, Some(carried), false).unwrap();
    assert_eq!(values(first.action), values(again.action));
}

#[test]
fn belief_layout_decides_where_the_gated_latent_goes() {
    let device = Device::flex();
    device.seed(7);
    let aligned = small_config().student().init(&device).unwrap();
    let package = small_config()
        .with_belief_layout(BeliefLayout::Package)
        .student()
        .init(&device)
        .unwrap();
    // Same weights, different layout: with identical arithmetic otherwise, any difference in
    // the actions comes from where the gated latent was added.
    let package = package.load_record(aligned.clone().into_record());
    let (p, e) = (seeded([2, 9], 1, &device), seeded([2, 2, 5], 2, &device));
    let a = values(
        aligned
            .forward(p.clone(), e.clone(), None, false)
            .unwrap()
            .action,
    );
    let b = values(
        package
            .forward(p.clone(), e.clone(), None, false)
            .unwrap()
            .action,
    );
    assert!(max_abs_diff(&a, &b) > 0.0, "layouts gave the same actions");
    let again = values(aligned.forward(p, e, None, false).unwrap().action);
    assert_eq!(a, again, "the forward is deterministic");
}

#[test]
fn student_initialised_from_teacher_copies_values_with_fresh_parameter_ids() {
    let device = Device::flex();
    let anymal = small_config()
        .init(&device)
        .unwrap()
        .init_student_with_teacher();
    let t = &anymal.teacher.trunk.layers[0].weight;
    let s = &anymal.student.trunk.layers[0].weight;
    assert_eq!(values(t.val()), values(s.val()));
    assert_ne!(t.id, s.id);
    assert_ne!(
        anymal.teacher.extero_encoder.layers[0].weight.id,
        anymal.student.extero_encoder.layers[0].weight.id
    );
    assert_eq!(
        values(anymal.teacher.action_head.linear.weight.val()),
        values(anymal.student.action_head.linear.weight.val())
    );
}

#[test]
fn distillation_trains_the_student_and_leaves_the_teacher_frozen() {
    let device = Device::flex().autodiff();
    let anymal = small_config()
        .init(&device)
        .unwrap()
        .init_student_with_teacher();
    let (p, e, x) = (
        seeded([4, 9], 1, &device),
        seeded([4, 2, 5], 2, &device),
        seeded([4, 4], 3, &device),
    );
    let out = anymal
        .distillation_loss(p, e, x, None, ExteroNoise::Uniform { strength: 0.1 })
        .unwrap();
    let total = values(out.loss.clone())[0];
    let parts = values(out.behaviour.clone())[0]
        + 0.5
            * (values(out.reconstruction_privileged.clone())[0]
                + values(out.reconstruction_extero.clone())[0]);
    assert!((total - parts).abs() < 1e-5);
    let grads = out.loss.backward();
    assert!(
        anymal.student.belief_decoder.privileged.layers[0]
            .weight
            .grad(&grads)
            .is_some()
    );
    assert!(anymal.student.trunk.layers[0].weight.grad(&grads).is_some());
    assert!(anymal.teacher.trunk.layers[0].weight.grad(&grads).is_none());
    assert!(
        anymal.teacher.privileged_encoder.layers[0]
            .weight
            .grad(&grads)
            .is_none()
    );
}

#[test]
fn noiseless_distillation_of_an_initialised_student_has_no_behaviour_loss_only_if_beliefs_match() {
    // With the student's trunk copied from the teacher, the behaviour loss is the effect of the
    // belief differing from the teacher's latent: positive, finite.
    let device = Device::flex();
    let anymal = small_config()
        .init(&device)
        .unwrap()
        .init_student_with_teacher();
    let out = anymal
        .distillation_loss(
            seeded([4, 9], 1, &device),
            seeded([4, 2, 5], 2, &device),
            seeded([4, 4], 3, &device),
            None,
            ExteroNoise::None,
        )
        .unwrap();
    let behaviour = values(out.behaviour)[0];
    assert!(behaviour.is_finite() && behaviour > 0.0);
}

#[test]
fn categorical_matches_closed_forms() {
    for (name, device) in devices() {
        let logits = Tensor::<2>::from_data(
            TensorData::new(vec![0.0f32, 1.0, 2.0, 1.0, 1.0, 1.0], [2, 3]),
            &device,
        );
        let dist = Categorical::new(logits);
        let z: f32 = 1.0 + 1f32.exp() + 2f32.exp();
        let probs = [1.0 / z, 1f32.exp() / z, 2f32.exp() / z];
        let actions = Tensor::<2>::from_data(TensorData::new(vec![2.0f32, 0.0], [2, 1]), &device);
        assert_close(
            name,
            &values(dist.log_prob(actions)),
            &[probs[2].ln(), (1f32 / 3.0).ln()],
            1e-5,
        );
        let entropy0: f32 = -probs.iter().map(|p| p * p.ln()).sum::<f32>();
        assert_close(name, &values(dist.entropy()), &[entropy0, 3f32.ln()], 1e-5);
        assert_eq!(values(dist.mode()), vec![2.0, 0.0]);
    }
}

#[test]
fn categorical_samples_follow_the_probabilities() {
    let device = Device::flex();
    device.seed(3);
    let n = 20_000;
    let logits = Tensor::<2>::from_data(
        TensorData::new([0.0f32, 1.0, 2.0].repeat(n), [n, 3]),
        &device,
    );
    let samples = values(Categorical::new(logits).sample());
    let z: f32 = 1.0 + 1f32.exp() + 2f32.exp();
    for (k, p) in [1.0 / z, 1f32.exp() / z, 2f32.exp() / z]
        .into_iter()
        .enumerate()
    {
        let freq = samples.iter().filter(|s| **s == k as f32).count() as f32 / n as f32;
        assert!(
            (freq - p).abs() < 0.015,
            "index {k}: frequency {freq} vs probability {p}"
        );
    }
}

#[test]
fn gaussian_matches_closed_forms_and_sample_statistics() {
    for (name, device) in devices() {
        let mean = Tensor::<2>::from_data(TensorData::new(vec![0.5f32, -1.0], [1, 2]), &device);
        let log_std =
            Tensor::<1>::from_data(TensorData::new(vec![0.0f32, 0.5f32.ln()], [2]), &device);
        let dist = DiagGaussian::new(mean, log_std);
        let a = Tensor::<2>::from_data(TensorData::new(vec![1.5f32, -1.5], [1, 2]), &device);
        let normal = |x: f32, m: f32, s: f32| {
            -0.5 * ((x - m) / s).powi(2) - s.ln() - 0.5 * (2.0 * std::f32::consts::PI).ln()
        };
        let expected = normal(1.5, 0.5, 1.0) + normal(-1.5, -1.0, 0.5);
        assert_close(name, &values(dist.log_prob(a)), &[expected], 1e-5);
        let entropy = 2.0 * (0.5 + 0.5 * (2.0 * std::f32::consts::PI).ln()) + 0.5f32.ln();
        assert_close(name, &values(dist.entropy()), &[entropy], 1e-5);
    }
    let device = Device::flex();
    device.seed(5);
    let n = 20_000;
    let dist = DiagGaussian::new(
        Tensor::<2>::from_data(TensorData::new([2.0f32, -3.0].repeat(n), [n, 2]), &device),
        Tensor::<1>::from_data(
            TensorData::new(vec![0.0f32, 1f32.ln() - 2f32.ln()], [2]),
            &device,
        ),
    );
    let s = values(dist.sample());
    for (j, (m, sd)) in [(2.0f32, 1.0f32), (-3.0, 0.5)].into_iter().enumerate() {
        let xs: Vec<f32> = s.iter().skip(j).step_by(2).copied().collect();
        let mean = xs.iter().sum::<f32>() / n as f32;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / (n - 1) as f32;
        assert!(
            (mean - m).abs() < 0.03 && (var.sqrt() - sd).abs() < 0.03,
            "dim {j}: {mean} {}",
            var.sqrt()
        );
    }
}

#[test]
fn gaussian_teacher_has_a_trainable_log_std_and_samples_actions() {
    let device = Device::flex();
    let teacher = TeacherConfig::new(3)
        .with_action_kind(ActionKind::Gaussian { init_log_std: -0.5 })
        .init(&device)
        .unwrap();
    let log_std = teacher
        .action_head
        .log_std
        .as_ref()
        .expect("a Gaussian head has a log-std");
    assert_eq!(values(log_std.val()), vec![-0.5; 3]);
    let out = teacher
        .forward(
            seeded([2, 133], 1, &device),
            seeded([2, 4, 52], 2, &device),
            seeded([2, 50], 3, &device),
        )
        .unwrap();
    let dist = teacher.distribution(out.action.clone());
    assert_eq!(dist.sample().dims(), [2, 3]);
    assert_eq!(values(dist.mode()), values(out.action));
}

#[test]
fn running_stats_count_every_sample_past_two_to_the_24() {
    let device = Device::flex();
    let mut stats = RunningStatsConfig::new(1).init(&device);
    let big = (1usize << 24) + 1;
    stats.update(Tensor::ones([big, 1], &device));
    stats.update(Tensor::ones([1, 1], &device).mul_scalar(3.0));
    stats.update(Tensor::ones([1, 1], &device).mul_scalar(3.0));
    // An f32 count sticks at 2^24 for single samples; the mean then stops moving.
    assert_eq!(stats.count(), (big + 2) as f64);
    let expected_mean = 1.0 + 4.0 / (big + 2) as f64;
    assert!((values(stats.mean())[0] as f64 - expected_mean).abs() < 1e-7);
}

#[test]
fn running_stats_equal_the_sample_mean_and_variance_of_everything_seen() {
    for (name, device) in devices() {
        let mut stats = RunningStatsConfig::new(3).init(&device);
        let batches: Vec<Tensor<2>> = (0..4)
            .map(|i| {
                seeded([5 + i, 3], i as u64, &device)
                    .mul_scalar(3.0)
                    .add_scalar(1.0)
            })
            .collect();
        let all: Vec<f32> = batches.iter().flat_map(|b| values(b.clone())).collect();
        for b in &batches {
            stats.update(b.clone());
        }
        let n = all.len() / 3;
        for j in 0..3 {
            let xs: Vec<f64> = all.iter().skip(j).step_by(3).map(|x| *x as f64).collect();
            let mean = xs.iter().sum::<f64>() / n as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            assert!(
                (values(stats.mean())[j] as f64 - mean).abs() < 1e-5,
                "{name} mean"
            );
            assert!(
                (values(stats.variance())[j] as f64 - var).abs() < 1e-4,
                "{name} variance"
            );
        }
        assert_eq!(stats.count(), n as f64);
        let x = seeded([2, 3], 9, &device);
        let normalized = values(stats.normalize(x.clone()));
        let (xm, m, v) = (values(x), values(stats.mean()), values(stats.variance()));
        let expected: Vec<f32> = xm
            .iter()
            .enumerate()
            .map(|(i, xi)| (xi - m[i % 3]) / (v[i % 3] + 1e-5).sqrt())
            .collect();
        assert_close(name, &normalized, &expected, 1e-5);
    }
}

#[test]
fn running_stats_are_not_trained_and_are_part_of_the_model() {
    let device = Device::flex();
    let anymal = small_config().init(&device).unwrap();
    let names: Vec<String> = param_shapes(&anymal).into_iter().map(|(n, _)| n).collect();
    assert!(
        names.contains(&"normalizer.proprio.mean".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&"normalizer.extero.sum_sq_dev".to_string()));
    let stats: &Param<Tensor<1>> = &anymal.normalizer.proprio.mean;
    assert!(!stats.val().is_require_grad());
}
