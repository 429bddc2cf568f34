//! Wrappers, vector environments, the mock environment and the PID baseline.

use anymal::envs::wrappers::{
    ClipAction, Delay, FrameStack, NormalizeObservation, RecordEpisodeStatistics, RescaleAction,
    TimeLimit, TransformReward,
};
use anymal::envs::{
    BoxSpace, Env, EnvError, Info, MockEnv, ObservationSpace, PendulumVersion, Pid, Step,
    VectorEnv, make_inverted_pendulum, rollout,
};

/// A scripted environment: the observation is `[t, last action...]`, reward `t`, terminated at
/// `terminate_at`; resets count themselves in the first observation entry's sign. It panics on
/// step `panic_at`, standing in for a bug in an environment.
struct Scripted {
    t: usize,
    terminate_at: usize,
    action_dim: usize,
    seed: Option<u64>,
    panic_at: Option<usize>,
}

impl Scripted {
    fn new(terminate_at: usize) -> Self {
        Self {
            t: 0,
            terminate_at,
            action_dim: 1,
            seed: None,
            panic_at: None,
        }
    }
}

impl Env for Scripted {
    type Obs = Vec<f64>;
    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        self.t = 0;
        if seed.is_some() {
            self.seed = seed;
        }
        (vec![0.0; 1 + self.action_dim], Info::default())
    }
    fn step(&mut self, action: &[f64]) -> anymal::envs::Result<Step<Vec<f64>>> {
        anymal::envs::env::check_action(action, self.action_dim)?;
        self.t += 1;
        if self.panic_at == Some(self.t) {
            panic!("scripted panic at step {}", self.t);
        }
        let obs = std::iter::once(self.t as f64)
            .chain(action.iter().copied())
            .collect();
        Ok(Step {
            obs,
            reward: self.t as f64,
            terminated: self.t >= self.terminate_at,
            truncated: false,
            info: Info::default(),
        })
    }
    fn observation_space(&self) -> ObservationSpace {
        ObservationSpace::Box(BoxSpace::unbounded(1 + self.action_dim))
    }
    fn action_space(&self) -> BoxSpace {
        BoxSpace::uniform(self.action_dim, -2.0, 2.0).unwrap()
    }
    fn dt(&self) -> f64 {
        0.05
    }
}

#[test]
fn time_limit_truncates_and_keeps_termination() {
    let mut env = TimeLimit::new(Scripted::new(3), 3);
    env.reset(None);
    env.step(&[0.0]).unwrap();
    env.step(&[0.0]).unwrap();
    let last = env.step(&[0.0]).unwrap();
    assert!(last.terminated && last.truncated, "both can be true");
    env.reset(None);
    assert_eq!(env.elapsed_steps(), 0);
}

#[test]
fn delay_filters_actions_and_observations() {
    let mut env = Delay::new(Scripted::new(100), 0.2).unwrap(); // alpha = 0.05 / 0.2 = 0.25
    assert_eq!(env.alpha(), 0.25);
    env.reset(None);
    let step = env.step(&[1.0]).unwrap();
    // Sent action: 0 + 0.25 (1 - 0) = 0.25; observation [1, 0.25] filtered from [0, 0].
    assert_eq!(step.obs, vec![0.25, 0.0625]);
    let step = env.step(&[1.0]).unwrap();
    // Sent action 0.4375; raw observation [2, 0.4375]; filtered 0.25 + 0.25 (2 - 0.25).
    assert_eq!(step.obs, vec![0.6875, 0.0625 + 0.25 * (0.4375 - 0.0625)]);
    let err = Delay::new(Scripted::new(1), 0.05)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("alpha") && err.contains("must lie in (0, 1)"),
        "{err}"
    );
    assert!(Delay::new(Scripted::new(1), -1.0).is_err());
}

