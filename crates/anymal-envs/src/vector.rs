//! N copies of an environment stepped together, on worker threads, with Gymnasium's same-step
//! autoreset: a copy whose episode ends is reset in the same `step`, its returned observation is
//! the reset one, and the final observation is kept for bootstrapping.
//!
//! The copies are split into one contiguous chunk per thread. The calling thread steps the first
//! chunk itself; each other chunk is lent to its own helper thread for the step and handed back
//! with the results (moving a `Vec` moves three words: the copies stay where they are in memory
//! and in that core's cache, step after step). A thread waiting for work or results polls for
//! `POLL_BEFORE_SLEEP` before it sleeps, because waking a sleeping thread costs tens of
//! microseconds, a sizeable part of a step. After each step, a copy moves to the neighbouring
//! chunk when one thread took longer than the other (see `VectorEnv::rebalance`). This is
//! hand-written because rayon, the pool we used first, sleeps after a few microseconds and
//! splits the same way every step: measured on 2 cores, its wake-ups, the caller's wait and the
//! imbalance between the threads took about 140 us of each 1 ms step of 64 pendulums.

use std::ops::Range;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::env::{Env, Info, ObservationSpace, Step};
use crate::error::{EnvError, Result};
use crate::space::BoxSpace;

/// What [`VectorEnv::step`] returns, one entry per copy.
#[derive(Debug, Clone)]
pub struct VectorStep<O> {
    /// Observations to act on next (reset observations where an episode ended).
    pub obs: Vec<O>,
    /// Rewards.
    pub rewards: Vec<f64>,
    /// Whether a terminal state was reached.
    pub terminated: Vec<bool>,
    /// Whether the episode was cut short.
    pub truncated: Vec<bool>,
    /// The last observation of an episode that ended on this step.
    pub final_obs: Vec<Option<O>>,
    /// Infos of the step (of the ending step, where an episode ended).
    pub infos: Vec<Info>,
}

/// N copies of an environment on `num_threads` threads (1: the caller's thread only).
pub struct VectorEnv<E: Env> {
    /// The copies, one chunk per thread; the calling thread steps the first.
    chunks: Vec<Vec<E>>,
    /// One helper thread per chunk after the first.
    helpers: Vec<Helper<E>>,
    observation_space: ObservationSpace,
    action_space: BoxSpace,
    started: bool,
}

impl<E: Env> VectorEnv<E> {
    /// Vectorises `envs` (at least one) over `num_threads` threads, the caller's included.
    pub fn new(mut envs: Vec<E>, num_threads: usize) -> Result<Self> {
        if envs.is_empty() || num_threads == 0 {
            return Err(EnvError::Parameter(format!(
                "VectorEnv needs at least one environment and one thread (got {} and {num_threads})",
                envs.len()
            )));
        }
        let observation_space = envs[0].observation_space();
        let action_space = envs[0].action_space();
        let chunk = envs.len().div_ceil(num_threads.min(envs.len()));
        let mut chunks = Vec::new();
        while envs.len() > chunk {
            let rest = envs.split_off(chunk);
            chunks.push(envs);
            envs = rest;
        }
        chunks.push(envs);
        let helpers = (1..chunks.len())
            .map(Helper::start)
            .collect::<std::io::Result<_>>()
            .map_err(|e| EnvError::Parameter(format!("cannot start a worker thread: {e}")))?;
        Ok(Self {
            chunks,
            helpers,
            observation_space,
            action_space,
            started: false,
        })
    }

    /// Number of copies.
    pub fn len(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }

    /// Always false: a vector env has at least one copy.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The copies, in order.
    pub fn envs(&self) -> impl Iterator<Item = &E> {
        self.chunks.iter().flatten()
    }

    /// The copies, in order, to change between steps (a curriculum's level, say).
    pub fn envs_mut(&mut self) -> impl Iterator<Item = &mut E> {
        self.chunks.iter_mut().flatten()
    }

    /// The observation space of one copy (Gymnasium's `single_observation_space`).
    pub fn single_observation_space(&self) -> &ObservationSpace {
        &self.observation_space
    }

    /// The action space of one copy (Gymnasium's `single_action_space`).
    pub fn single_action_space(&self) -> &BoxSpace {
        &self.action_space
    }

    /// Resets every copy; with a seed, copy `i` is seeded `seed + i` (reproducible runs).
    pub fn reset(&mut self, seed: Option<u64>) -> Vec<E::Obs> {
        self.started = true;
        self.run(|_| Task::Reset(seed))
            .into_iter()
            .flat_map(|outcome| match outcome {
                Outcome::Reset(obs) => obs,
                Outcome::Step(_) => unreachable!("a reset task gives reset observations"),
            })
            .collect()
    }

