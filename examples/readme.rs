//! Every Rust snippet of the README, as written there, run in order (in a temporary folder, so
//! the files they write go nowhere). `tests/readme.rs` checks that each README snippet's lines
//! appear here unchanged and runs this program, so the README cannot drift from the API.
//!
//! `cargo run --release --example readme`

use std::error::Error;

fn main() -> std::process::ExitCode {
    anymal::cli::report(run())
}

fn run() -> Result<(), Box<dyn Error>> {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/seed-parity-default/weights.pt");
    let folder = tempfile::tempdir()?;
    std::env::set_current_dir(folder.path())?;
    // The import snippet reads a file written by the PyTorch package: the parity fixture.
    std::fs::copy(fixture, "anymal-with-trained-teacher.pt")?;
    choosing_a_device()?;
    quickstart()?;
    environments()?;
    quadruped()?;
    training_with_ppo()?;
    teacher_student()?;
    println!("every README snippet ran");
    Ok(())
}

/// "Choosing a device".
#[rustfmt::skip] // the README's layout, line for line
fn choosing_a_device() -> Result<(), Box<dyn Error>> {
    use anymal::core::{describe_device, parse_device};

    let device = parse_device("wgpu")?;          // unknown names list the valid ones
    println!("{}", describe_device(&device));     // the adapter wgpu chose; warns on a software one
    let train_device = device.clone().autodiff(); // gradients are a device property in Burn 0.22
    println!("training device autodiff: {}", train_device.is_autodiff());
    Ok(())
}

/// "Quickstart" (the PyTorch package's README) and "Saving, loading, importing PyTorch weights".
#[rustfmt::skip] // the README's layout, line for line
fn quickstart() -> Result<(), Box<dyn Error>> {
    use anymal::core::burn::tensor::{Device, Distribution, Tensor};
    use anymal::core::TeacherConfig;

    fn randn<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
    }

    let device = Device::flex();
    let teacher = TeacherConfig::new(10)   // num_actions; proprio 133, extero 52 x 4 legs, privileged 50
        .init(&device)?;
    let (proprio, extero) = (randn([1, 133], &device), randn([1, 4, 52], &device));
    let out = teacher.forward(proprio.clone(), extero.clone(), randn([1, 50], &device))?;
    // out.action: [1, 10] logits, out.value: [1]
    println!("teacher: action {:?}, value {:?}", out.action.dims(), out.value.dims());

    use anymal::core::{StudentConfig, reset_hiddens};

    let student = StudentConfig::new(10).with_gru_num_layers(2).with_gru_hidden_size(50).init(&device)?;
    let out = student.forward(proprio.clone(), extero.clone(), None, false)?;            // hiddens [1, 2, 50]
    let out = student.forward(proprio.clone(), extero.clone(), Some(out.hiddens), false)?;
    let hiddens = reset_hiddens(out.hiddens, &[true])?;  // zero it where an episode ended
    println!("student: hiddens {:?}", hiddens.dims());

    use anymal::core::burn::module::Module;
    use anymal::core::burn::optim::{AdamConfig, GradientsParams};
    use anymal::core::{AnymalConfig, ExteroNoise};

    let ad = device.clone().autodiff();
    let mut anymal = AnymalConfig::new(10).with_recon_loss_weight(0.5).init(&ad)?.init_student_with_teacher();
    let mut optimizer = AdamConfig::new().init();
    let (proprio, extero, privileged) = (randn([8, 133], &ad), randn([8, 4, 52], &ad), randn([8, 50], &ad));
    let noise = ExteroNoise::Uniform { strength: 0.1 };
    let out = anymal.distillation_loss(proprio.clone(), extero.clone(), privileged, None, noise)?;
    let grads = GradientsParams::from_grads(out.loss.backward(), &anymal);
    anymal = optimizer.step(5e-4, anymal, grads);

    let anymal = anymal.valid();                      // no autodiff when acting
    let out = anymal.forward_student(proprio.without_autodiff(), extero.without_autodiff(), None, false)?;
    let action = anymal.student.distribution(out.action).sample();
    println!("student action {:?}", action.dims());

    use anymal::core::io::{load, save};
    use anymal::core::pytorch::import_pytorch;
    use anymal::core::{Anymal, BeliefLayout};

    save(&anymal, "anymal.bpk")?;                       // Burn's format, configuration inside, atomic
    let anymal: Anymal = load("anymal.bpk", &device)?;  // rebuilds from the saved configuration

    // Weights written by `torch.save(anymal.state_dict(), path)` (or safetensors), any configuration:
    let model = AnymalConfig::new(10).with_belief_layout(BeliefLayout::Package).init(&device)?;
    let model = import_pytorch(model, "anymal-with-trained-teacher.pt")?;
    println!(
        "reloaded {} actions; imported the package's weights into {} actions",
        anymal.config().num_actions,
        model.config().num_actions
    );
    Ok(())
}

