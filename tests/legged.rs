//! The quadruped world: the model's values, the stand, leg kinematics, terrains and height
//! scans against MuJoCo's ray casts, observations, rewards, terminations, determinism and bad
//! input.

use std::f64::consts::PI;

use anymal::envs::legged::cpg::foot_lift;
use anymal::envs::legged::env::terminations;
use anymal::envs::legged::height_scan::{POINTS_PER_FOOT, ScanPattern};
use anymal::envs::legged::kinematics::LegKinematics;
use anymal::envs::legged::observation::{self, History, PhaseInfo, privileged, proprio};
use anymal::envs::legged::reward::{self, RewardConfig, RewardContext, RewardTerm};
use anymal::envs::legged::robot::{ModelSource, NUM_JOINTS, RobotDescription};
use anymal::envs::legged::state::RobotState;
use anymal::envs::legged::{
    ActionSpace, CommandConfig, HeightNoise, LeggedConfig, LeggedEnv, LeggedWorld, Randomization,
    Termination, TerrainConfig, TerrainType, TileGrid,
};
use anymal::envs::{Env, EnvError, ObservationSpace, StructuredObs};

/// A quiet environment: no randomisation, a fixed command.
fn quiet(config: LeggedConfig) -> LeggedConfig {
    LeggedConfig {
        randomization: Randomization::none(),
        commands: CommandConfig::fixed(0.0, 0.0, 0.0),
        ..config
    }
}

fn small_grid(types: Vec<TerrainType>) -> TileGrid {
    TileGrid {
        tile_size: 4.0,
        resolution: 0.05,
        levels: 3,
        types,
        platform: 1.0,
        border: 1.0,
        seed: 7,
    }
}

#[test]
fn the_model_has_anymal_c_masses_and_names() {
    let world = LeggedWorld::new(
        RobotDescription::anymal_c(),
        TerrainConfig::Plane,
        &Randomization::none(),
        0,
    )
    .unwrap();
    let model = &world.variants[0].model;
    let robot = &world.robot;
    let mass = |b: usize| model.body_mass()[b];
    assert!((mass(robot.base_body) - 19.2035).abs() < 1e-9);
    let total: f64 = (1..model.nbody() as usize).map(mass).sum();
    // base + 4 x (hip 2.781 + thigh 3.071 + shank 0.588)
    assert!(
        (total - (19.2035 + 4.0 * (2.781 + 3.071 + 0.588))).abs() < 1e-6,
        "{total}"
    );
    assert_eq!(model.nu(), 12);
    // The zero-angle foot of the left front leg sits at (0.448, 0.301, -0.600) from the base.
    let lf = world.legs[0].forward([0.0; 3]);
    for (got, want) in lf.iter().zip([0.4478, 0.3011, -0.6005]) {
        assert!((got - want).abs() < 1e-4, "{lf:?}");
    }
    assert_eq!(world.robot.foot_radius, [0.03; 4]);
}

#[test]
fn missing_names_are_all_listed() {
    let mut robot = RobotDescription::anymal_c();
    robot.legs[1].joints[2] = "RF_KNEE".into();
    robot.legs[3].foot_body = "RH_TOE".into();
    let error = LeggedWorld::new(robot, TerrainConfig::Plane, &Randomization::none(), 0)
        .err()
        .expect("names are missing");
    let message = error.to_string();
    assert!(message.contains("joint 'RF_KNEE'"), "{message}");
    assert!(message.contains("body 'RH_TOE'"), "{message}");
    let mut robot = RobotDescription::anymal_c();
    robot.model = ModelSource::File("/no/such/robot.xml".into());
    let error = LeggedWorld::new(robot, TerrainConfig::Plane, &Randomization::none(), 0).err();
    assert!(error.unwrap().to_string().contains("/no/such/robot.xml"));
}