    /// Steps every copy with its action: `actions` holds `len() * action_dim` values, copy after
    /// copy. A wrong length or a value that is not finite is an error before any copy steps.
    pub fn step(&mut self, actions: &[f64]) -> Result<VectorStep<E::Obs>> {
        if !self.started {
            return Err(EnvError::ResetNeeded);
        }
        let (n, dim) = (self.len(), self.action_space.dim());
        if actions.len() != n * dim {
            return Err(EnvError::ActionLength {
                expected: n * dim,
                got: actions.len(),
            });
        }
        if let Some(index) = actions.iter().position(|a| !a.is_finite()) {
            return Err(EnvError::NonFiniteAction {
                index,
                value: actions[index],
            });
        }
        let outcomes = self.run(|copies| Task::Step {
            actions: actions[copies.start * dim..copies.end * dim].to_vec(),
            dim,
        });
        let mut out = VectorStep {
            obs: Vec::with_capacity(n),
            rewards: Vec::with_capacity(n),
            terminated: Vec::with_capacity(n),
            truncated: Vec::with_capacity(n),
            final_obs: Vec::with_capacity(n),
            infos: Vec::with_capacity(n),
        };
        for outcome in outcomes {
            let Outcome::Step(steps) = outcome else {
                unreachable!("a step task gives steps")
            };
            for step in steps {
                let (step, final_obs) = step?;
                out.obs.push(step.obs);
                out.rewards.push(step.reward);
                out.terminated.push(step.terminated);
                out.truncated.push(step.truncated);
                out.final_obs.push(final_obs);
                out.infos.push(step.info);
            }
        }
        Ok(out)
    }

    /// Runs `task_for(copies)` on every chunk, the helpers' chunks on their threads and the
    /// first on this one, and returns the outcomes in chunk order. Then evens out the chunks.
    fn run(&mut self, task_for: impl Fn(Range<usize>) -> Task) -> Vec<Outcome<E::Obs>> {
        let (own, lent) = self.chunks.split_first_mut().expect("at least one chunk");
        let mut first = own.len();
        for (helper, chunk) in self.helpers.iter().zip(lent.iter_mut()) {
            let copies = first..first + chunk.len();
            first = copies.end;
            helper.lend(std::mem::take(chunk), copies.start, task_for(copies));
        }
        let (outcome, seconds) = task_for(0..own.len()).timed_run(own, 0);
        let (mut outcomes, mut times) = (vec![outcome], vec![seconds]);
        for (helper, chunk) in self.helpers.iter_mut().zip(lent.iter_mut()) {
            let Reply {
                envs,
                outcome,
                seconds,
            } = helper.take_back();
            *chunk = envs;
            outcomes.push(outcome);
            times.push(seconds);
        }
        self.rebalance(&times);
        outcomes
    }

    /// Evens out the threads' work: where one of two neighbouring chunks took longer than the
    /// other by more than one copy's time, one copy moves across their boundary to the faster
    /// thread. On a shared machine one core often runs slower than the other for a while (its
    /// thread finished 50-80 us after the other in each 0.6 ms step of 64 pendulums); the copies
    /// keep their order, so results and seeds do not depend on where a copy runs.
    fn rebalance(&mut self, seconds: &[f64]) {
        for left in 0..self.chunks.len() - 1 {
            let (slow, fast) = if seconds[left] > seconds[left + 1] {
                (left, left + 1)
            } else {
                (left + 1, left)
            };
            let copies = self.chunks[slow].len();
            if copies < 2 || seconds[slow] - seconds[fast] < seconds[slow] / copies as f64 {
                continue;
            }
            if slow == left {
                let env = self.chunks[left].pop().expect("at least two copies");
                self.chunks[fast].insert(0, env);
            } else {
                let env = self.chunks[slow].remove(0);
                self.chunks[fast].push(env);
            }
        }
    }
}

/// What the copies of one chunk are asked to do.
enum Task {
    /// Reset, copy `i` seeded `seed + i`.
    Reset(Option<u64>),
    /// Step with the chunk's actions, `dim` per copy, resetting copies whose episode ends.
    Step { actions: Vec<f64>, dim: usize },
}

/// One copy's step: the step (its observation a reset one where the episode ended), and the
/// final observation of the ended episode.
type CopyStep<O> = Result<(Step<O>, Option<O>)>;

/// What a chunk's task gave, copy by copy.
enum Outcome<O> {
    Reset(Vec<O>),
    Step(Vec<CopyStep<O>>),
}

