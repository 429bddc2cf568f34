//! PPO: SB3's MlpPolicy preset, time-limit bootstrapping, global gradient clipping, learning on
//! a bandit, determinism, TensorBoard/CSV logs, checkpoints (resume, corruption, atomicity).

use anymal::core::burn::optim::GradientsParams;
use anymal::core::burn::tensor::{Device, Tensor, TensorData};
use anymal::core::io::param_shapes;
use anymal::core::{MlpActorCritic, MlpActorCriticConfig, parse_device};
use anymal::envs::wrappers::TimeLimit;
use anymal::envs::{
    BoxSpace, Env, EnvError, Info, ObservationSpace, PendulumTask, PendulumVersion, Step, VectorEnv,
};
use anymal::rl::grad_clip::clip_grad_norm;
use anymal::rl::tensorboard::read_events;
use anymal::rl::{DataParallel, Logger, Policy, Ppo, PpoConfig, RlError};

fn flex() -> Device {
    parse_device("flex").unwrap()
}

fn host(t: Tensor<2>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

/// A one-step continuous bandit: reward `-(a - 0.5)^2`, observation always `[1]`; or, with
/// `episode_len`, a counter whose observation is the step index and reward 1 per step.
struct Toy {
    bandit: bool,
    t: usize,
}

impl Env for Toy {
    type Obs = Vec<f64>;
    fn reset(&mut self, _seed: Option<u64>) -> (Vec<f64>, Info) {
        self.t = 0;
        (vec![if self.bandit { 1.0 } else { 0.0 }], Info::default())
    }
    fn step(&mut self, action: &[f64]) -> Result<Step<Vec<f64>>, EnvError> {
        anymal::envs::env::check_action(action, 1)?;
        self.t += 1;
        Ok(if self.bandit {
            Step {
                obs: vec![1.0],
                reward: -(action[0] - 0.5).powi(2),
                terminated: true,
                truncated: false,
                info: Info::default(),
            }
        } else {
            Step {
                obs: vec![self.t as f64],
                reward: 1.0,
                terminated: false,
                truncated: false,
                info: Info::default(),
            }
        })
    }
    fn observation_space(&self) -> ObservationSpace {
        ObservationSpace::Box(BoxSpace::unbounded(1))
    }
    fn action_space(&self) -> BoxSpace {
        BoxSpace::uniform(1, -2.0, 2.0).unwrap()
    }
    fn dt(&self) -> f64 {
        1.0
    }
}

/// Burn's device RNG is shared by the whole process and draws parameters lazily, on first use: every
/// test here holds this lock while it runs, so that parallel tests never interleave their draws
/// (a seeded run then reproduces exactly, as it does in a program of its own).
static DEVICE_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn device_rng() -> std::sync::MutexGuard<'static, ()> {
    DEVICE_RNG
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn sb3_network(obs_dim: usize, device: &Device) -> MlpActorCritic {
    device.seed(7);
    MlpActorCriticConfig::new(obs_dim, 1).init(device).unwrap()
}

/// A trainer on the flex autodiff device for a 1-d action in [-bound, bound].
fn trainer(config: PpoConfig, obs_dim: usize, bound: f64, total: u64) -> Ppo<MlpActorCritic> {
    let device = flex().autodiff();
    let space = BoxSpace::uniform(1, -bound, bound).unwrap();
    Ppo::new(config, sb3_network(obs_dim, &device), &device, space, total).unwrap()
}

#[test]
fn mlp_policy_preset_matches_sb3() {
    let _rng = device_rng();
    let device = flex();
    let net = sb3_network(4, &device);
    // SB3's MlpPolicy on a 4-d observation and 1-d action: 9091 parameters.
    let count: usize = param_shapes(&net)
        .iter()
        .map(|(_, s)| s.iter().product::<usize>())
        .sum();
    assert_eq!(count, 9091);
    // Orthogonal rows scaled by sqrt(2): W^T W over the 4 inputs is 2 I.
    let w = net.pi[0].weight.val(); // [4, 64]
    let gram = host(w.clone().matmul(w.transpose()));
    for i in 0..4 {
        for j in 0..4 {
            let expected = if i == j { 2.0 } else { 0.0 };
            assert!(
                (gram[i * 4 + j] - expected).abs() < 1e-4,
                "gram[{i}][{j}] = {}",
                gram[i * 4 + j]
            );
        }
    }
    // The action head's single column has norm 0.01, the value head's norm 1; biases are zero.
    let norm = |t: Tensor<2>| host(t).iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm(net.action_net.weight.val()) - 0.01).abs() < 1e-5);
    assert!((norm(net.value_net.weight.val()) - 1.0).abs() < 1e-4);
    let bias = net.pi[1].bias.as_ref().unwrap().val();
    assert!(
        bias.into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap()
            .iter()
            .all(|&b| b == 0.0)
    );
    let log_std = net.log_std.as_ref().unwrap().val();
    assert_eq!(
        log_std
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap(),
        vec![0.0]
    );
    // SB3's defaults.
    let c = PpoConfig::sb3();
    assert_eq!((c.n_steps, c.batch_size, c.n_epochs), (2048, 64, 10));
    assert_eq!(
        (
            c.gamma,
            c.gae_lambda,
            c.vf_coef,
            c.ent_coef,
            c.max_grad_norm
        ),
        (0.99, 0.95, 0.5, 0.0, 0.5)
    );
    assert_eq!(
        (c.adam_eps, c.clip_range_vf, c.target_kl),
        (1e-5, None, None)
    );
}

