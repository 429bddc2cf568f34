//! The paper's evaluation protocol: success is walking `distance` (4 m) along the commanded
//! heading within `seconds` (10 s), from rest in the standing pose, without falling; plus the
//! velocity-tracking errors and falls per minute.
//!
//! [`WalkTracker`] follows one episode from the robot's states (a scripted trajectory or a
//! simulation); [`walk_episode`] runs one in a [`LeggedEnv`] with any policy, given as a
//! function from observation to action, so this module needs no network.

use crate::env::{Env, StructuredObs};
use crate::error::Result;
use crate::legged::env::LeggedEnv;
use crate::legged::state::RobotState;

/// The paper's criterion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SuccessCriterion {
    /// Distance to cover along the commanded heading (m).
    pub distance: f64,
    /// Time allowed (s).
    pub seconds: f64,
}

impl Default for SuccessCriterion {
    /// 4 m within 10 s.
    fn default() -> Self {
        Self {
            distance: 4.0,
            seconds: 10.0,
        }
    }
}

/// One sample of an episode's velocity trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TracePoint {
    /// Seconds since the start.
    pub time: f64,
    /// The command `(vx, vy, yaw rate)`.
    pub command: [f64; 3],
    /// The measured `(vx, vy)` in the base's frame and the yaw rate.
    pub measured: [f64; 3],
}

/// What one evaluation episode measured.
#[derive(Debug, Clone, PartialEq)]
pub struct WalkEpisode {
    /// Distance covered along the heading at the end (m; negative: backwards).
    pub walked: f64,
    /// When the distance of the criterion was first reached (s).
    pub reached_at: Option<f64>,
    /// Whether the episode ended in a termination (a fall).
    pub fell: bool,
    /// Seconds simulated.
    pub seconds: f64,
    /// Mean planar velocity error `|v_xy - v_cmd|` (m/s).
    pub linear_error: f64,
    /// Mean yaw-rate error (rad/s).
    pub yaw_error: f64,
    /// The velocity trace, one point per policy step.
    pub trace: Vec<TracePoint>,
}

impl WalkEpisode {
    /// The paper's success: the distance reached in time, before any fall.
    pub fn success(&self) -> bool {
        self.reached_at.is_some()
    }
}

/// Follows one episode: distance along a heading from a start point, and tracking errors.
#[derive(Debug, Clone)]
pub struct WalkTracker {
    criterion: SuccessCriterion,
    start: [f64; 2],
    direction: [f64; 2],
    time: f64,
    walked: f64,
    reached_at: Option<f64>,
    linear_error_sum: f64,
    yaw_error_sum: f64,
    trace: Vec<TracePoint>,
}

impl WalkTracker {
    /// Starts at `start` (m, world frame), walking towards `heading` (rad, world yaw).
    pub fn new(criterion: SuccessCriterion, start: [f64; 2], heading: f64) -> Self {
        Self {
            criterion,
            start,
            direction: [heading.cos(), heading.sin()],
            time: 0.0,
            walked: 0.0,
            reached_at: None,
            linear_error_sum: 0.0,
            yaw_error_sum: 0.0,
            trace: Vec::new(),
        }
    }

    /// Records the state `dt` seconds after the last one, under `command`.
    pub fn record(&mut self, dt: f64, state: &RobotState, command: [f64; 3]) {
        self.time += dt;
        let p = state.base_position;
        self.walked =
            (p[0] - self.start[0]) * self.direction[0] + (p[1] - self.start[1]) * self.direction[1];
        if self.reached_at.is_none()
            && self.walked >= self.criterion.distance
            && self.time <= self.criterion.seconds + 1e-9
        {
            self.reached_at = Some(self.time);
        }
        let (v, w) = (state.linear_velocity_body, state.angular_velocity_body[2]);
        self.linear_error_sum += (v[0] - command[0]).hypot(v[1] - command[1]);
        self.yaw_error_sum += (w - command[2]).abs();
        self.trace.push(TracePoint {
            time: self.time,
            command,
            measured: [v[0], v[1], w],
        });
    }