impl Task {
    /// Does the task on `envs`, the copies from index `first` on; also returns the seconds it
    /// took.
    fn timed_run<E: Env>(&self, envs: &mut [E], first: usize) -> (Outcome<E::Obs>, f64) {
        let start = Instant::now();
        let outcome = self.run(envs, first);
        (outcome, start.elapsed().as_secs_f64())
    }

    /// Does the task on `envs`, the copies from index `first` on.
    fn run<E: Env>(&self, envs: &mut [E], first: usize) -> Outcome<E::Obs> {
        match self {
            Task::Reset(seed) => Outcome::Reset(
                (first..)
                    .zip(envs.iter_mut())
                    .map(|(i, env)| env.reset(seed.map(|s| s + i as u64)).0)
                    .collect(),
            ),
            Task::Step { actions, dim } => Outcome::Step(
                envs.iter_mut()
                    .zip(actions.chunks(*dim))
                    .map(|(env, action)| step_with_autoreset(env, action))
                    .collect(),
            ),
        }
    }
}

/// Steps `env`; where the episode ends, resets it in the same step (Gymnasium's same-step
/// autoreset).
fn step_with_autoreset<E: Env>(env: &mut E, action: &[f64]) -> CopyStep<E::Obs> {
    let step = env.step(action)?;
    if !step.done() {
        return Ok((step, None));
    }
    let (reset_obs, _) = env.reset(None);
    let final_obs = step.obs;
    Ok((
        Step {
            obs: reset_obs,
            ..step
        },
        Some(final_obs),
    ))
}

/// How long a thread waiting for work or results polls before it sleeps: about one step of
/// a few dozen copies. Waking a sleeping thread took 20-60 us on the 2-core machines we measured.
const POLL_BEFORE_SLEEP: Duration = Duration::from_millis(1);

/// Receives the next message, polling for `POLL_BEFORE_SLEEP` before sleeping; `None` once
/// the other side has gone.
fn receive<T>(channel: &Receiver<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        match channel.try_recv() {
            Ok(message) => return Some(message),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) if start.elapsed() < POLL_BEFORE_SLEEP => {
                std::thread::yield_now()
            }
            Err(TryRecvError::Empty) => return channel.recv().ok(),
        }
    }
}

/// A chunk of copies lent to a helper, with its task.
struct Request<E: Env> {
    envs: Vec<E>,
    first: usize,
    task: Task,
}

/// A lent chunk handed back, with its task's outcome and the seconds it took.
struct Reply<E: Env> {
    envs: Vec<E>,
    outcome: Outcome<E::Obs>,
    seconds: f64,
}

/// A helper thread: receives a chunk and a task, runs it, sends the chunk back with the outcome.
struct Helper<E: Env> {
    /// `None` only while dropping, to tell the thread to finish.
    requests: Option<Sender<Request<E>>>,
    replies: Receiver<Reply<E>>,
    thread: Option<JoinHandle<()>>,
}

impl<E: Env> Helper<E> {
    /// Starts the helper thread of chunk `index`.
    fn start(index: usize) -> std::io::Result<Self> {
        let (requests, inbox) = mpsc::channel::<Request<E>>();
        let (outbox, replies) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("vector-env-{index}"))
            .spawn(move || {
                while let Some(Request {
                    mut envs,
                    first,
                    task,
                }) = receive(&inbox)
                {
                    let (outcome, seconds) = task.timed_run(&mut envs, first);
                    let reply = Reply {
                        envs,
                        outcome,
                        seconds,
                    };
                    if outbox.send(reply).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Self {
            requests: Some(requests),
            replies,
            thread: Some(thread),
        })
    }

    /// Hands the helper `envs` (copies `first..`) and their task.
    fn lend(&self, envs: Vec<E>, first: usize, task: Task) {
        let request = Request { envs, first, task };
        if let Some(requests) = &self.requests {
            // A send fails only when the thread has ended, which `take_back` reports.
            let _ = requests.send(request);
        }
    }

    /// Waits for the chunk and its outcome. If the helper panicked (a bug in an environment),
    /// its panic continues on this thread.
    fn take_back(&mut self) -> Reply<E> {
        if let Some(reply) = receive(&self.replies) {
            return reply;
        }
        let thread = self.thread.take().expect(
            "a VectorEnv worker thread panicked in an earlier step; this VectorEnv lost its copies",
        );
        match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("a helper thread ends only when its VectorEnv is dropped"),
        }
    }
}

impl<E: Env> Drop for Helper<E> {
    fn drop(&mut self) {
        self.requests = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