#[test]
fn truncations_bootstrap_and_terminations_do_not() {
    let _rng = device_rng();
    let envs = vec![TimeLimit::new(
        Toy {
            bandit: false,
            t: 0,
        },
        3,
    )];
    let mut envs = VectorEnv::new(envs, 1).unwrap();
    let config = PpoConfig::new().with_n_steps(4).with_gamma(0.9);
    let mut ppo = trainer(config, 1, 2.0, 100);
    ppo.collect_rollout(&mut envs, &mut Logger::new()).unwrap();
    let buffer = ppo.rollout_buffer().unwrap();
    assert_eq!(buffer.dones, vec![false, false, true, false]);
    // The third step was cut by the time limit in state [3]: reward 1 + gamma V([3]).
    let policy = ppo.policy();
    let v3 = policy
        .network
        .value(Tensor::from_data(
            TensorData::new(vec![3.0f32], [1, 1]),
            &flex(),
        ))
        .unwrap();
    let v3 = v3
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()[0];
    assert!(
        (buffer.rewards[2] - (1.0 + 0.9 * v3)).abs() < 1e-6,
        "{} vs {}",
        buffer.rewards[2],
        1.0 + 0.9 * v3
    );
    assert_eq!(buffer.rewards[0], 1.0);
    // A terminating bandit step adds nothing.
    let mut bandit = VectorEnv::new(vec![Toy { bandit: true, t: 0 }], 1).unwrap();
    ppo.reset_environments();
    ppo.collect_rollout(&mut bandit, &mut Logger::new())
        .unwrap();
    let buffer = ppo.rollout_buffer().unwrap();
    for (i, r) in buffer.rewards.iter().enumerate() {
        let a = buffer.actions[i].clamp(-2.0, 2.0);
        assert!(
            (r + (a - 0.5).powi(2)).abs() < 1e-5,
            "reward {r} for action {a}"
        );
    }
}

