//! Teacher-student training: the student's memory (belief encoder) recovers a privileged
//! quantity that only shows over time, its extero gate closes on noisy heights, the teacher
//! trains with PPO on structured observations with statistics saved in the model, the
//! package's arguments map, and student checkpoints resume exactly.

use anymal::core::burn::module::Module;
use anymal::core::burn::tensor::Device;
use anymal::core::{ActionKind, Anymal, AnymalConfig, parse_device};
use anymal::envs::{HiddenForceEnv, MockEnv, VectorEnv};
use anymal::rl::{
    DataParallel, HeightNoise, Logger, NoiseCurriculum, PackagePpoArgs, PackageStudentArgs, Ppo,
    PpoConfig, StudentEvaluation, StudentTrainer, StudentTrainerConfig,
};

/// Burn's device RNG is shared by the whole process: seeding and drawing the initial weights
/// under one lock keeps parallel tests from interleaving their draws.
static DEVICE_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn autodiff() -> Device {
    parse_device("flex").unwrap().autodiff()
}

/// A small Anymal for [`HiddenForceEnv`]: proprio 2, 2 legs x 4 heights, privileged 2, one
/// Gaussian action.
fn small_anymal(device: &Device) -> Anymal {
    let _draws = DEVICE_RNG.lock().unwrap();
    device.seed(3);
    AnymalConfig::new(1)
        .with_proprio_dim(2)
        .with_extero_dim(4)
        .with_num_legs(2)
        .with_privileged_dim(2)
        .with_latent_extero_dim(4)
        .with_latent_privileged_dim(4)
        .with_teacher_extero_encoder_hidden(vec![16])
        .with_teacher_privileged_encoder_hidden(vec![16])
        .with_student_extero_gate_encoder_hiddens(vec![32])
        .with_student_belief_state_encoder_hiddens(vec![32])
        .with_student_belief_state_dim(12)
        .with_student_gru_num_layers(1)
        .with_student_gru_hidden_size(32)
        .with_student_privileged_decoder_hiddens(vec![32])
        .with_student_extero_decoder_hiddens(vec![32])
        .with_mlp_hidden(vec![64, 32])
        .with_action_kind(ActionKind::Gaussian { init_log_std: -1.0 })
        .init(device)
        .unwrap()
}

fn hidden_force_envs(n: usize) -> VectorEnv<HiddenForceEnv> {
    VectorEnv::new((0..n).map(|_| HiddenForceEnv::new()).collect(), 1).unwrap()
}

/// Distils `teacher` into its student on [`HiddenForceEnv`] and evaluates the student.
fn distil(teacher: Anymal, config: StudentTrainerConfig, iterations: usize) -> StudentEvaluation {
    let device = autodiff();
    let mut envs = hidden_force_envs(32);
    let space = envs.single_action_space().clone();
    let config = config
        .with_n_steps(50)
        .with_epochs(2)
        .with_learning_rate(3e-3)
        .with_minibatch_envs(32);
    let mut trainer = StudentTrainer::new(config, teacher, &device, space).unwrap();
    trainer
        .learn(&mut envs, iterations, &mut Logger::new())
        .unwrap();
    let level = trainer.noise_level();
    trainer.evaluate(&mut envs, 100, level, 1234).unwrap()
}

#[test]
fn memory_recovers_the_hidden_force_that_a_memoryless_student_cannot() {
    let clean = StudentTrainerConfig::new().with_noise(HeightNoise::none());
    let started = std::time::Instant::now();
    let (teacher, _, _) = trained_teacher();
    let with_memory = distil(teacher.clone(), clean.clone(), 30);
    let without_memory = distil(teacher, clean.with_memoryless(true), 30);
    eprintln!("with memory:    {with_memory:?}");
    eprintln!("without memory: {without_memory:?}");
    eprintln!("{:.1} s", started.elapsed().as_secs_f64());
    // Privileged dimension 0 is the episode's hidden force (normalised: unit variance).
    let (memory, memoryless) = (
        with_memory.privileged_mse[0],
        without_memory.privileged_mse[0],
    );
    assert!(
        memory < 0.35 * memoryless,
        "force reconstruction: {memory:.3} with memory vs {memoryless:.3} without"
    );
    // The student acts like the teacher, and better with memory (the teacher uses the force).
    assert!(
        with_memory.behaviour_mse < 0.1 * with_memory.teacher_action_variance,
        "{with_memory:?}"
    );
    assert!(with_memory.behaviour_mse < without_memory.behaviour_mse);
}

