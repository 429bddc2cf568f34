//! What the student programs share (`anymal_student`, `anymal_eval --student`,
//! `anymal_deploy`): the paper's evaluation of a distilled student beside its teacher, under each
//! noise condition of the height model (Miki et al. 2022, "Evaluation used in the paper").
//!
//! Every variant walks the same protocol episodes, one condition at a time, with the noise at
//! its full size (c = 1):
//! - the teacher on the noiseless observation (its privileged state included);
//! - the teacher fed the student's noisy heights;
//! - the student (its own observations, its memory);
//! - the student with its gates held open (no attention);
//! - the student without memory (its hidden state zeroed every step).
//!
//! The student is also measured while it walks:
//! - its distance to the teacher's actions;
//! - the error of its reconstructed heights, with its gates and with them held open;
//! - the error of its reconstructed privileged state, recurrent and without memory.

use anymal_core::burn::tensor::Device;
use anymal_core::{Anymal, Gates};
use anymal_envs::legged::evaluation::{Actor, walk_episode_watched};
use anymal_envs::legged::{HeightNoise, LeggedConfig, TileGrid};
use anymal_envs::{Env, StructuredObs};
use anymal_rl::{Policy, StudentPolicy};

use crate::teacher::{
    EVALUATION_SPEED, TRAINING_EVALUATION_SEED, action_space, evaluate_flat, evaluate_grid,
    teacher_policy, walk_env,
};

type BoxError = Box<dyn std::error::Error>;

/// The noise a student is evaluated under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoiseSetting {
    /// The noiseless heights.
    None,
    /// One of [`HeightNoise::paper`]'s conditions: 0 nominal, 1 offset, 2 noisy.
    Condition(usize),
}

impl NoiseSetting {
    /// None, then the paper's three conditions.
    pub const ALL: [NoiseSetting; 4] = [
        NoiseSetting::None,
        NoiseSetting::Condition(0),
        NoiseSetting::Condition(1),
        NoiseSetting::Condition(2),
    ];

    /// The condition's name.
    pub fn name(self) -> &'static str {
        match self {
            NoiseSetting::None => "none",
            NoiseSetting::Condition(0) => "nominal",
            NoiseSetting::Condition(1) => "offset",
            NoiseSetting::Condition(_) => "noisy",
        }
    }

    /// `trained` with the student's noisy copy of the heights under this setting, at c = 1.
    pub fn config(self, trained: &LeggedConfig) -> LeggedConfig {
        let noise = match self {
            NoiseSetting::None => HeightNoise::none(),
            NoiseSetting::Condition(k) => HeightNoise::paper()
                .only(k)
                .expect("the paper's model has three conditions"),
        };
        LeggedConfig {
            noise: Some(noise),
            noise_level: 1.0,
            ..trained.clone()
        }
    }
}

/// The teacher acting on the student's noisy heights instead of the noiseless ones.
pub struct TeacherOnNoisyHeights<'a>(pub &'a mut Policy<Anymal>);

impl Actor for TeacherOnNoisyHeights<'_> {
    fn act(&mut self, obs: &StructuredObs) -> anymal_envs::Result<Vec<f64>> {
        let noisy = StructuredObs {
            extero: obs.noisy_extero.clone(),
            ..obs.clone()
        };
        Actor::act(self.0, &noisy)
    }
}

/// The student acting, the teacher asked what it would have done (from the noiseless
/// observation) at every step.
pub struct Shadowed<'a> {
    /// The acting student.
    pub student: StudentPolicy,
    teacher: &'a mut Policy<Anymal>,
    distance_sum: f64,
    steps: usize,
}

impl<'a> Shadowed<'a> {
    /// `student` acting, `teacher` shadowing it.
    pub fn new(student: StudentPolicy, teacher: &'a mut Policy<Anymal>) -> Self {
        Self {
            student,
            teacher,
            distance_sum: 0.0,
            steps: 0,
        }
    }

    /// The mean Euclidean distance between the student's and the teacher's actions.
    pub fn action_distance(&self) -> f64 {
        self.distance_sum / self.steps.max(1) as f64
    }
}