#[test]
fn frame_stack_keeps_the_last_frames_oldest_first() {
    let mut env = FrameStack::new(Scripted::new(100), 3).unwrap();
    let (obs, _) = env.reset(None);
    assert_eq!(obs, vec![0.0; 6]);
    env.step(&[0.5]).unwrap();
    let step = env.step(&[-0.5]).unwrap();
    assert_eq!(step.obs, vec![0.0, 0.0, 1.0, 0.5, 2.0, -0.5]);
    let step = env.step(&[1.0]).unwrap();
    assert_eq!(step.obs, vec![1.0, 0.5, 2.0, -0.5, 3.0, 1.0]);
    assert_eq!(
        env.observation_space(),
        ObservationSpace::Box(BoxSpace::unbounded(6))
    );
}

#[test]
fn transform_reward_uses_the_closure() {
    let mut env = TransformReward::new(Scripted::new(100), |step: &Step<Vec<f64>>| {
        step.reward * 10.0 - step.obs[1]
    });
    env.reset(None);
    assert_eq!(env.step(&[0.5]).unwrap().reward, 9.5);
}

#[test]
fn normalize_observation_follows_gymnasium_and_saves_its_statistics() {
    let mut env = NormalizeObservation::new(Scripted::new(100));
    env.reset(None);
    env.step(&[1.0]).unwrap();
    let step = env.step(&[1.0]).unwrap();
    // Samples seen: [0, 0], [1, 1], [2, 1]; count 3 + 1e-4, prior mean 0 var 1.
    let stats = env.stats().clone();
    assert!((stats.count - 3.0001).abs() < 1e-12);
    let xs = [0.0, 1.0, 2.0];
    let (mut mean, mut var, mut count) = (0.0f64, 1.0f64, 1e-4f64);
    for x in xs {
        let total = count + 1.0;
        let delta = x - mean;
        mean += delta / total;
        var = (var * count + delta * delta * count / total) / total;
        count = total;
    }
    assert!((stats.mean[0] - mean).abs() < 1e-12 && (stats.var[0] - var).abs() < 1e-12);
    assert!((step.obs[0] - (2.0 - mean) / (var + 1e-8).sqrt()).abs() < 1e-12);

    let dir = tempfile::tempdir().unwrap();
    env.save_stats(dir.path().join("stats.json")).unwrap();
    let mut other = NormalizeObservation::new(Scripted::new(100));
    other.load_stats(dir.path().join("stats.json")).unwrap();
    let loaded = other.stats().clone();
    let close = |a: &[f64], b: &[f64]| {
        a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-15 * x.abs().max(1.0))
    };
    assert!(
        close(&loaded.mean, &stats.mean)
            && close(&loaded.var, &stats.var)
            && close(&[loaded.count], &[stats.count])
    );
    other.set_update(false);
    other.reset(None);
    assert_eq!(other.stats(), &loaded, "frozen statistics do not change");
    let err = other
        .load_stats(dir.path().join("absent.json"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("absent.json"), "{err}");
}

#[test]
fn clip_and_rescale_actions() {
    let mut clip = ClipAction::new(Scripted::new(100));
    clip.reset(None);
    assert_eq!(clip.step(&[5.0]).unwrap().obs[1], 2.0);
    let mut rescale = RescaleAction::new(Scripted::new(100), 0.0, 1.0).unwrap();
    rescale.reset(None);
    assert_eq!(rescale.step(&[0.75]).unwrap().obs[1], 1.0); // [0, 1] -> [-2, 2]
    assert_eq!(
        rescale.action_space(),
        BoxSpace::uniform(1, 0.0, 1.0).unwrap()
    );
    assert!(RescaleAction::new(Scripted::new(1), 1.0, 1.0).is_err());
}

#[test]
fn episode_statistics_are_recorded_at_the_end() {
    let mut env = RecordEpisodeStatistics::new(Scripted::new(3));
    for _ in 0..2 {
        env.reset(None);
        assert!(env.step(&[0.0]).unwrap().info.episode.is_none());
        env.step(&[0.0]).unwrap();
        let stats = env.step(&[0.0]).unwrap().info.episode.unwrap();
        assert_eq!((stats.episode_return, stats.length), (6.0, 3));
    }
    assert_eq!(env.history().len(), 2);
}