/// A teacher trained by PPO on [`HiddenForceEnv`] (it sees the force), with its returns
/// before and after.
fn trained_teacher() -> (Anymal, f64, f64) {
    let device = autodiff();
    let mut envs = hidden_force_envs(16);
    let space = envs.single_action_space().clone();
    let config = PpoConfig::new()
        .with_n_steps(50)
        .with_batch_size(200)
        .with_n_epochs(5)
        .with_gamma(0.9)
        .with_learning_rate(anymal::rl::Schedule::Constant(1e-3));
    let mut ppo = Ppo::new(config, small_anymal(&device), &device, space, 60_000).unwrap();
    let mut logger = Logger::new();
    ppo.iterate(&mut envs, &mut logger).unwrap();
    let before = ppo.mean_episode_return().unwrap();
    ppo.learn(&mut envs, &mut logger).unwrap();
    let after = ppo.mean_episode_return().unwrap();
    (ppo.network().clone(), before, after)
}

#[test]
fn teacher_ppo_learns_on_structured_observations() {
    let started = std::time::Instant::now();
    let (_, before, after) = trained_teacher();
    eprintln!(
        "{before:.1} -> {after:.1} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(after > before + 5.0);
}

#[test]
fn the_extero_gate_opens_less_on_noisy_heights() {
    let (teacher, _, _) = trained_teacher();
    let config = StudentTrainerConfig::new().with_noise_curriculum(NoiseCurriculum::Constant(1.0));
    let clean = distil(
        teacher.clone(),
        config.clone().with_noise(HeightNoise::none()),
        60,
    );
    let noisy = distil(teacher, config.with_noise(HeightNoise::gaussian(4.0)), 60);
    eprintln!("clean: {clean:?}");
    eprintln!("noisy: {noisy:?}");
    assert!(
        noisy.extero_gate < 0.6 * clean.extero_gate,
        "gate {:.3} on noisy heights vs {:.3} on clean ones",
        noisy.extero_gate,
        clean.extero_gate
    );
}

#[test]
fn student_training_split_across_threads_matches_one_thread() {
    let device = autodiff();
    let run = |data_parallel: DataParallel| {
        let mut envs = hidden_force_envs(8);
        let space = envs.single_action_space().clone();
        let config = StudentTrainerConfig::new()
            .with_n_steps(20)
            .with_tbptt_len(5)
            .with_minibatch_envs(8)
            .with_update_normalizer(true)
            .with_seed(2)
            .with_data_parallel(data_parallel);
        let mut trainer =
            StudentTrainer::new(config, small_anymal(&device), &device, space).unwrap();
        let mut logger = Logger::new();
        (0..2)
            .map(|_| trainer.iterate(&mut envs, &mut logger).unwrap())
            .collect::<Vec<_>>()
    };
    let whole = run(DataParallel::off());
    // 8 environments in shards of 3, 3 and 2, each carrying its own hidden states through the
    // chunks of 5 steps.
    let sharded = run(DataParallel {
        max_shards: 3,
        min_rows: 1,
    });
    for (a, b) in whole.iter().zip(&sharded) {
        for (name, x, y) in [
            ("loss", a.loss, b.loss),
            ("behaviour", a.behaviour, b.behaviour),
            (
                "privileged",
                a.reconstruction_privileged,
                b.reconstruction_privileged,
            ),
            ("heights", a.reconstruction_extero, b.reconstruction_extero),
            (
                "rollout behaviour",
                a.rollout.behaviour_mse,
                b.rollout.behaviour_mse,
            ),
        ] {
            assert!(
                (x - y).abs() <= 1e-4 * x.abs().max(1e-3),
                "{name}: {x} on one thread, {y} in shards"
            );
        }
    }
}

#[test]
fn student_checkpoints_resume_exactly_and_name_bad_files() {
    let device = autodiff();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("student.ckpt");
    let mut envs = hidden_force_envs(4);
    let space = envs.single_action_space().clone();
    let config = StudentTrainerConfig::new()
        .with_n_steps(20)
        .with_tbptt_len(5)
        .with_minibatch_envs(2)
        .with_update_normalizer(true)
        .with_noise_curriculum(NoiseCurriculum::Linear { from: 0, to: 4 })
        .with_seed(5);
    let mut trainer = StudentTrainer::new(config, small_anymal(&device), &device, space).unwrap();
    let mut logger = Logger::new();
    trainer.learn(&mut envs, 2, &mut logger).unwrap();
    // update_normalizer: the trained model's statistics saw 2 iterations x 20 steps x 4 envs.
    assert_eq!(trainer.anymal().normalizer.proprio.count(), 160.0);
    trainer.save(&path).unwrap();
    trainer.reset_environments();
    let continued = trainer.iterate(&mut envs, &mut logger).unwrap();

    let mut resumed = StudentTrainer::load(&path, &device).unwrap();
    assert_eq!(resumed.iterations(), 2);
    assert_eq!(resumed.noise_level(), 0.5);
    let after_resume = resumed.iterate(&mut envs, &mut logger).unwrap();
    assert_eq!(continued, after_resume);

    std::fs::write(dir.path().join("garbage.ckpt"), b"not a zip").unwrap();
    for bad in ["garbage.ckpt", "missing.ckpt"] {
        let message = StudentTrainer::load(dir.path().join(bad), &device)
            .err()
            .unwrap()
            .to_string();
        assert!(message.contains(bad), "{message}");
    }
}

#[test]
fn teacher_statistics_persist_across_episodes_and_are_saved_with_the_model() {
    let device = autodiff();
    let anymal = {
        let _draws = DEVICE_RNG.lock().unwrap();
        AnymalConfig::new(16)
            .with_action_kind(ActionKind::Gaussian { init_log_std: 0.0 })
            .init(&device)
            .unwrap()
    };
    let envs = (0..4)
        .map(|_| MockEnv::new(16).with_episode_length(5))
        .collect();
    let mut envs = VectorEnv::new(envs, 1).unwrap();
    let space = envs.single_action_space().clone();
    let config = PpoConfig::anymal_teacher()
        .with_n_steps(16)
        .with_batch_size(32);
    let mut ppo = Ppo::new(config, anymal, &device, space, 128).unwrap();
    ppo.learn(&mut envs, &mut Logger::new()).unwrap();
    // 2 iterations x 4 envs x 16 steps, over many 5-step episodes: nothing was cleared.
    let teacher = ppo.network().valid();
    assert_eq!(teacher.normalizer.proprio.count(), 128.0);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("anymal.bpk");
    anymal::core::io::save(&teacher, &path).unwrap();
    let plain = parse_device("flex").unwrap();
    let loaded: Anymal = anymal::core::io::load(&path, &plain).unwrap();
    assert_eq!(loaded.normalizer.proprio.count(), 128.0);
    let obs = anymal::core::burn::tensor::Tensor::<2>::ones([3, teacher.flat_obs_dim()], &plain);
    let a = teacher.forward_teacher_flat(obs.clone()).unwrap().action;
    let b = loaded.forward_teacher_flat(obs).unwrap().action;
    assert_eq!(a.into_data(), b.into_data());
}

#[test]
fn the_packages_arguments_and_the_papers_settings_map() {
    let ppo = PackagePpoArgs::default().to_config(10).unwrap();
    assert_eq!((ppo.n_epochs, ppo.n_steps, ppo.batch_size), (2, 500, 5000));
    assert_eq!(ppo.clip_range_vf, Some(0.4));
    assert_eq!(
        (ppo.ent_coef, ppo.gamma, ppo.gae_lambda),
        (0.005, 0.99, 0.95)
    );
    assert_eq!(ppo.learning_rate.value(1.0, 0), 5e-4);
    let message = PackagePpoArgs::default()
        .to_config(3)
        .unwrap_err()
        .to_string();
    assert!(message.contains("update_timesteps (5000)"), "{message}");

    let paper = PpoConfig::anymal_teacher();
    assert_eq!((paper.n_epochs, paper.batch_size), (2, 8300));
    assert_eq!((paper.gamma, paper.ent_coef), (0.996, 0.005));
    assert!((paper.learning_rate.value(0.5, 2) - 5e-4 * 0.9999f64.powi(2)).abs() < 1e-15);

    let student = PackageStudentArgs::default().to_config(50).unwrap();
    assert_eq!(
        (
            student.epochs,
            student.n_steps,
            student.minibatch_envs,
            student.tbptt_len
        ),
        (2, 100, 16, 10)
    );
    assert_eq!(student.learning_rate, 5e-4);
    let message = StudentTrainerConfig::new()
        .with_tbptt_len(0)
        .validate()
        .unwrap_err()
        .to_string();
    assert!(message.contains("tbptt_len"), "{message}");
}

#[test]
fn the_deployed_student_acts_from_its_own_observations_only() {
    let plain = parse_device("flex").unwrap();
    let model = small_anymal(&plain);
    let space = anymal::envs::BoxSpace::uniform(1, -100.0, 100.0).unwrap();
    let clean = anymal::envs::StructuredObs {
        proprio: vec![0.3, -0.2],
        extero: vec![0.1; 8],
        privileged: vec![0.5, -0.5],
        noisy_extero: vec![0.2; 8],
    };
    // The privileged state and the noiseless heights poisoned: a student that read either
    // would act NaN or differently.
    let poisoned = anymal::envs::StructuredObs {
        extero: vec![f32::NAN; 8],
        privileged: vec![f32::NAN; 2],
        ..clean.clone()
    };
    let mut student = anymal::rl::StudentPolicy::new(model.clone(), space.clone(), plain.clone());
    let mut twin = anymal::rl::StudentPolicy::new(model, space, plain);
    for step in 0..3 {
        let a = student.act(&clean).unwrap();
        let b = twin.act(&poisoned).unwrap();
        assert!(a[0].is_finite(), "step {step}: {a:?}");
        assert_eq!(a, b, "step {step}");
    }
    // The hidden state carries over steps and is forgotten at an episode's start.
    let carried = student.act(&clean).unwrap();
    student.reset();
    let fresh = student.act(&clean).unwrap();
    let mut new = anymal::rl::StudentPolicy::new(
        student.model().clone(),
        anymal::envs::BoxSpace::uniform(1, -100.0, 100.0).unwrap(),
        parse_device("flex").unwrap(),
    );
    assert_eq!(fresh, new.act(&clean).unwrap());
    assert_ne!(carried, fresh, "the memory changes the action");
    // Without a noisy copy it reads the heights, and a wrong width is named.
    let short = anymal::envs::StructuredObs {
        noisy_extero: vec![0.2; 7],
        ..clean
    };
    let err = student.act(&short).unwrap_err().to_string();
    assert!(
        err.contains("8 heights") && err.contains("got 2 and 7"),
        "{err}"
    );
}

#[test]
fn gates_held_open_let_the_heights_in_fully() {
    use anymal::core::Gates;
    use anymal::core::burn::tensor::{Tensor, TensorData};
    let plain = parse_device("flex").unwrap();
    let model = small_anymal(&plain);
    let proprio = Tensor::<2>::from_data(TensorData::new(vec![0.3f32, -0.2], [1, 2]), &plain);
    let heights: Vec<f32> = (0..8).map(|i| 0.1 * i as f32).collect();
    let extero = Tensor::<3>::from_data(TensorData::new(heights, [1, 2, 4]), &plain);
    let step = |gates| {
        model
            .student_step_gated(proprio.clone(), extero.clone(), None, true, gates)
            .unwrap()
    };
    let host = |t: Tensor<2>| t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
    let (learned, open) = (step(Gates::Learned), step(Gates::HeldOpen));
    assert!(
        host(learned.extero_gate.clone())
            .iter()
            .all(|&g| g > 0.0 && g < 1.0)
    );
    assert!(host(open.extero_gate.clone()).iter().all(|&g| g == 1.0));
    assert_ne!(host(learned.action.clone()), host(open.action.clone()));
    let recon = |out: anymal::core::StudentOutput| {
        let r = out.reconstruction.unwrap().extero;
        r.reshape([1, 8])
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap()
    };
    assert_ne!(recon(learned), recon(open));
}