#[test]
fn gradient_clipping_is_global() {
    let _rng = device_rng();
    let device = flex().autodiff();
    let net = sb3_network(4, &device);
    let obs = Tensor::<2>::from_data(TensorData::new(vec![3.0f32; 32], [8, 4]), &device);
    let loss = net
        .value(obs)
        .unwrap()
        .powi_scalar(2)
        .mean()
        .mul_scalar(1e4);
    let grads = GradientsParams::from_grads(loss.backward(), &net);
    let global = |g: &GradientsParams| -> f64 {
        let mut total = 0.0;
        for layer in net.vf.iter().chain([&net.value_net]) {
            for data in [
                g.get::<2>(layer.weight.id).map(|t| t.into_data()),
                g.get::<1>(layer.bias.as_ref().unwrap().id)
                    .map(|t| t.into_data()),
            ]
            .into_iter()
            .flatten()
            {
                total += data
                    .convert::<f64>()
                    .try_into_vec::<f64>()
                    .unwrap()
                    .iter()
                    .map(|x| x * x)
                    .sum::<f64>();
            }
        }
        total.sqrt()
    };
    let before = global(&grads);
    assert!(
        before > 1.0,
        "the test needs a large gradient, got {before}"
    );
    let first_weight = |g: &GradientsParams| {
        let data = g.get::<2>(net.vf[0].weight.id).unwrap().into_data();
        data.convert::<f64>().try_into_vec::<f64>().unwrap()
    };
    let weight_before = first_weight(&grads);
    let (grads, norm) = clip_grad_norm(&net, grads, 0.5);
    let norm = norm
        .unwrap()
        .into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .unwrap()[0];
    assert!((norm - before).abs() / before < 1e-4);
    assert!(
        (global(&grads) - 0.5).abs() < 1e-4,
        "clipped norm {}",
        global(&grads)
    );
    // Every tensor scaled by the same factor (not clipped one by one).
    let weight_after = first_weight(&grads);
    let factor = 0.5 / (before + 1e-6);
    for (a, b) in weight_after.iter().zip(&weight_before) {
        assert!((a - b * factor).abs() <= 1e-6 * b.abs().max(1e-3));
    }
}

fn bandit_run(
    seed: u64,
    iterations: usize,
    data_parallel: DataParallel,
) -> (Ppo<MlpActorCritic>, Vec<f64>) {
    let envs = (0..4).map(|_| Toy { bandit: true, t: 0 }).collect();
    let mut envs = VectorEnv::new(envs, 1).unwrap();
    let config = PpoConfig::new()
        .with_seed(seed)
        .with_n_steps(16)
        .with_batch_size(32)
        .with_n_epochs(4)
        .with_learning_rate(anymal::rl::Schedule::Constant(3e-3))
        .with_data_parallel(data_parallel);
    let mut ppo = trainer(config, 1, 2.0, 64 * iterations as u64);
    let mut curve = Vec::new();
    for _ in 0..iterations {
        ppo.iterate(&mut envs, &mut Logger::new()).unwrap();
        curve.push(ppo.mean_episode_return().unwrap());
    }
    (ppo, curve)
}

#[test]
fn ppo_learns_a_bandit_and_is_deterministic() {
    let _rng = device_rng();
    let (ppo, curve) = bandit_run(3, 40, DataParallel::off());
    let mut policy = ppo.policy();
    let action = policy.predict(&[1.0], true).unwrap()[0];
    assert!(
        (action - 0.5).abs() < 0.15,
        "mean action {action} should approach 0.5"
    );
    assert!(curve[39] > curve[0], "return {} -> {}", curve[0], curve[39]);
    // Same seed, same learning curve, bit for bit.
    let (_, again) = bandit_run(3, 40, DataParallel::off());
    assert_eq!(curve, again);
    let (_, other) = bandit_run(4, 40, DataParallel::off());
    assert_ne!(curve, other);
    // Minibatches of 32 in 3 shards on 3 threads: the same curve up to rounding.
    let split = DataParallel {
        max_shards: 3,
        min_rows: 1,
    };
    let (_, sharded) = bandit_run(3, 40, split);
    for (i, (a, b)) in sharded.iter().zip(&curve).enumerate() {
        assert!((a - b).abs() < 1e-3, "iteration {i}: {a} sharded, {b} not");
    }
}