#[test]
fn vector_env_autoresets_in_the_same_step_and_keeps_the_final_observation() {
    for threads in [1, 2] {
        let envs = vec![Scripted::new(2), Scripted::new(3), Scripted::new(100)];
        let mut vec_env = VectorEnv::new(envs, threads).unwrap();
        vec_env.reset(Some(10));
        assert_eq!(
            vec_env.envs().map(|e| e.seed.unwrap()).collect::<Vec<_>>(),
            vec![10, 11, 12]
        );
        vec_env.step(&[0.1, 0.2, 0.3]).unwrap();
        let step = vec_env.step(&[0.4, 0.5, 0.6]).unwrap();
        assert_eq!(step.terminated, vec![true, false, false]);
        assert_eq!(step.obs[0], vec![0.0, 0.0], "the reset observation");
        assert_eq!(
            step.final_obs[0],
            Some(vec![2.0, 0.4]),
            "the last observation of the episode"
        );
        assert_eq!(step.final_obs[1], None);
        assert_eq!(step.obs[2], vec![2.0, 0.6]);
        assert_eq!(step.rewards, vec![2.0, 2.0, 2.0]);
        let step = vec_env.step(&[0.0, 0.0, 0.0]).unwrap();
        assert_eq!(step.obs[0], vec![1.0, 0.0], "a new episode started");
        assert_eq!(step.terminated, vec![false, true, false]);
        let err = vec_env.step(&[0.0]).unwrap_err().to_string();
        assert_eq!(err, "action has 1 values, the action space has 3");
    }
}

/// Copies 1 and 2 run on helper threads. A bad action is an error before any copy steps, the
/// copies come back after every step, and a panic in a helper continues on the calling thread
/// with its message.
#[test]
fn vector_env_rejects_bad_actions_whole_and_passes_on_helper_panics() {
    let envs = vec![Scripted::new(100), Scripted::new(100), Scripted::new(100)];
    let mut vec_env = VectorEnv::new(envs, 3).unwrap();
    assert_eq!(
        vec_env.single_action_space(),
        &BoxSpace::uniform(1, -2.0, 2.0).unwrap()
    );
    vec_env.reset(Some(0));
    let err = vec_env.step(&[0.0, 0.0, f64::NAN]).unwrap_err();
    assert!(
        matches!(err, EnvError::NonFiniteAction { index: 2, .. }),
        "{err}"
    );
    let step = vec_env.step(&[0.5, 0.5, 0.5]).unwrap();
    assert_eq!(
        step.obs,
        vec![vec![1.0, 0.5]; 3],
        "no copy stepped on the bad action"
    );
    let step = vec_env.step(&[0.5, 0.5, 0.5]).unwrap();
    assert_eq!(step.obs, vec![vec![2.0, 0.5]; 3]);
    assert_eq!(vec_env.envs().count(), 3);

    let panicking = Scripted {
        panic_at: Some(2),
        ..Scripted::new(100)
    };
    let mut vec_env = VectorEnv::new(vec![Scripted::new(100), panicking], 2).unwrap();
    vec_env.reset(None);
    vec_env.step(&[0.0, 0.0]).unwrap();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        vec_env.step(&[0.0, 0.0]).ok();
    }))
    .unwrap_err();
    assert_eq!(
        panic.downcast_ref::<String>().map(String::as_str),
        Some("scripted panic at step 2")
    );
}

#[test]
fn vector_pendulums_are_reproducible_across_thread_counts() {
    let run = |threads| {
        let envs = (0..4)
            .map(|_| make_inverted_pendulum(PendulumVersion::V4))
            .collect();
        let mut vec_env = VectorEnv::new(envs, threads).unwrap();
        let mut obs = vec_env.reset(Some(42));
        for t in 0..300 {
            let actions: Vec<f64> = obs
                .iter()
                .map(|o| 10.0 * o[1] + o[0] + 0.3 * (t as f64 * 0.1).sin())
                .collect();
            obs = vec_env.step(&actions).unwrap().obs;
        }
        obs
    };
    assert_eq!(run(1), run(2));
    assert!(matches!(
        VectorEnv::new(vec![make_inverted_pendulum(PendulumVersion::V4)], 1)
            .unwrap()
            .step(&[0.0]),
        Err(EnvError::ResetNeeded)
    ));
}