#[test]
fn ik_inverts_fk_and_fk_matches_mujoco() {
    let mut env = LeggedEnv::new(quiet(LeggedConfig::flat())).unwrap();
    env.reset(Some(0));
    let world = env.world().clone();
    let robot = &world.robot;
    let poses = [
        [0.0, 0.4, -0.8],
        [0.2, 0.7, -1.3],
        [-0.3, -0.2, -0.5],
        [0.1, 1.0, -2.0],
    ];
    for (leg, kinematics) in world.legs.iter().enumerate() {
        for pose in poses {
            let q = if leg >= 2 {
                [pose[0], -pose[1], -pose[2]]
            } else {
                pose
            };
            let foot = kinematics.forward(q);
            let back = kinematics.inverse(foot).expect("reachable");
            for (a, b) in back.iter().zip(q) {
                assert!((a - b).abs() < 1e-9, "leg {leg}: {q:?} -> {back:?}");
            }
        }
    }
    // FK against MuJoCo: set joints on a base at the origin, level, and compare foot bodies.
    let data = env.data_mut();
    let mut qpos = data.qpos().to_vec();
    qpos[..7].copy_from_slice(&[0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
    let q = [
        0.1, 0.5, -0.9, -0.2, 0.3, -1.1, 0.15, -0.6, 1.0, 0.0, -0.4, 0.7,
    ];
    for j in 0..NUM_JOINTS {
        qpos[robot.joint_qpos[j]] = q[j];
    }
    data.qpos_mut().copy_from_slice(&qpos);
    data.forward();
    for leg in 0..4 {
        let fk = world.legs[leg].forward([q[3 * leg], q[3 * leg + 1], q[3 * leg + 2]]);
        let sim = data.xpos()[robot.foot_bodies[leg]];
        for k in 0..3 {
            let want = sim[k] - if k == 2 { 1.0 } else { 0.0 };
            assert!((fk[k] - want).abs() < 1e-9, "leg {leg}: {fk:?} vs {sim:?}");
        }
    }
    // Out of reach: None.
    assert!(world.legs[0].inverse([0.3, 0.1, -2.0]).is_none());
}

#[test]
fn a_quadruped_with_other_legs_plugs_in_without_code_changes() {
    // Longer shanks: the foot body 0.1 m further down; everything else the same.
    let xml = anymal::envs::legged::robot::ANYMAL_C_XML.replace("-0.3155", "-0.4155");
    let mut robot = RobotDescription::anymal_c();
    robot.model = ModelSource::Xml(xml);
    robot.start_height = 0.68;
    for leg in &mut robot.legs {
        leg.nominal_foot[2] = -0.62;
    }
    let world = LeggedWorld::new(robot, TerrainConfig::Plane, &Randomization::none(), 0).unwrap();
    let z = world.legs[0].forward([0.0; 3])[2];
    assert!((z - -0.7005).abs() < 1e-9, "{z}");
    let kinematics: &LegKinematics = &world.legs[2];
    let q = kinematics.inverse([-0.44, 0.25, -0.62]).unwrap();
    let foot = kinematics.forward(q);
    assert!((foot[2] - -0.62).abs() < 1e-9);
}

/// Runs the CPG with zero actions for `seconds` and returns the lowest base height after the
/// first second, the smallest over the feet of (highest - lowest foot height), and whether the
/// episode ended.
fn trot_in_place(seconds: f64) -> (f64, f64, bool) {
    let config = quiet(LeggedConfig {
        action: ActionSpace::CPG,
        ..LeggedConfig::flat()
    });
    let mut env = LeggedEnv::new(config).unwrap();
    env.reset(Some(1));
    let steps = (seconds / env.dt()).round() as usize;
    let (mut lowest, mut ended) = (f64::INFINITY, false);
    let (mut foot_low, mut foot_high) = ([f64::INFINITY; 4], [f64::NEG_INFINITY; 4]);
    for t in 0..steps {
        let step = env.step(&[0.0; 16]).unwrap();
        let state = env.state();
        if t as f64 * env.dt() >= 1.0 {
            lowest = lowest.min(state.base_position[2]);
            for leg in 0..4 {
                foot_low[leg] = foot_low[leg].min(state.foot_position[leg][2]);
                foot_high[leg] = foot_high[leg].max(state.foot_position[leg][2]);
            }
        }
        if step.done() {
            ended = true;
            break;
        }
    }
    let lift = (0..4)
        .map(|l| foot_high[l] - foot_low[l])
        .fold(f64::INFINITY, f64::min);
    (lowest, lift, ended)
}

#[test]
fn zero_cpg_actions_trot_in_place_for_ten_seconds() {
    // Legs start in a trot: LF and RH swing first, RF and LH stand (CpgConfig's default).
    let (lowest, lift, ended) = trot_in_place(10.0);
    assert!(!ended, "the episode ended");
    assert!(lowest > 0.45, "the base sank to {lowest}");
    // The trajectory lifts each foot 0.2 m above its stance point; the PD law tracks it with
    // some lag.
    assert!(lift > 0.75 * 0.2, "a foot rose only {lift} m");
    eprintln!("trot: lowest base {lowest:.3} m, smallest foot lift {lift:.3} m");
}

#[test]
fn the_foot_trajectory_is_the_papers() {
    assert_eq!(foot_lift(0.0, 0.2), 0.0);
    assert!((foot_lift(PI / 2.0, 0.2) - 0.2).abs() < 1e-12);
    assert!((foot_lift(PI / 4.0, 0.2) - 0.1).abs() < 1e-12);
    assert!(foot_lift(PI, 0.2).abs() < 1e-12);
    assert_eq!(foot_lift(1.5 * PI, 0.2), 0.0);
}

#[test]
fn heights_agree_with_mujoco_ray_casts_on_every_terrain_type() {
    let grid = small_grid(TerrainType::ALL.to_vec());
    let config = quiet(LeggedConfig {
        terrain: TerrainConfig::Tiles(grid.clone()),
        ..LeggedConfig::default()
    });
    let mut env = LeggedEnv::new(config).unwrap();
    env.reset(Some(0));
    let world = env.world().clone();
    let data = env.data_mut();
    let only_ground = [0u8, 0, 1, 0, 0, 0];
    let mut worst = 0.0f64;
    for column in 0..grid.types.len() {
        for level in 0..grid.levels {
            let [cx, cy] = grid.tile_center(level, column);
            let mut relief = 0.0f64;
            for i in 0..40 {
                for j in 0..40 {
                    let x = cx - 1.9 + 3.8 * (i as f64 + 0.37) / 40.0;
                    let y = cy - 1.9 + 3.8 * (j as f64 + 0.61) / 40.0;
                    let (geom, distance) = data.ray(
                        &[x, y, 5.0],
                        &[0.0, 0.0, -1.0],
                        Some(&only_ground),
                        true,
                        None,
                        None,
                    );
                    assert_eq!(geom, Some(world.terrain_geom));
                    let ray = 5.0 - distance;
                    let ours = world.ground_height(x, y);
                    worst = worst.max((ray - ours).abs());
                    relief = relief.max(ours.abs());
                }
            }
            let kind = grid.types[column];
            if level == grid.levels - 1 && kind != TerrainType::Flat {
                assert!(
                    relief > 0.05,
                    "{} at the top level is flat ({relief})",
                    kind.name()
                );
            }
        }
    }
    assert!(worst < 1e-3, "largest disagreement {worst} m");
}

#[test]
fn the_height_scan_reads_the_ground_around_each_foot() {
    let grid = small_grid(vec![TerrainType::StairsUp]);
    let config = quiet(LeggedConfig {
        terrain: TerrainConfig::Tiles(grid),
        ..LeggedConfig::default()
    });
    let mut env = LeggedEnv::new(config).unwrap();
    let (obs, _) = env.reset(Some(3));
    assert_eq!(obs.extero.len(), 4 * POINTS_PER_FOOT);
    let state = env.state().clone();
    let offsets = ScanPattern::FootCircles.offsets();
    let (s, c) = state.yaw.sin_cos();
    for leg in 0..4 {
        let foot = state.foot_position[leg];
        for (k, o) in offsets.iter().enumerate() {
            let (x, y) = (foot[0] + c * o[0] - s * o[1], foot[1] + s * o[0] + c * o[1]);
            let want = env.world().ground_height(x, y) - foot[2];
            let got = obs.extero[leg * POINTS_PER_FOOT + k] as f64;
            assert!(
                (got - want).abs() < 1e-5,
                "leg {leg} point {k}: {got} vs {want}"
            );
        }
    }
    // Without a noise model there is no noisy copy; with one, it differs from the clean one.
    assert!(obs.noisy_extero.is_empty());
}

#[test]
fn the_noisy_copy_comes_from_the_same_step() {
    let config = quiet(LeggedConfig {
        terrain: TerrainConfig::Tiles(small_grid(vec![TerrainType::Rough])),
        noise: Some(HeightNoise::paper()),
        noise_level: 1.0,
        ..LeggedConfig::default()
    });
    let mut env = LeggedEnv::new(config.clone()).unwrap();
    let (obs, _) = env.reset(Some(5));
    assert_eq!(obs.noisy_extero.len(), obs.extero.len());
    let difference: f64 = obs
        .extero
        .iter()
        .zip(&obs.noisy_extero)
        .map(|(a, b)| (a - b).abs() as f64)
        .sum::<f64>()
        / obs.extero.len() as f64;
    assert!(
        difference > 1e-3 && difference < 1.0,
        "mean |noise| {difference}"
    );
    // Level 0 and no noise: the copies agree.
    let mut clean = LeggedEnv::new(LeggedConfig {
        noise: Some(HeightNoise::none()),
        ..config
    })
    .unwrap();
    let (obs, _) = clean.reset(Some(5));
    assert_eq!(obs.extero, obs.noisy_extero);
}

#[test]
fn the_observation_layout_matches_a_constructed_state() {
    let state = RobotState {
        gravity_body: [0.1, 0.2, -0.97],
        linear_velocity_body: [1.0, 2.0, 3.0],
        angular_velocity_body: [4.0, 5.0, 6.0],
        joint_position: std::array::from_fn(|j| j as f64),
        joint_velocity: std::array::from_fn(|j| 100.0 + j as f64),
        foot_contact: [true, false, true, false],
        foot_force: [[0.0; 3], [0.0; 3], [7.0, 8.0, 9.0], [0.0; 3]],
        foot_normal: [[0.0; 3], [0.0, 0.6, 0.8], [0.0; 3], [0.0; 3]],
        foot_friction: [0.4, 0.5, 0.6, 0.7],
        thigh_contact: [false, false, false, true],
        shank_contact: [true, false, false, false],
        external_force: [10.0, 11.0, 12.0],
        external_torque: [13.0, 14.0, 15.0],
        air_time: [0.0, 0.25, 0.0, 0.5],
        ..RobotState::default()
    };
    let mut history = History::steady(&state, [0.5; NUM_JOINTS]);
    history.joint_position[2][5] = -3.0;
    history.joint_velocity[1][11] = -4.0;
    history.joint_target[1][0] = -5.0;
    history.joint_target[2][0] = -6.0;
    let phase = PhaseInfo {
        offsets: [0.1, 0.2, 0.3, 0.4],
        phases: [0.0, PI / 2.0, PI, 1.5 * PI],
        base_frequency: 1.3,
    };
    let mut obs = StructuredObs {
        proprio: vec![],
        extero: vec![],
        privileged: vec![],
        noisy_extero: vec![],
    };
    observation::write(&mut obs, &state, [0.7, -0.2, 0.3], &history, &phase);
    let p = &obs.proprio;
    let q = &obs.privileged;
    assert_eq!(p.len(), 133);
    assert_eq!(q.len(), 50);
    assert_eq!(&p[proprio::COMMAND], &[0.7, -0.2, 0.3]);
    assert_eq!(&p[proprio::GRAVITY], &[0.1, 0.2, -0.97]);
    assert_eq!(&p[proprio::LINEAR_VELOCITY], &[1.0, 2.0, 3.0]);
    assert_eq!(&p[proprio::ANGULAR_VELOCITY], &[4.0, 5.0, 6.0]);
    assert_eq!(p[proprio::JOINT_POSITION][7], 7.0);
    assert_eq!(p[proprio::JOINT_VELOCITY][11], 111.0);
    assert_eq!(p[proprio::JOINT_POSITION_HISTORY][2 * 12 + 5], -3.0);
    assert_eq!(p[proprio::JOINT_VELOCITY_HISTORY][12 + 11], -4.0);
    // The target history holds the last 2 targets, newest first; the third is not shown.
    assert_eq!(p[proprio::JOINT_TARGET_HISTORY][12], -5.0);
    assert_eq!(p[proprio::JOINT_TARGET_HISTORY][0], 0.5);
    assert!(!p.contains(&-6.0));
    assert_eq!(&p[proprio::PHASE_OFFSET], &[0.1, 0.2, 0.3, 0.4]);
    assert!((p[proprio::PHASE_COS][2] - -1.0).abs() < 1e-6);
    assert!((p[proprio::PHASE_SIN][1] - 1.0).abs() < 1e-6);
    assert_eq!(p[proprio::BASE_FREQUENCY][0], 1.3);
    assert_eq!(&q[privileged::FOOT_CONTACT], &[1.0, 0.0, 1.0, 0.0]);
    assert_eq!(&q[privileged::CONTACT_FORCE][6..9], &[7.0, 8.0, 9.0]);
    assert_eq!(&q[privileged::CONTACT_NORMAL][3..6], &[0.0, 0.6, 0.8]);
    assert_eq!(&q[privileged::FRICTION], &[0.4, 0.5, 0.6, 0.7]);
    assert_eq!(&q[privileged::THIGH_CONTACT], &[0.0, 0.0, 0.0, 1.0]);
    assert_eq!(&q[privileged::SHANK_CONTACT], &[1.0, 0.0, 0.0, 0.0]);
    assert_eq!(&q[privileged::EXTERNAL_FORCE], &[10.0, 11.0, 12.0]);
    assert_eq!(&q[privileged::EXTERNAL_TORQUE], &[13.0, 14.0, 15.0]);
    assert_eq!(&q[privileged::AIR_TIME], &[0.0, 0.25, 0.0, 0.5]);
    // The environment reports the paper's shape.
    let env = LeggedEnv::new(quiet(LeggedConfig::flat())).unwrap();
    assert_eq!(
        env.observation_space(),
        ObservationSpace::Structured {
            proprio_dim: 133,
            extero_dim: 52,
            num_legs: 4,
            privileged_dim: 50
        }
    );
}

fn context<'a>(state: &'a RobotState, targets: &'a [[f64; 12]; 3]) -> RewardContext<'a> {
    RewardContext {
        state,
        command: [1.0, 0.0, 0.5],
        targets,
        swing: [true, false, false, true],
        foot_clearance: [0.3, 0.0, 0.0, 0.1],
        default_knees: [-0.8, -0.8, 0.8, 0.8],
        curriculum: 0.5,
        dt: 0.02,
    }
}

#[test]
fn every_paper_reward_term_on_a_constructed_state() {
    let mut s = RobotState {
        linear_velocity_body: [0.6, 0.3, 0.2],
        angular_velocity_body: [0.1, -0.2, 0.7],
        ..RobotState::default()
    };
    s.joint_velocity[0] = 2.0;
    s.joint_acceleration[1] = 3.0;
    // Knees bent 0.1 (LF, 0.1 below the threshold), 0.5, 0.5 and 0.3 rad.
    s.joint_position[2] = -0.1;
    s.joint_position[5] = -0.5;
    s.joint_position[8] = 0.5;
    s.joint_position[11] = 0.3;
    s.torque_squared[4] = 100.0;
    s.foot_contact = [false, true, true, false];
    s.foot_velocity[1] = [0.3, 0.4, 5.0];
    s.thigh_contact[0] = true;
    s.shank_contact = [true, true, false, false];
    let mut targets = [[0.0; 12]; 3];
    targets[0][3] = 1.0;
    targets[1][3] = 0.5;
    targets[2][3] = 0.5;
    let cx = context(&s, &targets);
    let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    close(
        reward::linear_velocity(&cx),
        (-(0.6f64 - 1.0).powi(2)).exp(),
    );
    close(reward::angular_velocity(&cx), 1.0); // 0.7 > 0.5: not punished
    close(reward::orthogonal_velocity(&cx), (-3.0f64 * 0.09).exp());
    close(
        reward::base_motion(&cx),
        -1.25 * 0.04 - 0.4 * 0.1 - 0.4 * 0.2,
    );
    close(reward::foot_clearance(&cx), -0.5); // LF clear (0.3 m), RH not (0.1 m)
    close(RewardTerm::Collision.value(&cx), -0.5 * 3.0);
    close(reward::joint_motion(&cx), -0.5 * (0.01 * 4.0 + 9.0));
    close(reward::joint_constraint(&cx), -(0.1f64 * 0.1));
    close(reward::smoothness(&cx), -0.5 * (0.25 + 0.25));
    close(RewardTerm::Torque.value(&cx), -0.5 * 100.0);
    close(reward::slip(&cx), -0.5 * 0.25);
    // Zero command: r_lv = exp(-|v|^2), r_lvo counts the whole planar velocity.
    let mut zero = context(&s, &targets);
    zero.command = [0.0; 3];
    close(reward::linear_velocity(&zero), (-0.45f64).exp());
    close(reward::orthogonal_velocity(&zero), (-3.0f64 * 0.45).exp());
    close(reward::angular_velocity(&zero), (-0.49f64).exp());
    // The paper's weighted sum.
    let config = RewardConfig::paper();
    let mut weighted = Vec::new();
    let total = config.evaluate(&cx, &mut weighted);
    let by_hand = 0.75 * (reward::linear_velocity(&cx) + 1.0 + reward::orthogonal_velocity(&cx))
        + reward::base_motion(&cx)
        + 0.003 * -0.5
        + 0.1 * -1.5
        + 0.001 * reward::joint_motion(&cx)
        + 0.08 * -0.01
        + 0.003 * -0.25
        + 1e-6 * -50.0
        + 0.003 * -0.125;
    close(total, by_hand);
    assert_eq!(weighted.len(), config.terms.len());
    close(config.next_curriculum(0.3), 0.3f64.powf(0.98));
}

#[test]
fn every_legged_gym_reward_term_on_a_constructed_state() {
    let mut s = RobotState {
        linear_velocity_body: [0.6, 0.3, 0.2],
        angular_velocity_body: [0.1, -0.2, 0.7],
        touchdown: [true, false, false, true],
        touchdown_air_time: [0.7, 0.0, 0.0, 0.2],
        ..RobotState::default()
    };
    s.torque_squared[0] = 10.0;
    s.joint_acceleration[0] = 4.0;
    s.shank_contact[2] = true;
    let mut targets = [[0.0; 12]; 3];
    targets[0][0] = 0.3;
    let cx = context(&s, &targets);
    let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    let value = |t: RewardTerm| t.value(&cx);
    close(
        value(RewardTerm::TrackingLinearVelocity),
        (-(0.16 + 0.09) / 0.25f64).exp(),
    );
    close(value(RewardTerm::TrackingYawRate), (-0.04 / 0.25f64).exp());
    close(value(RewardTerm::VerticalVelocity), 0.04);
    close(value(RewardTerm::RollPitchRate), 0.05);
    close(value(RewardTerm::TorqueSquared), 10.0);
    close(value(RewardTerm::JointAcceleration), 16.0);
    close(value(RewardTerm::ActionRate), 0.09);
    close(value(RewardTerm::FeetAirTime), 0.2 + -0.3);
    close(value(RewardTerm::BodyCollision), 1.0);
    let mut tilted = s.clone();
    tilted.gravity_body = [0.3, -0.4, -0.866];
    let cx_tilted = context(&tilted, &targets);
    close(RewardTerm::Orientation.value(&cx_tilted), 0.25);
    let flat = RewardConfig::legged_gym_flat();
    assert!(flat.terms.contains(&(RewardTerm::Orientation, -5.0)));
    assert!(flat.terms.contains(&(RewardTerm::FeetAirTime, 2.0)));
    assert!(flat.terms.contains(&(RewardTerm::TorqueSquared, -1e-5)));
    // Scaled by dt and clipped at zero.
    let config = RewardConfig::legged_gym();
    let mut weighted = Vec::new();
    let total = config.evaluate(&cx, &mut weighted);
    let sum: f64 = weighted.iter().sum();
    close(total, sum.max(0.0));
    close(
        weighted[0],
        0.02 * value(RewardTerm::TrackingLinearVelocity),
    );
    let mut collided = s.clone();
    collided.thigh_contact = [true; 4];
    collided.shank_contact = [true; 4];
    let cx = context(&collided, &targets);
    assert_eq!(config.evaluate(&cx, &mut weighted), 0.0);
}

/// Places the base at `z` with orientation `quat`, steps with zero actions until the episode
/// ends and returns the terminations that fired.
fn terminations_after_placing(
    z: f64,
    quat: [f64; 4],
    termination: Termination,
) -> Vec<&'static str> {
    let mut config = quiet(LeggedConfig::flat());
    config.termination = termination;
    let mut env = LeggedEnv::new(config).unwrap();
    env.reset(Some(0));
    let data = env.data_mut();
    data.qpos_mut()[2] = z;
    data.qpos_mut()[3..7].copy_from_slice(&quat);
    data.forward();
    for _ in 0..100 {
        let step = env.step(&[0.0; 16]).unwrap();
        if step.terminated {
            assert!(matches!(env.step(&[0.0; 16]), Err(EnvError::ResetNeeded)));
            return terminations(&step.info);
        }
    }
    Vec::new()
}

#[test]
fn terminations_on_tilt_and_on_base_contact() {
    let upside_down = [0.0, 1.0, 0.0, 0.0];
    // Upside down, 0.3 m up: tilt at once.
    let tilted = terminations_after_placing(0.3, upside_down, Termination::default());
    assert_eq!(tilted, vec!["terminated/tilt"]);
    // The same without the tilt and torque terminations: it falls on its back.
    let only_contact = Termination {
        base_contact: true,
        max_tilt: None,
        torque_limit_factor: None,
    };
    let landed = terminations_after_placing(0.3, upside_down, only_contact);
    assert_eq!(landed, vec!["terminated/base_contact"]);
}

#[test]
fn joint_targets_far_off_exceed_the_torque_limit_and_the_episode_is_truncated_at_20_s() {
    let config = quiet(LeggedConfig {
        action: ActionSpace::JOINTS,
        ..LeggedConfig::flat()
    });
    let mut env = LeggedEnv::new(config.clone()).unwrap();
    env.reset(Some(0));
    let step = env.step(&[3.0; 12]).unwrap();
    assert!(step.terminated);
    assert!(env.state().torque_demand_ratio > 1.0);
    let torques = env.state().torques;
    assert!(
        torques.iter().all(|t| t.abs() <= 80.0 + 1e-9),
        "{torques:?}"
    );
    // Standing still with zero actions lasts until the time limit.
    let mut env = LeggedEnv::new(config).unwrap();
    env.reset(Some(0));
    let mut steps = 0;
    loop {
        steps += 1;
        let step = env.step(&[0.0; 12]).unwrap();
        if step.done() {
            assert!(step.truncated && !step.terminated, "ended at step {steps}");
            break;
        }
    }
    assert_eq!(steps, 1000);
}

#[test]
fn a_seed_reproduces_an_episode_and_another_seed_does_not() {
    let config = LeggedConfig {
        terrain: TerrainConfig::Tiles(small_grid(vec![TerrainType::Rough, TerrainType::Boxes])),
        noise: Some(HeightNoise::paper()),
        noise_level: 1.0,
        ..LeggedConfig::default()
    };
    let run = |seed: u64| {
        let mut env = LeggedEnv::new(config.clone()).unwrap();
        let (mut obs, _) = env.reset(Some(seed));
        let mut rewards = Vec::new();
        for t in 0..60 {
            let action: Vec<f64> = (0..16)
                .map(|i| ((t * 16 + i) as f64 * 0.37).sin() * 0.3)
                .collect();
            let step = env.step(&action).unwrap();
            rewards.push(step.reward);
            let done = step.done();
            obs = step.obs;
            if done {
                break;
            }
        }
        (rewards, obs)
    };
    assert_eq!(run(11), run(11));
    assert_ne!(run(11).0, run(12).0);
}

#[test]
fn bad_input_gets_an_error_that_names_it() {
    let mut env = LeggedEnv::new(quiet(LeggedConfig::flat())).unwrap();
    assert!(matches!(env.step(&[0.0; 16]), Err(EnvError::ResetNeeded)));
    env.reset(Some(0));
    let error = env.step(&[0.0; 12]).unwrap_err().to_string();
    assert!(error.contains("12") && error.contains("16"), "{error}");
    let mut nan = [0.0; 16];
    nan[5] = f64::NAN;
    assert!(
        env.step(&nan)
            .unwrap_err()
            .to_string()
            .contains("action[5]")
    );
    let grid = TileGrid {
        resolution: 0.0,
        ..TileGrid::default()
    };
    let error = LeggedEnv::new(LeggedConfig {
        terrain: TerrainConfig::Tiles(grid),
        ..LeggedConfig::default()
    })
    .err()
    .unwrap()
    .to_string();
    assert!(error.contains("resolution"), "{error}");
    let mut robot = RobotDescription::anymal_c();
    robot.kp[3] = -1.0;
    let error = LeggedEnv::new(LeggedConfig {
        robot,
        ..LeggedConfig::flat()
    })
    .err()
    .unwrap()
    .to_string();
    assert!(error.contains("kp[3]"), "{error}");
    let error = LeggedEnv::new(LeggedConfig {
        commands: CommandConfig {
            vx: [1.0, -1.0],
            ..CommandConfig::default()
        },
        ..LeggedConfig::flat()
    })
    .err()
    .unwrap()
    .to_string();
    assert!(error.contains("vx"), "{error}");
    let mut env = LeggedEnv::new(quiet(LeggedConfig::flat())).unwrap();
    assert!(
        env.set_tile(0, 0)
            .unwrap_err()
            .to_string()
            .contains("plane")
    );
}

#[test]
fn copies_share_the_terrain_and_start_on_their_own_level() {
    let grid = small_grid(TerrainType::ALL.to_vec());
    let config = LeggedConfig {
        terrain: TerrainConfig::Tiles(grid.clone()),
        ..LeggedConfig::default()
    };
    let mut copies = LeggedEnv::copies(config, 10).unwrap();
    // Copy i keeps terrain type i mod 8 over resets.
    for (i, env) in copies.iter_mut().enumerate() {
        for seed in 0..3 {
            env.reset(Some(seed));
            assert_eq!(env.tile().1, i % 8, "copy {i}");
        }
    }
    let world = copies[0].world().clone();
    for env in &copies {
        assert!(std::sync::Arc::ptr_eq(env.world(), &world));
    }
    for (i, env) in copies.iter_mut().enumerate() {
        env.reset(Some(i as u64));
        let (level, column) = env.tile();
        let [cx, cy] = grid.tile_center(level, column);
        let base = env.state().base_position;
        assert!((base[0] - cx).abs() < 1e-6 && (base[1] - cy).abs() < 1e-6);
    }
}

/// Steps with zero actions until the episode ends; `carry` is called before each step.
fn run_episode(env: &mut LeggedEnv, mut carry: impl FnMut(&mut LeggedEnv, usize)) {
    for t in 0.. {
        carry(env, t);
        if env.step(&[0.0; 16]).unwrap().done() {
            break;
        }
    }
}

#[test]
fn episode_values_are_reported_once_when_an_episode_ends() {
    let config = quiet(LeggedConfig {
        terrain: TerrainConfig::Tiles(small_grid(vec![TerrainType::Flat, TerrainType::Slope])),
        episode_seconds: 0.2,
        ..LeggedConfig::default()
    });
    let mut env = LeggedEnv::new(config).unwrap();
    env.set_tile(2, 1).unwrap();
    env.reset(Some(0));
    let has = |info: &anymal::envs::Info, name: &str| info.values.iter().any(|(n, _)| *n == name);
    for step in 1..=10 {
        let info = env.step(&[0.0; 16]).unwrap().info;
        assert!(has(&info, "rewards/linear_velocity") && has(&info, "reward_curriculum"));
        let last = step == 10;
        for name in [
            "episode/success",
            "terminated/tilt",
            "terrain_level/slope",
            "success/slope",
        ] {
            assert_eq!(has(&info, name), last, "{name} at step {step}");
        }
        if last {
            let value = |name: &str| info.values.iter().find(|(n, _)| *n == name).unwrap().1;
            assert_eq!(value("terrain_level/slope"), 2.0);
            // Standing still under a zero command tracks it: a success.
            assert_eq!(value("episode/success"), 1.0);
            assert!(!has(&info, "terrain_level/flat"));
        }
    }
}

#[test]
fn the_terrain_curriculum_moves_down_after_a_short_walk_and_up_after_a_long_one() {
    let config = LeggedConfig {
        commands: CommandConfig::fixed(1.0, 0.0, 0.0),
        ..quiet(LeggedConfig {
            terrain: TerrainConfig::Tiles(small_grid(vec![TerrainType::Rough])),
            episode_seconds: 1.0,
            ..LeggedConfig::default()
        })
    };
    let mut env = LeggedEnv::new(config).unwrap();
    env.set_tile(1, 0).unwrap();
    env.reset(Some(0));
    assert_eq!(env.tile(), (1, 0));
    // Trotting in place walks less than half the commanded 1 m: down a level.
    run_episode(&mut env, |_, _| {});
    env.reset(None);
    assert_eq!(env.tile().0, 0);
    // Carried 3 m, more than half a 4 m tile: up a level.
    run_episode(&mut env, |env, t| {
        if t == 10 {
            let data = env.data_mut();
            data.qpos_mut()[0] += 3.0;
            data.forward();
        }
    });
    env.reset(None);
    assert_eq!(env.tile().0, 1);
}

#[test]
fn randomised_variants_differ_in_mass_and_friction_and_pushes_reach_the_privileged_state() {
    let randomization = Randomization {
        model_variants: 4,
        low_friction_share: 0.0,
        ..Randomization::default()
    };
    let world = LeggedWorld::new(
        RobotDescription::anymal_c(),
        TerrainConfig::Plane,
        &randomization,
        3,
    )
    .unwrap();
    assert_eq!(world.variants.len(), 4);
    let base = world.robot.base_body;
    let masses: Vec<f64> = world
        .variants
        .iter()
        .map(|v| v.model.body_mass()[base])
        .collect();
    assert!(
        masses
            .iter()
            .all(|m| (m / 19.2035 - 1.0).abs() <= 0.1 + 1e-12),
        "{masses:?}"
    );
    assert!(masses.windows(2).any(|w| w[0] != w[1]));
    for v in &world.variants {
        assert!(v.foot_friction.iter().all(|f| (0.5..=1.25).contains(f)));
        let geom = world.robot.foot_geoms[0];
        assert_eq!(v.model.geom_friction()[geom][0], v.foot_friction[0]);
    }
    // Pushes every 0.2 s on average, 0.1 s long: some step shows a force in the privileged state.
    let mut config = quiet(LeggedConfig::flat());
    config.randomization.push = Some(anymal::envs::legged::randomization::PushConfig {
        force: 50.0,
        torque: 5.0,
        duration: 0.1,
        mean_interval: 0.2,
    });
    let mut env = LeggedEnv::new(config).unwrap();
    env.reset(Some(0));
    let mut pushed = 0;
    for _ in 0..100 {
        let step = env.step(&[0.0; 16]).unwrap();
        let force = &step.obs.privileged[privileged::EXTERNAL_FORCE];
        if force.iter().any(|f| *f != 0.0) {
            pushed += 1;
            assert_eq!(env.data().xfrc_applied()[base][0] as f32, force[0]);
        }
    }
    assert!(
        pushed > 10 && pushed < 90,
        "pushed on {pushed} of 100 steps"
    );
}

#[test]
fn tiles_meet_at_height_zero_and_stairs_have_the_asked_risers() {
    let grid = small_grid(vec![
        TerrainType::StairsUp,
        TerrainType::StairsDown,
        TerrainType::Slope,
    ]);
    let world = LeggedWorld::new(
        RobotDescription::anymal_c(),
        TerrainConfig::Tiles(grid.clone()),
        &Randomization::none(),
        0,
    )
    .unwrap();
    let half = grid.tile_size / 2.0;
    for level in 0..grid.levels {
        for column in 0..grid.types.len() {
            let [cx, cy] = grid.tile_center(level, column);
            for k in 0..20 {
                let along = -half + grid.tile_size * k as f64 / 19.0;
                for (x, y) in [(cx - half, cy + along), (cx + along, cy + half)] {
                    let h = world.ground_height(x, y);
                    assert!(
                        h.abs() < 1e-6,
                        "tile ({level}, {column}) edge at ({x}, {y}): {h}"
                    );
                }
            }
        }
    }
    // The top level's stairs: risers of 0.05 + 0.17 = 0.22 m, treads of 0.3 m, from the
    // platform's edge outwards (sampled at tread centres).
    let [cx, cy] = grid.tile_center(grid.levels - 1, 0);
    let edge = cx + grid.platform / 2.0;
    let tread = |k: f64| world.ground_height(edge + 0.3 * k - 0.15, cy);
    for k in 1..5 {
        let riser = tread(k as f64 + 1.0) - tread(k as f64);
        assert!((riser - 0.22).abs() < 1e-6, "step {k}: riser {riser}");
    }
    assert!((world.ground_height(cx, cy) - -6.0 * 0.22).abs() < 1e-6);
    // Stairs down mirror them; the slope's platform stands 0.4 x 1.5 m high.
    let [dx, dy] = grid.tile_center(grid.levels - 1, 1);
    assert!((world.ground_height(dx, dy) - 6.0 * 0.22).abs() < 1e-6);
    let [sx, sy] = grid.tile_center(grid.levels - 1, 2);
    assert!((world.ground_height(sx, sy) - 0.6).abs() < 1e-6);
    // Level 0 is the easiest: risers of 0.05 m.
    let [cx, cy] = grid.tile_center(0, 0);
    let riser = world.ground_height(cx + 0.5 + 0.45, cy) - world.ground_height(cx + 0.5 + 0.15, cy);
    assert!((riser - 0.05).abs() < 1e-6, "{riser}");
}

#[test]
fn the_base_grid_option_scans_187_points_around_the_base() {
    let config = quiet(LeggedConfig {
        terrain: TerrainConfig::Tiles(small_grid(vec![TerrainType::Boxes])),
        scan: ScanPattern::BaseGrid,
        ..LeggedConfig::default()
    });
    let mut env = LeggedEnv::new(config).unwrap();
    let (obs, _) = env.reset(Some(2));
    assert_eq!(obs.extero.len(), 187);
    assert!(matches!(
        env.observation_space(),
        ObservationSpace::Structured {
            extero_dim: 187,
            num_legs: 1,
            ..
        }
    ));
    let state = env.state().clone();
    let (s, c) = state.yaw.sin_cos();
    for (k, o) in ScanPattern::BaseGrid.offsets().iter().enumerate() {
        let (x, y) = (
            state.base_position[0] + c * o[0] - s * o[1],
            state.base_position[1] + s * o[0] + c * o[1],
        );
        let want = env.world().ground_height(x, y) - state.base_position[2];
        assert!((obs.extero[k] as f64 - want).abs() < 1e-5);
    }
    // The grid spans x +-0.8 m and y +-0.5 m in 0.1 m steps.
    let offsets = ScanPattern::BaseGrid.offsets();
    assert_eq!(offsets[0], [-0.8, -0.5]);
    assert!((offsets[186][0] - 0.8).abs() < 1e-12 && (offsets[186][1] - 0.5).abs() < 1e-12);
}

#[test]
fn the_noisy_heights_follow_each_conditions_statistics_and_the_factor_c() {
    // On a plane the shifted sample points read the same ground, so noisy - clean is the
    // height noise alone: mean 0, variance foot^2 + episode^2 + point^2 + p outlier^2.
    let paper = HeightNoise::paper();
    for (condition, c) in [(0, 1.0), (1, 1.0), (1, 0.5), (2, 1.0), (2, 0.5)] {
        let noise = paper.only(condition).unwrap();
        let k = &noise.conditions[0];
        let expected = k.foot_std.at(c).powi(2)
            + k.episode_std.at(c).powi(2)
            + k.point_std.at(c).powi(2)
            + k.outlier_probability.at(c) * k.outlier_std.at(c).powi(2);
        let config = quiet(LeggedConfig {
            terrain: TerrainConfig::Plane,
            noise: Some(noise),
            noise_level: c,
            ..LeggedConfig::default()
        });
        let mut env = LeggedEnv::new(config.clone()).unwrap();
        let mut quiet_twin = LeggedEnv::new(LeggedConfig {
            noise: None,
            ..config
        })
        .unwrap();
        let (mut sum, mut sum_sq, mut n) = (0.0, 0.0, 0.0);
        for seed in 0..300 {
            let (obs, _) = env.reset(Some(seed));
            let (clean, _) = quiet_twin.reset(Some(seed));
            // The noiseless copy is the same with and without a noise model.
            assert_eq!(obs.extero, clean.extero, "seed {seed}");
            for (a, b) in obs.noisy_extero.iter().zip(&obs.extero) {
                let e = (a - b) as f64;
                (sum, sum_sq, n) = (sum + e, sum_sq + e * e, n + 1.0);
            }
        }
        let mean = sum / n;
        let variance = sum_sq / n - mean * mean;
        let name = format!("condition {condition} at c = {c}");
        assert!(
            mean.abs() < 0.15 * expected.sqrt(),
            "{name}: mean {mean}, std {}",
            expected.sqrt()
        );
        assert!(
            (variance / expected - 1.0).abs() < 0.2,
            "{name}: variance {variance}, expected {expected}"
        );
    }
    assert!(paper.only(3).is_none());
}