#[test]
fn logs_are_readable_tensorboard_and_csv() {
    let _rng = device_rng();
    let dir = tempfile::tempdir().unwrap();
    let task = PendulumTask::new(PendulumVersion::V4);
    let mut envs = VectorEnv::new(vec![task.make().unwrap(), task.make().unwrap()], 1).unwrap();
    let config = PpoConfig::new()
        .with_n_steps(64)
        .with_batch_size(64)
        .with_n_epochs(1);
    let mut ppo = trainer(config, 4, 3.0, 256);
    let mut logger = Logger::for_run(dir.path(), "PPO").unwrap();
    ppo.learn(&mut envs, &mut logger).unwrap();
    let run = logger.run_dir().unwrap().to_path_buf();
    let event_file = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("events.out.tfevents.")
        })
        .expect("an event file");
    let events = read_events(&event_file).unwrap();
    assert_eq!(events[0].file_version.as_deref(), Some("brain.Event:2"));
    let updates: Vec<_> = events.iter().filter(|e| e.summary.is_some()).collect();
    assert_eq!(updates.len(), 2, "one event per update");
    assert_eq!(
        updates.iter().map(|e| e.step).collect::<Vec<_>>(),
        vec![128, 256]
    );
    let tags: Vec<&str> = updates[1]
        .summary
        .as_ref()
        .unwrap()
        .value
        .iter()
        .map(|v| v.tag.as_str())
        .collect();
    for tag in [
        "rollout/ep_rew_mean",
        "rollout/ep_len_mean",
        "time/fps",
        "time/total_timesteps",
        "train/approx_kl",
        "train/clip_fraction",
        "train/entropy_loss",
        "train/explained_variance",
        "train/learning_rate",
        "train/loss",
        "train/policy_gradient_loss",
        "train/value_loss",
        "train/std",
        "train/n_updates",
    ] {
        assert!(tags.contains(&tag), "missing {tag} in {tags:?}");
    }
    let value_of = |tag: &str| {
        updates[1]
            .summary
            .as_ref()
            .unwrap()
            .value
            .iter()
            .find(|v| v.tag == tag)
            .unwrap()
            .simple_value
            .expect("every scalar carries its value")
    };
    assert_eq!(value_of("time/total_timesteps"), 256.0);
    assert_eq!(value_of("train/n_updates"), 2.0);
    assert!((value_of("train/learning_rate") - 3e-4).abs() < 1e-9);
    // The CSV holds the same values.
    let csv = std::fs::read_to_string(run.join("progress.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let last: Vec<&str> = lines.last().unwrap().split(',').collect();
    let column = header
        .iter()
        .position(|h| *h == "train/value_loss")
        .unwrap();
    let csv_value: f64 = last[column].parse().unwrap();
    assert!(
        (csv_value as f32 - value_of("train/value_loss")).abs() <= 1e-6 * csv_value.abs() as f32
    );
}

#[test]
fn checkpoints_resume_exactly_and_reject_bad_files() {
    let _rng = device_rng();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.ckpt");
    let device = flex().autodiff();
    let make_envs =
        || VectorEnv::new((0..4).map(|_| Toy { bandit: true, t: 0 }).collect(), 1).unwrap();
    let config = PpoConfig::new()
        .with_seed(11)
        .with_n_steps(8)
        .with_batch_size(16)
        .with_n_epochs(2);
    let mut ppo = trainer(config, 1, 2.0, 1000);
    let mut envs = make_envs();
    for _ in 0..3 {
        ppo.iterate(&mut envs, &mut Logger::new()).unwrap();
    }
    ppo.save(&path).unwrap();
    assert!(
        std::fs::read_dir(dir.path()).unwrap().count() == 1,
        "no temporary file left behind"
    );

    // Continuing and resuming from the file give the same next update, bit for bit.
    ppo.reset_environments();
    let continued = ppo.iterate(&mut envs, &mut Logger::new()).unwrap();
    let mut resumed: Ppo<MlpActorCritic> = Ppo::load(&path, &device).unwrap();
    assert_eq!(resumed.num_timesteps(), 96);
    let again = resumed
        .iterate(&mut make_envs(), &mut Logger::new())
        .unwrap();
    assert_eq!(continued, again);
    let weights = |p: &Ppo<MlpActorCritic>| host(p.network().pi[0].weight.val());
    assert_eq!(weights(&ppo), weights(&resumed));

    // The policy alone acts after loading.
    let mut policy: Policy<MlpActorCritic> = Policy::load(&path, &flex()).unwrap();
    let action = policy.predict(&[1.0], true).unwrap();
    assert_eq!(action.len(), 1);
    let err = policy
        .predict(&[1.0, 2.0, 3.0], true)
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected 1 numbers, got 3"), "{err}");
    assert_eq!(
        policy.predict_batch(&[1.0, 2.0, 3.0], true).unwrap().len(),
        3
    );

    // Corrupt, truncated, missing and foreign files give errors naming the file.
    let bytes = std::fs::read(&path).unwrap();
    let truncated = dir.path().join("truncated.ckpt");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let garbage = dir.path().join("garbage.ckpt");
    std::fs::write(&garbage, b"not a checkpoint").unwrap();
    for (file, expected) in [
        (truncated, "not a readable checkpoint"),
        (garbage, "not a readable checkpoint"),
        (dir.path().join("missing.ckpt"), "no such checkpoint file"),
    ] {
        let err = match Ppo::<MlpActorCritic>::load(&file, &device) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{} loaded", file.display()),
        };
        assert!(
            err.contains(expected) && err.contains(file.to_str().unwrap()),
            "{err}"
        );
    }
    // A checkpoint whose network is of another kind.
    use anymal::rl::checkpoint::{POLICY_ENTRY, STATE_ENTRY, read_archive, write_archive};
    let entries = read_archive(&path).unwrap();
    let teacher = anymal::core::TeacherConfig::new(4).init(&flex()).unwrap();
    let foreign = dir.path().join("foreign.ckpt");
    write_archive(
        &foreign,
        &[
            (POLICY_ENTRY, anymal::core::io::to_bytes(&teacher).unwrap()),
            (STATE_ENTRY, entries[STATE_ENTRY].clone()),
        ],
    )
    .unwrap();
    let err = match Ppo::<MlpActorCritic>::load(&foreign, &device) {
        Err(RlError::File { message, .. }) => message,
        other => panic!("expected a file error, got {:?}", other.err()),
    };
    assert!(
        err.contains("mlp_actor_critic") && err.contains("teacher"),
        "{err}"
    );
}

