//! The quadruped teacher: acting in the legged environment through its normaliser, resuming
//! its training from a checkpoint, its saved card, and the paper's success criterion.

mod common;

use anymal::core::burn::tensor::Tensor;
use anymal::core::parse_device;
use anymal::envs::legged::LeggedEnv;
use anymal::envs::legged::evaluation::{SuccessCriterion, WalkTracker};
use anymal::envs::legged::state::RobotState;
use anymal::envs::{Env, FlatObservation, VectorEnv};
use anymal::rl::{ActorCritic, Logger, Ppo};
use anymal::teacher::{
    FlatReport, Ground, Preset, TeacherCard, TeacherSetup, load_teacher, teacher_policy,
};
use common::values;

fn setup(num_envs: usize) -> TeacherSetup {
    TeacherSetup {
        preset: Preset::Fast,
        ground: Ground::Flat,
        action: None,
        num_envs,
        seed: 3,
        reward_weights: Vec::new(),
    }
}

#[test]
fn the_teacher_acts_in_the_legged_env_through_its_normaliser() {
    let device = parse_device("flex").unwrap();
    let setup = setup(1);
    let config = setup.env_config().unwrap();
    let mut network = setup.init_network(&device).unwrap();
    let mut env = LeggedEnv::new(config.clone()).unwrap();
    let (obs, _) = env.reset(Some(1));
    let mut flat = Vec::new();
    obs.write_flat(&mut flat);
    assert_eq!(flat.len(), network.obs_dim(), "flat rows match the teacher");
    let rows = |flat: &[f32]| {
        Tensor::<2>::from_data(
            anymal::core::burn::tensor::TensorData::new(flat.to_vec(), [1, flat.len()]),
            &device,
        )
    };
    let before = values(network.forward_teacher_flat(rows(&flat)).unwrap().value);
    // Statistics of a few steps change what the teacher makes of the same observation.
    let mut policy = teacher_policy(network.clone(), &config, &device);
    let mut obs = obs;
    for _ in 0..5 {
        flat.clear();
        obs.write_flat(&mut flat);
        network.update_normalizer(rows(&flat)).unwrap();
        let action = policy.predict_batch(&flat, true).unwrap();
        assert_eq!(action.len(), config.action.dim());
        assert!(action.iter().all(|a| a.is_finite()));
        obs = env.step(&action).unwrap().obs;
    }
    assert_eq!(network.normalizer.proprio.count(), 5.0);
    flat.clear();
    env.reset(Some(1)).0.write_flat(&mut flat);
    let after = values(network.forward_teacher_flat(rows(&flat)).unwrap().value);
    assert_ne!(
        before, after,
        "the normaliser takes part in the forward pass"
    );

    // Saved with the model and its card, loaded back: the same actions.
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("teacher.bpk");
    anymal::core::io::save(&network, &model).unwrap();
    let card = TeacherCard {
        setup: setup.clone(),
        command_line: "anymal_teacher --terrain flat".into(),
        steps: 5,
        seconds: 0.1,
        commit: None,
        flat: Some(FlatReport {
            success_rate: 0.5,
            linear_error: 0.2,
            yaw_error: 0.1,
            falls_per_minute: 0.0,
        }),
    };
    card.save(&model).unwrap();
    let (loaded, loaded_card) = load_teacher(&model, &device).unwrap();
    assert_eq!(loaded_card, card);
    let mut original = teacher_policy(network, &config, &device);
    let mut reloaded = teacher_policy(loaded, &config, &device);
    assert_eq!(
        original.predict_batch(&flat, true).unwrap(),
        reloaded.predict_batch(&flat, true).unwrap()
    );
    std::fs::remove_file(TeacherCard::path_for(&model)).unwrap();
    let err = load_teacher(&model, &device).unwrap_err().to_string();
    assert!(err.contains("teacher.json"), "{err}");
}