impl Actor for Shadowed<'_> {
    fn act(&mut self, obs: &StructuredObs) -> anymal_envs::Result<Vec<f64>> {
        let action = Actor::act(&mut self.student, obs)?;
        let label = Actor::act(self.teacher, obs)?;
        let squared: f64 = action
            .iter()
            .zip(&label)
            .map(|(a, t)| (a - t).powi(2))
            .sum();
        self.distance_sum += squared.sqrt();
        self.steps += 1;
        Ok(action)
    }

    fn start_episode(&mut self) {
        self.student.reset();
    }
}

/// Where success is measured.
#[derive(Debug, Clone, PartialEq)]
pub enum Protocol {
    /// The flat-ground protocol's 8 success episodes (0.8 m/s for 10 s, headings around the
    /// circle).
    Flat,
    /// The terrain grid: `episodes` success episodes on every type at each of `levels`; the
    /// success is the mean over the tiles.
    Grid {
        /// The grid.
        grid: TileGrid,
        /// Difficulty levels evaluated.
        levels: Vec<usize>,
        /// Episodes per tile.
        episodes: usize,
    },
}

impl Protocol {
    /// The protocol's name in the table.
    pub fn name(&self) -> &'static str {
        match self {
            Protocol::Flat => "flat",
            Protocol::Grid { .. } => "grid",
        }
    }

    /// The success rate of `actor` in `config`'s world.
    fn success(&self, actor: &mut impl Actor, config: &LeggedConfig) -> Result<f64, BoxError> {
        let seed = TRAINING_EVALUATION_SEED;
        Ok(match self {
            Protocol::Flat => evaluate_flat(actor, config, seed)?.0.success_rate,
            Protocol::Grid {
                grid,
                levels,
                episodes,
            } => {
                let tiles = evaluate_grid(actor, config, grid, levels, *episodes, seed)?;
                let sum: f64 = tiles.iter().map(|t| t.summary.success_rate).sum();
                sum / tiles.len().max(1) as f64
            }
        })
    }
}

/// One row of the side-by-side table: a noise setting's successes and measurements.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StudentRow {
    /// Where success was measured.
    pub protocol: &'static str,
    /// The noise.
    pub noise: NoiseSetting,
    /// Success of the teacher on the noiseless observation.
    pub teacher: f64,
    /// Success of the teacher fed the noisy heights.
    pub teacher_on_noisy: f64,
    /// Success of the student.
    pub student: f64,
    /// Success of the student with its gates held open.
    pub gates_open: f64,
    /// Success of the student without memory.
    pub memoryless: f64,
    /// Mean distance between the student's and the teacher's actions.
    pub action_distance: f64,
    /// Height reconstruction error (normalised units), with the gates and held open.
    pub extero_error: [f64; 2],
    /// Privileged reconstruction error (normalised units), recurrent and without memory.
    pub privileged_error: [f64; 2],
}

/// The side-by-side evaluation on `protocol`, under each of `settings`. `trained` is the
/// teacher's training configuration, `model` holds the teacher and the distilled student.
pub fn evaluate_student(
    model: &Anymal,
    trained: &LeggedConfig,
    protocol: &Protocol,
    settings: &[NoiseSetting],
    device: &Device,
) -> Result<Vec<StudentRow>, BoxError> {
    let space = action_space(trained);
    let student = |gates: Gates, memoryless: bool| {
        StudentPolicy::new(model.clone(), space.clone(), device.clone())
            .with_gates(gates)
            .memoryless(memoryless)
            .measuring(true)
    };
    let mut teacher = teacher_policy(model.clone(), trained, device);
    settings
        .iter()
        .map(|&noise| {
            let config = noise.config(trained);
            let teacher_success = protocol.success(&mut teacher, &config)?;
            let teacher_on_noisy =
                protocol.success(&mut TeacherOnNoisyHeights(&mut teacher), &config)?;
            let mut shadowed = Shadowed::new(student(Gates::Learned, false), &mut teacher);
            let student_success = protocol.success(&mut shadowed, &config)?;
            let (distance, learned) = (shadowed.action_distance(), shadowed.student.errors());
            let mut open = student(Gates::HeldOpen, false);
            let gates_open = protocol.success(&mut open, &config)?;
            let mut memoryless = student(Gates::Learned, true);
            let memoryless_success = protocol.success(&mut memoryless, &config)?;
            Ok(StudentRow {
                protocol: protocol.name(),
                noise,
                teacher: teacher_success,
                teacher_on_noisy,
                student: student_success,
                gates_open,
                memoryless: memoryless_success,
                action_distance: distance,
                extero_error: [learned.extero_mse(), open.errors().extero_mse()],
                privileged_error: [
                    learned.privileged_mse(),
                    memoryless.errors().privileged_mse(),
                ],
            })
        })
        .collect()
}

