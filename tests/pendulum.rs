//! InvertedPendulum against trajectories recorded from Gymnasium 1.1.1 with MuJoCo 3.17.0
//! (tests/fixtures/gymnasium, made by record_inverted_pendulum.py): same initial state and
//! actions give the same observations, rewards, terminations and truncations, to 1e-9.

use anymal::envs::pendulum::INVERTED_PENDULUM_XML;
use anymal::envs::{
    Env, EnvError, InvertedPendulum, MujocoSim, PendulumVersion, make_inverted_pendulum,
};
use serde_json::Value;

fn cases() -> serde_json::Map<String, Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/gymnasium/inverted_pendulum.json"
    );
    serde_json::from_str::<Value>(&std::fs::read_to_string(path).unwrap())
        .unwrap()
        .as_object()
        .unwrap()
        .clone()
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Inputs are stored as IEEE-754 bits so that they replay exactly.
fn exact(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| f64::from_bits(x.as_u64().unwrap()))
        .collect()
}

/// One environment per version replays every case, so that each case after the first also
/// checks that `reset` leaves nothing of the previous episode behind.
#[test]
fn trajectories_match_gymnasium_step_for_step() {
    let mut envs = [
        make_inverted_pendulum(PendulumVersion::V4),
        make_inverted_pendulum(PendulumVersion::V5),
    ];
    for (name, case) in cases() {
        let env = match case["version"].as_str().unwrap() {
            "v4" => &mut envs[0],
            _ => &mut envs[1],
        };
        env.reset(Some(0));
        env.inner_mut()
            .set_state(&exact(&case["qpos_bits"]), &exact(&case["qvel_bits"]))
            .unwrap();
        let actions = exact(&case["action_bits"]);
        let observations = case["obs"].as_array().unwrap();
        for (t, action) in actions.iter().enumerate() {
            let step = env.step(&[*action]).unwrap();
            let expected = numbers(&observations[t]);
            for (a, b) in step.obs.iter().zip(&expected) {
                assert!(
                    (a - b).abs() <= 1e-9,
                    "{name} step {t}: obs {:?} vs gymnasium {expected:?}",
                    step.obs
                );
            }
            assert_eq!(
                step.reward,
                case["reward"][t].as_f64().unwrap(),
                "{name} step {t} reward"
            );
            assert_eq!(
                step.terminated,
                case["terminated"][t].as_bool().unwrap(),
                "{name} step {t} terminated"
            );
            assert_eq!(
                step.truncated,
                case["truncated"][t].as_bool().unwrap(),
                "{name} step {t} truncated"
            );
        }
    }
}

#[test]
fn v4_rewards_the_terminating_step_and_v5_does_not() {
    let cases = cases();
    let (v4, v5) = (&cases["v4_falls"], &cases["v5_falls"]);
    let sum = |c: &Value| numbers(&c["reward"]).iter().sum::<f64>();
    let steps = numbers(&v4["reward"]).len() as f64;
    assert_eq!(sum(v4), steps);
    assert_eq!(sum(v5), steps - 1.0);
}

#[test]
fn reset_noise_stays_within_one_hundredth_and_seeds_reproduce() {
    let mut env = InvertedPendulum::new(PendulumVersion::V4);
    let mut first = Vec::new();
    for seed in 0..200 {
        let (obs, _) = env.reset(Some(seed));
        assert!(obs.iter().all(|v| v.abs() < 0.01), "seed {seed}: {obs:?}");
        first.push(obs);
    }
    assert!(
        first.iter().flatten().any(|v| v.abs() > 0.009),
        "noise should span its range"
    );
    let (again, _) = env.reset(Some(17));
    assert_eq!(again, first[17]);
    let (next, _) = env.reset(None);
    assert_ne!(next, again, "no seed continues the stream");
}

#[test]
fn bad_actions_and_models_give_clear_errors() {
    let mut env = InvertedPendulum::new(PendulumVersion::V4);
    assert!(matches!(env.step(&[0.0]), Err(EnvError::ResetNeeded)));
    env.reset(Some(0));
    assert_eq!(
        env.step(&[0.0, 1.0]).unwrap_err().to_string(),
        "action has 2 values, the action space has 1"
    );
    assert_eq!(
        env.step(&[f64::NAN]).unwrap_err().to_string(),
        "action[0] is NaN: actions must be finite"
    );
    assert!(
        env.step(&[100.0]).is_ok(),
        "out-of-range actions are clamped by MuJoCo, as in Gymnasium"
    );

    let err = InvertedPendulum::from_file("no/such/model.xml", PendulumVersion::V4)
        .err()
        .unwrap()
        .to_string();
    assert_eq!(err, "MuJoCo model no/such/model.xml: no such file");
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.xml");
    std::fs::write(&broken, "<mujoco><worldbody><body></mujoco>").unwrap();
    let err = InvertedPendulum::from_file(&broken, PendulumVersion::V4)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.starts_with(&format!("MuJoCo model {}", broken.display())),
        "{err}"
    );
    let err = env.set_state(&[0.0], &[0.0, 0.0]).unwrap_err().to_string();
    assert_eq!(err, "qpos has 1 values, the model has 2");
}

#[test]
fn time_limit_truncates_at_1000_steps_and_the_pole_falls_without_control() {
    let mut env = make_inverted_pendulum(PendulumVersion::V5);
    let (mut obs, _) = env.reset(Some(3));
    for t in 1..=1000 {
        let step = env
            .step(&[10.0 * obs[1] + obs[0] + 0.5 * obs[2] + obs[3]])
            .unwrap();
        assert_eq!(step.truncated, t == 1000, "step {t}");
        assert!(
            !step.terminated,
            "step {t}: the controller keeps the pole up"
        );
        obs = step.obs;
    }
    // The pole leans slightly (its capsule ends 1 mm off the axis), so it falls with no control.
    env.reset(Some(3));
    env.inner_mut().set_state(&[0.0, 0.0], &[0.0, 0.0]).unwrap();
    let fell = (0..1000)
        .map(|_| env.step(&[0.0]).unwrap())
        .position(|s| s.terminated);
    assert!(fell.is_some());
}

/// `MujocoSim::reset` restores the saved integration state instead of calling `mj_resetData`:
/// after an episode that pushed the cart into its joint limit (constraint forces and warm start
/// active, time and controls non-zero), a reset simulation follows a fresh one bit for bit.
#[test]
fn reset_simulation_follows_a_fresh_one_exactly() {
    let mut used = MujocoSim::from_xml_string(INVERTED_PENDULUM_XML).unwrap();
    for _ in 0..200 {
        used.do_simulation(&[3.0], 2);
    }
    assert!(
        used.qpos()[0] > 0.99,
        "the cart reached its limit: {:?}",
        used.qpos()
    );
    used.reset();
    assert_eq!(used.time(), 0.0);
    let mut fresh = MujocoSim::from_xml_string(INVERTED_PENDULUM_XML).unwrap();
    for sim in [&mut used, &mut fresh] {
        sim.set_state(&[0.995, -0.05], &[0.5, 0.2]).unwrap();
    }
    for t in 0..300 {
        let action = [if t < 150 { 3.0 } else { -2.5 }];
        used.do_simulation(&action, 2);
        fresh.do_simulation(&action, 2);
        let bits = |sim: &MujocoSim| -> Vec<u64> {
            [sim.qpos(), sim.qvel(), &[sim.time()]]
                .concat()
                .iter()
                .map(|v| v.to_bits())
                .collect()
        };
        assert_eq!(bits(&used), bits(&fresh), "step {t}");
    }
}