/// "Environments (the tutorial's workflow)".
#[rustfmt::skip] // the README's layout, line for line
fn environments() -> Result<(), Box<dyn Error>> {
    use anymal::envs::wrappers::{Delay, FrameStack, TransformReward};
    use anymal::envs::{Env, PendulumVersion, Pid, Step, VectorEnv, make_inverted_pendulum, rollout};

    // gymnasium.make("InvertedPendulum-v4"): real MuJoCo 3.17.0, step for step as Gymnasium's.
    let mut env = make_inverted_pendulum(PendulumVersion::V4);
    let (obs, _info) = env.reset(Some(0));                 // a seed reseeds, None continues
    let step = env.step(&[0.5])?;                          // obs, reward, terminated, truncated, info

    // The tutorial's PID question: 1000 steps balanced.
    let mut pid = Pid::new(vec![-1.0, -10.0, -0.5, -1.0], vec![0.0; 4], vec![0.0; 4], env.dt())?;
    let episode = rollout(&mut env, Some(1), 2000, |obs| vec![pid.act(obs)])?;

    // Delays, frame stacking and reward shaping compose like Gymnasium wrappers.
    let shaped = TransformReward::new(make_inverted_pendulum(PendulumVersion::V4), |s: &Step<Vec<f64>>| {
        s.reward - s.obs[1].abs()
    });
    let stacked = FrameStack::new(Delay::new(shaped, 0.2)?, 10)?;

    // Many copies on worker threads, same-step autoreset, final observations kept.
    let envs = (0..16).map(|_| make_inverted_pendulum(PendulumVersion::V4)).collect();
    let mut vec_env = VectorEnv::new(envs, 2)?;
    println!(
        "pendulum: reset {obs:?}, reward {}, PID return {}, stacked observation {}, {} copies",
        step.reward,
        episode.episode_return(),
        stacked.observation_space().flat_dim(),
        vec_env.len()
    );
    vec_env.reset(Some(0));
    Ok(())
}

/// "The quadruped world".
#[rustfmt::skip] // the README's layout, line for line
fn quadruped() -> Result<(), Box<dyn Error>> {
    use anymal::envs::legged::{ActionSpace, HeightNoise, LeggedConfig, LeggedEnv};
    use anymal::envs::{Env, VectorEnv};

    // The paper's setting: CPG + IK actions (16), the 10 x 8 tile grid, the teacher reward.
    let config = LeggedConfig {
        action: ActionSpace::CPG,                 // or ActionSpace::JOINTS (legged_gym, 12)
        noise: Some(HeightNoise::paper()),        // the student's noisy heights, same step
        noise_level: 1.0,                         // the curriculum factor c
        ..LeggedConfig::default()                 // LeggedConfig::flat() for a plane
    };
    let mut env = LeggedEnv::new(config.clone())?;
    let (obs, _) = env.reset(Some(0));           // proprio 133, extero 4 x 52, privileged 50
    let step = env.step(&[0.0; 16])?;             // zero actions: a trot in place
    let logged = &step.info.values;               // rewards/<term>, tracking errors, terrain level

    // Copies share one compiled world (terrain and model variants): 1024 fit in well under 4 GB.
    let mut vec_env = VectorEnv::new(LeggedEnv::copies(config, 64)?, 2)?;
    println!(
        "quadruped: proprio {}, heights {}, privileged {}, {} logged values, {} copies",
        obs.proprio.len(),
        obs.extero.len(),
        obs.privileged.len(),
        logged.len(),
        vec_env.len()
    );
    vec_env.reset(Some(0));
    Ok(())
}