#[test]
fn bad_configurations_are_named() {
    let _rng = device_rng();
    let device = flex().autodiff();
    let space = BoxSpace::uniform(1, -2.0, 2.0).unwrap();
    let err = |config: PpoConfig| match Ppo::new(
        config,
        sb3_network(1, &device),
        &device,
        space.clone(),
        10,
    ) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("accepted"),
    };
    assert!(err(PpoConfig::new().with_gamma(1.5)).contains("gamma"));
    assert!(err(PpoConfig::new().with_batch_size(0)).contains("batch_size"));
    assert!(
        err(PpoConfig::new().with_learning_rate(anymal::rl::Schedule::Constant(f64::NAN)))
            .contains("learning_rate")
    );
    let not_autodiff = Ppo::new(
        PpoConfig::new(),
        sb3_network(1, &flex()),
        &flex(),
        space.clone(),
        10,
    );
    assert!(not_autodiff.err().unwrap().to_string().contains("autodiff"));
    // An environment whose observation the network does not fit.
    let mut ppo = Ppo::new(
        PpoConfig::new().with_n_steps(2),
        sb3_network(3, &device),
        &device,
        space,
        10,
    )
    .unwrap();
    let mut envs = VectorEnv::new(vec![Toy { bandit: true, t: 0 }], 1).unwrap();
    let e = ppo
        .collect_rollout(&mut envs, &mut Logger::new())
        .unwrap_err()
        .to_string();
    assert!(e.contains("1 numbers") && e.contains("expects 3"), "{e}");
}

#[test]
fn a_network_whose_actions_do_not_fit_the_action_space_is_refused() {
    let _rng = device_rng();
    let device = flex().autodiff();
    let network = MlpActorCriticConfig::new(3, 2).init(&device).unwrap();
    let space = BoxSpace::uniform(1, -1.0, 1.0).unwrap();
    let err = Ppo::new(PpoConfig::new(), network, &device, space, 100)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("2 action values") && err.contains("has 1 dimensions"),
        "{err}"
    );
}

/// `Toy` whose observations turn NaN from the third step.
struct NanAfterTwo(Toy);

