//! The Upkie-like wheeled biped: the model against the reference's values, termination,
//! odometry against the wheels' true travel, the legs holding, determinism, and upstream's PI
//! balancer.

use anymal::envs::upkie::{UpkieConfig, UpkieGroundVelocity, UpkieReward, make_ppo_balancer_env};
use anymal::envs::{Env, EnvError, Pid, rollout};

/// Upstream's PI balancer for its Bullet simulation:
/// `v = 10 pitch + 20 int(pitch) + 5 p + 2 int(p)`.
fn upstream_pi(dt: f64) -> Pid {
    Pid::new(
        vec![-10.0, -5.0, 0.0, 0.0],
        vec![-20.0, -2.0, 0.0, 0.0],
        vec![0.0; 4],
        dt,
    )
    .unwrap()
}

#[test]
fn the_model_has_the_reference_masses_and_geometry() {
    let mut env = UpkieGroundVelocity::new(UpkieConfig::v1()).unwrap();
    env.reset(Some(0));
    let model = env.sim().model();
    let total: f64 = model.body_mass().iter().sum();
    assert!((total - 5.3733).abs() < 1e-4, "{total}");
    let joints = env.joints().clone();
    let data = env.sim().data();
    for (side, y) in [(0, 0.1524), (1, -0.1524)] {
        let axle = data.xpos()[joints.wheel_bodies[side]];
        // The axle 0.507 m below the base at 0.6 m; the tire 0.05 m in radius, 0.04 m wide.
        assert!(
            axle[0].abs() < 1e-9 && (axle[1] - y).abs() < 1e-9,
            "{axle:?}"
        );
        assert!((axle[2] - (0.6 - 0.507)).abs() < 1e-9, "{axle:?}");
        let tire = model.geom_size()[joints.tires[side]];
        assert_eq!((tire[0], tire[1]), (0.05, 0.02));
    }
}

#[test]
fn with_zero_command_it_falls_backwards_and_terminates_past_one_radian() {
    let mut env = UpkieGroundVelocity::new(UpkieConfig::v1()).unwrap();
    let (mut obs, _) = env.reset(Some(0));
    let start_legs: Vec<f64> = env.sim().qpos()[7..].to_vec();
    for step in 0..1000 {
        let s = env.step(&[0.0]).unwrap();
        assert_eq!(s.reward, 1.0);
        if s.terminated {
            // The centre of mass sits 1.15 cm behind the axle: it tips backwards.
            assert!(
                s.obs[0] < -1.0 && obs[0] >= -1.0,
                "{:?} after {:?}",
                s.obs,
                obs
            );
            assert!(step > 50, "fell after {step} steps");
            assert!(matches!(env.step(&[0.0]), Err(EnvError::ResetNeeded)));
            return;
        }
        obs = s.obs;
        if step == 40 {
            // Before it tips far, the legs hold the angles read at reset.
            let legs = &env.sim().qpos()[7..];
            for (k, q) in [0, 1, 3, 4].iter().map(|&i| (i, legs[i])) {
                assert!((q - start_legs[k]).abs() < 0.05, "leg joint {k}: {q}");
            }
        }
    }
    panic!("still up after 1000 steps with zero command");
}

#[test]
fn the_pi_balancer_stands_still_and_odometry_follows_the_wheels() {
    let mut env = UpkieGroundVelocity::new(UpkieConfig {
        reset_noise: UpkieConfig::ppo_balancer().reset_noise,
        ..UpkieConfig::v1()
    })
    .unwrap();
    let mut pid = upstream_pi(env.dt());
    let (mut obs, _) = env.reset(Some(0));
    let wheel = env.joints().wheel_bodies[0];
    // Wait for the 4 cm drop to land, then measure the travel.
    for _ in 0..40 {
        obs = env.step(&[pid.act(&obs)]).unwrap().obs;
    }
    let axle_start = env.sim().data().xpos()[wheel][0];
    let (p_start, pitch_start) = (obs[1], obs[0]);
    for _ in 0..1960 {
        let s = env.step(&[pid.act(&obs)]).unwrap();
        assert!(!s.terminated, "fell: {:?}", s.obs);
        obs = s.obs;
    }
    // The joint velocity is relative to the leg: p follows the axle minus 0.05 m x pitch. The
    // tires sink about 2 mm into the floor, so they roll on a smaller radius than the 0.05 m
    // the odometry assumes: it reads about 4 % long.
    let travel = env.sim().data().xpos()[wheel][0] - axle_start;
    let expected = travel - 0.05 * (obs[0] - pitch_start);
    let measured = obs[1] - p_start;
    assert!(travel.abs() > 0.05, "travel {travel}");
    assert!(measured * expected > 0.0, "{measured} vs {expected}");
    assert!(
        (measured / expected - 1.0).abs() < 0.06,
        "{measured} vs {expected}"
    );
    assert!(obs[0].abs() < 0.05 && obs[1].abs() < 0.2, "{obs:?}");
}