/// The table of [`evaluate_student`]'s rows, in Markdown.
pub fn student_table(rows: &[StudentRow]) -> String {
    let mut table = String::from(
        "| ground | noise | teacher | teacher, noisy heights | student | gates open | no memory | \
         action distance | height error (gate / open) | privileged error (memory / none) |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        table.push_str(&format!(
            "| {} | {} | {:.0} % | {:.0} % | {:.0} % | {:.0} % | {:.0} % | {:.3} | {:.3} / {:.3} | {:.3} / {:.3} |\n",
            r.protocol,
            r.noise.name(),
            100.0 * r.teacher,
            100.0 * r.teacher_on_noisy,
            100.0 * r.student,
            100.0 * r.gates_open,
            100.0 * r.memoryless,
            r.action_distance,
            r.extero_error[0],
            r.extero_error[1],
            r.privileged_error[0],
            r.privileged_error[1],
        ));
    }
    table
}

/// One step of [`trace_student`]: the time and, for the first height sample of the first
/// foot, the true, noisy and reconstructed heights (m), and the mean gate opening.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TracePoint {
    /// Time since the episode's start (s).
    pub time: f64,
    /// The noiseless height.
    pub true_height: f64,
    /// The noisy height the student read.
    pub noisy_height: f64,
    /// The belief decoder's height.
    pub reconstructed_height: f64,
    /// The mean opening of the attention gate on the heights.
    pub gate: f64,
}

/// Records the student walking the flat-ground success episode (0.8 m/s forward, 10 s) under
/// `noise`, with the noise factor c at 0 before `noisy_from` seconds and at 1 from then on: a
/// noisy patch the episode crosses (0: noisy throughout). See [`TracePoint`].
pub fn trace_student(
    model: &Anymal,
    trained: &LeggedConfig,
    noise: NoiseSetting,
    noisy_from: f64,
    device: &Device,
) -> Result<Vec<TracePoint>, BoxError> {
    struct Tracing {
        student: StudentPolicy,
        dt: f64,
        points: Vec<TracePoint>,
    }
    impl Actor for Tracing {
        fn act(&mut self, obs: &StructuredObs) -> anymal_envs::Result<Vec<f64>> {
            let action = Actor::act(&mut self.student, obs)?;
            self.points.push(TracePoint {
                time: self.points.len() as f64 * self.dt,
                true_height: obs.extero[0] as f64,
                noisy_height: obs.noisy_extero[0] as f64,
                reconstructed_height: self.student.last_reconstruction()[0] as f64,
                gate: self.student.last_gate(),
            });
            Ok(action)
        }
        fn start_episode(&mut self) {
            self.student.reset();
            self.points.clear();
        }
    }
    let mut env = walk_env(&noise.config(trained))?;
    let dt = env.dt();
    let mut tracing = Tracing {
        student: StudentPolicy::new(model.clone(), action_space(trained), device.clone())
            .measuring(true),
        dt,
        points: Vec::new(),
    };
    // Called after the placement and after every step: the level set at the n-th call shapes
    // the noisy heights of observation n + 1, at time (n + 1) dt.
    let mut calls = 0;
    let mut patch = |env: &mut anymal_envs::legged::LeggedEnv| {
        calls += 1;
        env.set_noise_level(if calls as f64 * dt >= noisy_from {
            1.0
        } else {
            0.0
        });
        Ok(())
    };
    walk_episode_watched(
        &mut env,
        &mut tracing,
        TRAINING_EVALUATION_SEED,
        [0.0, 0.0],
        0.0,
        [EVALUATION_SPEED, 0.0, 0.0],
        10.0,
        &mut patch,
    )?;
    Ok(tracing.points)
}