impl Env for NanAfterTwo {
    type Obs = Vec<f64>;
    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        self.0.reset(seed)
    }
    fn step(&mut self, action: &[f64]) -> Result<Step<Vec<f64>>, EnvError> {
        let mut step = self.0.step(action)?;
        if self.0.t >= 3 {
            step.obs = vec![f64::NAN];
        }
        Ok(step)
    }
    fn observation_space(&self) -> ObservationSpace {
        self.0.observation_space()
    }
    fn action_space(&self) -> BoxSpace {
        self.0.action_space()
    }
    fn dt(&self) -> f64 {
        1.0
    }
}

#[test]
fn non_finite_observations_are_named_as_observations() {
    let _rng = device_rng();
    let config = PpoConfig::new().with_n_steps(8).with_batch_size(8);
    let mut ppo = trainer(config, 1, 2.0, 1000);
    let mut envs = VectorEnv::new(
        vec![NanAfterTwo(Toy {
            bandit: false,
            t: 0,
        })],
        1,
    )
    .unwrap();
    let err = ppo
        .collect_rollout(&mut envs, &mut Logger::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("environment 0 returned observation value 0 = NaN"),
        "{err}"
    );
    let mut policy = ppo.policy();
    let err = policy.predict(&[f64::NAN], true).unwrap_err().to_string();
    assert!(err.contains("observation row 0, value 0, is NaN"), "{err}");
}

#[test]
fn with_running_statistics_the_first_update_sees_the_rollouts_own_inputs() {
    // Observations that drift (a step counter) move the running statistics on every step. The
    // buffer keeps the inputs the actions were sampled from, so an update that does not change
    // the weights (learning rate 0) finds the same policy: no KL, nothing clipped.
    let _rng = device_rng();
    let device = flex().autodiff();
    device.seed(3);
    let network = MlpActorCriticConfig::new(1, 1)
        .with_normalize_observations(true)
        .init(&device)
        .unwrap();
    let config = PpoConfig::new()
        .with_n_steps(32)
        .with_batch_size(64)
        .with_n_epochs(1)
        .with_learning_rate(anymal::rl::Schedule::Constant(0.0));
    let space = BoxSpace::uniform(1, -2.0, 2.0).unwrap();
    let mut ppo = Ppo::new(config, network, &device, space, 64).unwrap();
    let envs = (0..2)
        .map(|_| {
            TimeLimit::new(
                Toy {
                    bandit: false,
                    t: 0,
                },
                20,
            )
        })
        .collect();
    let mut envs = VectorEnv::new(envs, 1).unwrap();
    ppo.collect_rollout(&mut envs, &mut Logger::new()).unwrap();
    // What the buffer holds is normalised: the counter's raw values reach 19.
    let stored = &ppo.rollout_buffer().unwrap().obs;
    assert!(stored.iter().all(|x| x.abs() < 4.0), "{stored:?}");
    let stats = ppo.train().unwrap();
    assert!(
        stats.approx_kl.abs() < 1e-7,
        "approx_kl {}",
        stats.approx_kl
    );
    assert_eq!(stats.clip_fraction, 0.0);
}