#[test]
fn seeds_reproduce_the_ppo_balancer_env() {
    let run = |seed| {
        let mut env = make_ppo_balancer_env().unwrap();
        let mut k = 0.0f64;
        rollout(&mut env, Some(seed), 300, |obs| {
            k += 1.0;
            vec![(k * 0.7).sin() + 8.0 * obs[0]]
        })
        .unwrap()
        .observations
    };
    assert_eq!(run(4), run(4));
    assert_ne!(run(4), run(5));
    let config = UpkieConfig::ppo_balancer();
    assert_eq!(config.reward, UpkieReward::Balancer);
    assert_eq!(config.wheel_kd, 0.2);
    assert!((UpkieReward::Balancer.value(0.3, &[0.0, 0.0, 0.3, 0.0]) - 2.0).abs() < 1e-12);
    let bad = UpkieGroundVelocity::new(UpkieConfig {
        max_pitch: 0.0,
        ..config
    });
    assert!(bad.err().unwrap().to_string().contains("max_pitch"));
}

#[test]
fn upstreams_reset_drops_the_robot_and_the_standing_height_starts_it_on_its_tires() {
    use anymal::envs::upkie::env::UPKIE_STANDING_HEIGHT;
    for (height, on_ground) in [(0.6, false), (UPKIE_STANDING_HEIGHT, true)] {
        let mut env = UpkieGroundVelocity::new(UpkieConfig {
            reset_height: height,
            ..UpkieConfig::v1()
        })
        .unwrap();
        env.reset(Some(0));
        env.step(&[0.0]).unwrap();
        assert_eq!(
            env.wheels_on_ground(),
            [on_ground; 2],
            "reset height {height}"
        );
    }
    let bad = UpkieGroundVelocity::new(UpkieConfig {
        reset_height: -1.0,
        ..UpkieConfig::v1()
    });
    assert!(bad.err().unwrap().to_string().contains("reset_height"));
}

#[test]
fn the_shipped_policys_env_starts_alike_and_commands_up_to_two_metres_per_second() {
    let config = UpkieConfig::shipped_policy();
    assert_eq!(config.reward, UpkieReward::Standing);
    let mut env = UpkieGroundVelocity::new(config).unwrap();
    assert_eq!(env.action_space().high(), &[2.0]);
    let (first, _) = env.reset(Some(1));
    assert_eq!(env.reset(Some(2)).0, first, "no initial-state noise");
    // 20 m/s^2 at 200 Hz: 0.1 m/s per step, up to the 2 m/s clamp (v1: 0.05 and 1).
    env.step(&[3.0]).unwrap();
    assert!((env.commanded_velocity() - 0.1).abs() < 1e-12);
    for _ in 0..30 {
        env.step(&[3.0]).unwrap();
    }
    assert_eq!(env.commanded_velocity(), 2.0);
    // 1 - |pitch + 0.2 pitch rate| / (pi / 2) - |p + 0.2 ground velocity| / 0.5.
    let standing = UpkieReward::Standing;
    assert_eq!(standing.value(0.7, &[0.0; 4]), 1.0);
    let expected = 1.0 - 0.2 / std::f64::consts::FRAC_PI_2 - 0.2 / 0.5;
    let value = standing.value(0.0, &[0.1, 0.1, 0.5, 0.5]);
    assert!((value - expected).abs() < 1e-12, "{value} vs {expected}");
    assert!((standing.value(0.0, &[-0.1, -0.1, -0.5, -0.5]) - expected).abs() < 1e-12);
}