#[test]
fn a_resumed_teacher_run_equals_the_continued_one() {
    let device = parse_device("flex").unwrap().autodiff();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("teacher_ppo.ckpt");
    let setup = setup(2);
    let config = setup.env_config().unwrap();
    let make_envs = || VectorEnv::new(LeggedEnv::copies(config.clone(), 2).unwrap(), 1).unwrap();
    let ppo_config = setup
        .ppo_config()
        .with_n_steps(8)
        .with_batch_size(8)
        .with_n_epochs(2);
    let space = make_envs().single_action_space().clone();
    device.seed(3);
    let network = setup.init_network(&device).unwrap();
    let mut ppo = Ppo::new(ppo_config, network, &device, space, 1000).unwrap();
    let mut envs = make_envs();
    for _ in 0..2 {
        ppo.iterate(&mut envs, &mut Logger::new()).unwrap();
    }
    ppo.save(&path).unwrap();
    // Both continue on fresh copies of the environments (a resumed run resets them).
    ppo.reset_environments();
    let continued = ppo.iterate(&mut make_envs(), &mut Logger::new()).unwrap();
    let mut resumed: Ppo<anymal::core::Anymal> = Ppo::load(&path, &device).unwrap();
    assert_eq!(resumed.num_timesteps(), 32);
    let again = resumed
        .iterate(&mut make_envs(), &mut Logger::new())
        .unwrap();
    assert_eq!(continued, again);
    let stats = |p: &Ppo<anymal::core::Anymal>| values(p.network().normalizer.proprio.mean());
    assert_eq!(stats(&ppo), stats(&resumed));
    let weights =
        |p: &Ppo<anymal::core::Anymal>| values(p.network().teacher.action_head.linear.weight.val());
    assert_eq!(weights(&ppo), weights(&resumed));
}

/// A base moving straight towards `motion` (rad) at constant speed, sampled at 50 Hz, followed
/// by a tracker of progress towards `heading`.
fn scripted(distance: f64, seconds: f64, motion: f64, heading: f64) -> WalkTracker {
    let mut tracker = WalkTracker::new(SuccessCriterion::default(), [1.0, -2.0], heading);
    let steps = (seconds / 0.02).round() as usize;
    let speed = distance / seconds;
    for k in 1..=steps {
        let travelled = distance * k as f64 / steps as f64;
        let state = RobotState {
            base_position: [
                1.0 + travelled * motion.cos(),
                -2.0 + travelled * motion.sin(),
                0.5,
            ],
            linear_velocity_body: [speed, 0.0, 0.0],
            ..RobotState::default()
        };
        tracker.record(0.02, &state, [0.5, 0.0, 0.0]);
    }
    tracker
}

#[test]
fn the_success_criterion_is_four_metres_within_ten_seconds() {
    let pushed = scripted(4.0, 9.0, 0.7, 0.7).finish(false);
    assert!(pushed.success(), "4 m in 9 s: {:?}", pushed.reached_at);
    assert!((pushed.walked - 4.0).abs() < 1e-9);
    let reached = pushed.reached_at.unwrap();
    assert!((reached - 9.0).abs() < 0.03, "reached at {reached}");
    assert!((pushed.linear_error - (0.5 - 4.0 / 9.0)).abs() < 1e-9);
    assert_eq!(pushed.trace.len(), 450);
    assert!(
        !scripted(3.9, 9.0, 0.7, 0.7).finish(false).success(),
        "3.9 m"
    );
    assert!(
        !scripted(4.0, 11.0, 0.7, 0.7).finish(false).success(),
        "4 m in 11 s"
    );
    // Progress counts along the heading: 4 m at right angles to it is none.
    let sideways = scripted(4.0, 9.0, 0.7 + std::f64::consts::FRAC_PI_2, 0.7).finish(false);
    assert!(!sideways.success() && sideways.walked.abs() < 1e-9);
}

#[test]
fn the_shipped_teachers_load_with_their_cards_and_act() {
    let device = parse_device("flex").unwrap();
    for ground in ["flat", "rough"] {
        let model = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("assets/teachers")
            .join(ground)
            .join("teacher.bpk");
        let (network, card) = load_teacher(&model, &device).unwrap();
        assert_eq!(format!("{:?}", card.setup.ground).to_lowercase(), ground);
        let report = card.flat.expect("evaluated at the end of training");
        assert!(report.walks(), "{ground}: {report:?}");
        let config = card.setup.env_config().unwrap();
        let mut env = LeggedEnv::new(anymal::teacher::evaluation_config(
            &config,
            anymal::envs::legged::TerrainConfig::Plane,
        ))
        .unwrap();
        let (obs, _) = env.reset(Some(0));
        let mut flat = Vec::new();
        obs.write_flat(&mut flat);
        let action = teacher_policy(network, &config, &device)
            .predict_batch(&flat, true)
            .unwrap();
        assert_eq!(action.len(), config.action.dim());
        assert!(!env.step(&action).unwrap().terminated);
    }
}