/// A TFRecord / protobuf decoder written from the two specifications, independent of the
/// writer's prost messages: the scalar tags and values of every event, by step.
fn decode_scalars(path: &std::path::Path) -> Vec<(i64, Vec<(String, f32)>)> {
    fn varint(bytes: &[u8], at: &mut usize) -> u64 {
        let (mut value, mut shift) = (0u64, 0);
        loop {
            let byte = bytes[*at];
            *at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return value;
            }
            shift += 7;
        }
    }
    /// (field number, wire type, payload) of every field of one message.
    fn fields(bytes: &[u8]) -> Vec<(u64, u64, &[u8])> {
        let mut at = 0;
        let mut out = Vec::new();
        while at < bytes.len() {
            let key = varint(bytes, &mut at);
            let (field, wire) = (key >> 3, key & 7);
            let start = at;
            let len = match wire {
                0 => {
                    varint(bytes, &mut at);
                    0
                }
                1 => 8,
                2 => varint(bytes, &mut at) as usize,
                5 => 4,
                other => panic!("wire type {other}"),
            };
            let payload = if wire == 0 {
                &bytes[start..at]
            } else {
                &bytes[at..at + len]
            };
            at += len;
            out.push((field, wire, payload));
        }
        out
    }
    let data = std::fs::read(path).unwrap();
    let mut at = 0;
    let mut events = Vec::new();
    while at < data.len() {
        // length (u64 LE), masked CRC of the length, payload, masked CRC of the payload
        let len = u64::from_le_bytes(data[at..at + 8].try_into().unwrap()) as usize;
        let payload = &data[at + 12..at + 12 + len];
        at += 12 + len + 4;
        let mut step = 0;
        let mut scalars = Vec::new();
        for (field, _, bytes) in fields(payload) {
            match field {
                2 => step = varint(bytes, &mut 0) as i64,
                5 => {
                    for (_, _, value) in fields(bytes).into_iter().filter(|f| f.0 == 1) {
                        let mut tag = String::new();
                        let mut simple = 0.0; // proto3: an absent float is 0
                        for (f, _, b) in fields(value) {
                            match f {
                                1 => tag = String::from_utf8(b.to_vec()).unwrap(),
                                2 => simple = f32::from_le_bytes(b.try_into().unwrap()),
                                _ => {}
                            }
                        }
                        scalars.push((tag, simple));
                    }
                }
                _ => {}
            }
        }
        if !scalars.is_empty() {
            events.push((step, scalars));
        }
    }
    events
}

/// The scalar tags TensorBoard's own reader (`EventAccumulator`) finds in `run`, when the
/// python package `tensorboard` is importable (`.ci/run` installs it).
fn tensorboard_reader_tags(run: &std::path::Path) -> Option<Vec<String>> {
    let script = "import sys\n\
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator\n\
        acc = EventAccumulator(sys.argv[1]); acc.Reload()\n\
        for tag in sorted(acc.Tags()['scalars']):\n    \
            print(tag, acc.Scalars(tag)[-1].value)\n";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(run)
        .output()
        .ok()?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("ModuleNotFoundError"), "{err}");
        eprintln!("python tensorboard is not installed: its reader is not checked");
        return None;
    }
    let text = String::from_utf8(out.stdout).unwrap();
    Some(
        text.lines()
            .map(|l| l.split(' ').next().unwrap().to_string())
            .collect(),
    )
}

#[test]
fn tensorboard_shows_every_column_of_the_csv_zeros_included() {
    let _rng = device_rng();
    let dir = tempfile::tempdir().unwrap();
    let task = PendulumTask::new(PendulumVersion::V4);
    let mut envs = VectorEnv::new(vec![task.make().unwrap()], 1).unwrap();
    let config = PpoConfig::new()
        .with_n_steps(64)
        .with_batch_size(64)
        .with_n_epochs(1);
    let mut ppo = trainer(config, 4, 3.0, 128);
    let mut logger = Logger::for_run(dir.path(), "PPO").unwrap();
    logger.record("check/zero", 0.0);
    ppo.learn(&mut envs, &mut logger).unwrap();
    let run = logger.run_dir().unwrap().to_path_buf();
    let csv = std::fs::read_to_string(run.join("progress.csv")).unwrap();
    let mut columns: Vec<String> = csv
        .lines()
        .next()
        .unwrap()
        .split(',')
        .map(String::from)
        .collect();
    columns.sort();
    assert!(columns.contains(&"check/zero".to_string()));

    let event_file = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("events.out.tfevents."))
        .unwrap();
    let events = decode_scalars(&event_file);
    let mut tags: Vec<String> = events
        .iter()
        .flat_map(|(_, s)| s.iter().map(|(t, _)| t.clone()))
        .collect();
    tags.sort();
    tags.dedup();
    assert_eq!(tags, columns, "event file tags against the CSV header");
    let zero = events[0].1.iter().find(|(t, _)| t == "check/zero").unwrap();
    assert_eq!(zero.1, 0.0);
    assert_eq!(events[0].0, 64);

    if let Some(reader_tags) = tensorboard_reader_tags(&run) {
        assert_eq!(
            reader_tags, columns,
            "TensorBoard's reader against the CSV header"
        );
    }
}