#[test]
fn mock_env_gives_structured_observations_of_its_dims() {
    let mut env = MockEnv::with_dims(7, 5, 2, 3, 4).with_episode_length(2);
    let (obs, _) = env.reset(Some(1));
    assert_eq!(
        (obs.proprio.len(), obs.extero.len(), obs.privileged.len()),
        (7, 10, 3)
    );
    let (again, _) = env.reset(Some(1));
    assert_eq!(obs, again);
    assert!(!env.step(&[0.0; 4]).unwrap().truncated);
    let step = env.step(&[0.0; 4]).unwrap();
    assert!(step.truncated && !step.terminated);
    assert!(env.step(&[0.0; 3]).is_err());
    let mean: f32 = (0..200)
        .flat_map(|_| env.step(&[0.0; 4]).unwrap().obs.proprio)
        .sum::<f32>()
        / 1400.0;
    assert!(
        mean.abs() < 0.1,
        "N(0, 1) samples average near zero: {mean}"
    );
}

#[test]
fn pid_balances_the_pendulum_for_ten_full_episodes() {
    let mut env = make_inverted_pendulum(PendulumVersion::V4);
    let mut pid = Pid::new(
        vec![-1.0, -10.0, -0.5, -1.0],
        vec![0.0; 4],
        vec![0.0; 4],
        env.dt(),
    )
    .unwrap();
    for seed in 0..10 {
        pid.reset();
        let episode = rollout(&mut env, Some(seed), 2000, |obs| vec![pid.act(obs)]).unwrap();
        assert_eq!(episode.episode_return(), 1000.0, "seed {seed}");
        assert!(episode.truncated && !episode.terminated);
        assert_eq!(episode.observations.len(), 1001);
    }
}

#[test]
fn pid_terms_follow_the_discrete_formula() {
    let mut pid = Pid::new(vec![1.0, 0.0], vec![0.5, 0.0], vec![0.0, 2.0], 0.1).unwrap();
    // e = -obs. Step 1: e = [-1, -2]; P = -1, I = 0.5 * (-0.1) = -0.05, D = 0.
    assert!((pid.act(&[1.0, 2.0]) - (-1.05)).abs() < 1e-12);
    // Step 2: e = [-1, -1]; P = -1, I = 0.5 * (-0.2) = -0.1, D = 2 * (-1 - -2) / 0.1 = 20.
    assert!((pid.act(&[1.0, 1.0]) - 18.9).abs() < 1e-12);
}

#[test]
fn constructors_refuse_bad_values_with_a_message_instead_of_panicking_later() {
    let message = |r: Result<BoxSpace, EnvError>| r.unwrap_err().to_string();
    let err = message(BoxSpace::new(vec![0.0, 0.0], vec![1.0]));
    assert!(err.contains("low has 2, high has 1"), "{err}");
    let err = message(BoxSpace::new(vec![0.0, 2.0], vec![1.0, 1.0]));
    assert!(err.contains("bound 1: low 2 must be <= high 1"), "{err}");
    assert!(BoxSpace::uniform(1, f64::NAN, 1.0).is_err());
    assert!(
        BoxSpace::uniform(3, -1.0, 1.0)
            .unwrap()
            .clip(&[5.0, -5.0, 0.5])
            == [1.0, -1.0, 0.5]
    );

    let err = FrameStack::new(Scripted::new(10), 0)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("at least one frame"), "{err}");

    let err = Pid::new(vec![1.0; 4], vec![0.0; 3], vec![0.0; 4], 0.02)
        .unwrap_err()
        .to_string();
    assert!(err.contains("kp 4, ki 3, kd 4"), "{err}");
    assert!(Pid::new(vec![1.0], vec![0.0], vec![0.0], 0.0).is_err());
    assert!(Pid::linear(vec![f64::INFINITY]).is_err());
}