/// "Training with PPO".
#[rustfmt::skip] // the README's layout, line for line
fn training_with_ppo() -> Result<(), Box<dyn Error>> {
    use anymal::core::{MlpActorCritic, MlpActorCriticConfig, parse_device};
    use anymal::envs::{PendulumTask, PendulumVersion, VectorEnv};
    use anymal::rl::{Logger, Policy, Ppo, PpoConfig};

    let device = parse_device("flex")?.autodiff();          // train on any Burn device
    let task = PendulumTask::new(PendulumVersion::V4);     // + .delay / .frame_stack / .reward
    let envs = (0..2).map(|_| task.make()).collect::<Result<Vec<_>, _>>()?;
    let mut envs = VectorEnv::new(envs, 2)?;
    let network = MlpActorCriticConfig::new(4, 1).init(&device)?;   // SB3's MlpPolicy
    let steps = 4_096;                                     // one rollout; the tutorial trains 100_000
    let mut ppo = Ppo::new(PpoConfig::sb3(), network, &device, envs.single_action_space().clone(), steps)?;
    let mut logger = Logger::for_run("runs", "PPO")?.with_progress_bar(steps);
    ppo.learn(&mut envs, &mut logger)?;                    // runs/PPO_1: TensorBoard + progress.csv
    ppo.save("pendulum.ckpt")?;                            // policy, Adam, counters, RNG: atomic
    let mut policy: Policy<MlpActorCritic> = Policy::load("pendulum.ckpt", &device.without_autodiff())?;
    let action = policy.predict(&[0.0, 0.01, 0.0, 0.0], true)?;
    println!("PPO: {} steps, action {action:?}", ppo.num_timesteps());
    Ok(())
}

/// "Teacher-student training".
#[rustfmt::skip] // the README's layout, line for line
fn teacher_student() -> Result<(), Box<dyn Error>> {
    use anymal::core::{ActionKind, AnymalConfig};
    use anymal::envs::{MockEnv, VectorEnv};
    use anymal::rl::{Logger, PackagePpoArgs, Ppo, StudentTrainer, StudentTrainerConfig};

    let device = anymal::core::parse_device("flex")?.autodiff();
    let anymal = AnymalConfig::new(16)
        .with_action_kind(ActionKind::Gaussian { init_log_std: 0.0 })
        .init(&device)?;
    let mut envs = VectorEnv::new((0..10).map(|_| MockEnv::new(16)).collect(), 2)?;
    let space = envs.single_action_space().clone();

    // Teacher: PPO on the flat rows [proprio, extero, privileged]; `PpoConfig::anymal_teacher()`
    // is the paper's table, `PackagePpoArgs { epochs, lr, eps_clip, beta_s, value_clip, .. }`
    // the package's arguments.
    let config = PackagePpoArgs::default().to_config(10)?;
    let mut ppo = Ppo::new(config, anymal, &device, space.clone(), 10_000)?;  // 2 updates
    ppo.learn(&mut envs, &mut Logger::for_run("runs", "teacher")?)?;

    // Student: DAgger rollouts driven by the student on noisy heights, labels from the frozen
    // teacher on noiseless ones, truncated BPTT over chunks of 10 steps.
    let mut trainer = StudentTrainer::new(
        StudentTrainerConfig::new().with_n_steps(100),
        ppo.network().clone(), // init_student_with_teacher() happens here
        &device,
        space,
    )?;
    trainer.learn(&mut envs, 2, &mut Logger::for_run("runs", "student")?)?;   // 2 iterations
    println!("student trained {} steps", trainer.num_timesteps());
    Ok(())
}