    /// The episode's outcome; `fell` when it ended in a termination.
    pub fn finish(self, fell: bool) -> WalkEpisode {
        let steps = self.trace.len().max(1) as f64;
        WalkEpisode {
            walked: self.walked,
            reached_at: self.reached_at,
            fell,
            seconds: self.time,
            linear_error: self.linear_error_sum / steps,
            yaw_error: self.yaw_error_sum / steps,
            trace: self.trace,
        }
    }
}

/// What acts in an evaluation episode: any closure from the observation to the actions, or a
/// recurrent policy, which also forgets its memory when an episode starts.
pub trait Actor {
    /// The actions for `obs`.
    fn act(&mut self, obs: &StructuredObs) -> Result<Vec<f64>>;
    /// Called when an episode starts, before its first `act` (a recurrent policy zeroes its
    /// hidden state here).
    fn start_episode(&mut self) {}
}

impl<F: FnMut(&StructuredObs) -> Result<Vec<f64>>> Actor for F {
    fn act(&mut self, obs: &StructuredObs) -> Result<Vec<f64>> {
        self(obs)
    }
}

/// Runs one evaluation episode in `env`: reset with `seed`, the robot placed at `xy` facing
/// `yaw` at rest, `command` held (in the base's frame) for `seconds` or until a termination,
/// `policy` choosing each action from the observation.
pub fn walk_episode(
    env: &mut LeggedEnv,
    policy: &mut impl Actor,
    seed: u64,
    xy: [f64; 2],
    yaw: f64,
    command: [f64; 3],
    seconds: f64,
) -> Result<WalkEpisode> {
    walk_episode_watched(
        env,
        policy,
        seed,
        xy,
        yaw,
        command,
        seconds,
        &mut |_| Ok(()),
    )
}

/// [`walk_episode`], calling `watch` with the environment after the placement and after every
/// step (to record a video, say, or to change the noise level the next observation gets).
#[allow(clippy::too_many_arguments)]
pub fn walk_episode_watched(
    env: &mut LeggedEnv,
    policy: &mut impl Actor,
    seed: u64,
    xy: [f64; 2],
    yaw: f64,
    command: [f64; 3],
    seconds: f64,
    watch: &mut dyn FnMut(&mut LeggedEnv) -> Result<()>,
) -> Result<WalkEpisode> {
    let criterion = SuccessCriterion {
        seconds,
        ..SuccessCriterion::default()
    };
    env.reset(Some(seed));
    let mut obs = env.place(xy, yaw)?;
    env.set_command(command);
    watch(env)?;
    policy.start_episode();
    let mut tracker = WalkTracker::new(criterion, xy, yaw);
    let dt = env.dt();
    let steps = (seconds / dt).round() as usize;
    for _ in 0..steps {
        let action = policy.act(&obs)?;
        let step = env.step(&action)?;
        watch(env)?;
        tracker.record(dt, env.state(), command);
        if step.terminated {
            return Ok(tracker.finish(true));
        }
        if step.truncated {
            break;
        }
        obs = step.obs;
    }
    Ok(tracker.finish(false))
}

/// Summary of several episodes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WalkSummary {
    /// Episodes.
    pub episodes: usize,
    /// Share of successes.
    pub success_rate: f64,
    /// Mean planar velocity error (m/s).
    pub linear_error: f64,
    /// Mean yaw-rate error (rad/s).
    pub yaw_error: f64,
    /// Falls per simulated minute.
    pub falls_per_minute: f64,
    /// Mean distance covered along the heading (m).
    pub walked: f64,
}

impl WalkSummary {
    /// Summarises `episodes`.
    pub fn of(episodes: &[WalkEpisode]) -> Self {
        let n = episodes.len().max(1) as f64;
        let minutes = episodes.iter().map(|e| e.seconds).sum::<f64>() / 60.0;
        let falls = episodes.iter().filter(|e| e.fell).count() as f64;
        Self {
            episodes: episodes.len(),
            success_rate: episodes.iter().filter(|e| e.success()).count() as f64 / n,
            linear_error: episodes.iter().map(|e| e.linear_error).sum::<f64>() / n,
            yaw_error: episodes.iter().map(|e| e.yaw_error).sum::<f64>() / n,
            falls_per_minute: if minutes > 0.0 { falls / minutes } else { 0.0 },
            walked: episodes.iter().map(|e| e.walked).sum::<f64>() / n,
        }
    }
}
