//! Evaluating a policy: one episode per environment, all stepped together (one batched forward
//! per step, environments in parallel on rayon's pool), from fixed reset seeds.

use anymal_envs::{Env, FlatObservation};
use rayon::prelude::*;

use crate::error::Result;
use crate::policy::{ActorCritic, Policy};

/// The outcome of one evaluation episode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalEpisode {
    /// Sum of rewards.
    pub episode_return: f64,
    /// Number of steps.
    pub length: usize,
}

/// Runs one episode in each of `envs`, resetting environment `i` with seed `seed + i`, acting
/// with the policy's mode when `deterministic`; returns the episodes in environment order.
/// Each environment must end its episodes itself (wrap it in a `TimeLimit`).
pub fn evaluate<P, E>(
    policy: &mut Policy<P>,
    envs: &mut [E],
    seed: u64,
    deterministic: bool,
) -> Result<Vec<EvalEpisode>>
where
    P: ActorCritic,
    E: Env,
    E::Obs: FlatObservation,
{
    let mut obs: Vec<Option<E::Obs>> = envs
        .iter_mut()
        .enumerate()
        .map(|(i, env)| Some(env.reset(Some(seed + i as u64)).0))
        .collect();
    let mut episodes = vec![
        EvalEpisode {
            episode_return: 0.0,
            length: 0
        };
        envs.len()
    ];
    let action_dim = policy.action_space.dim();
    loop {
        let active: Vec<usize> = (0..envs.len()).filter(|&i| obs[i].is_some()).collect();
        if active.is_empty() {
            return Ok(episodes);
        }
        let mut flat = Vec::new();
        for &i in &active {
            obs[i].as_ref().expect("active").write_flat(&mut flat);
        }
        let actions = policy.predict_batch(&flat, deterministic)?;
        let mut action_of = vec![None; envs.len()];
        for (k, &i) in active.iter().enumerate() {
            action_of[i] = Some(&actions[k * action_dim..(k + 1) * action_dim]);
        }
        let steps: Vec<Option<anymal_envs::Result<anymal_envs::Step<E::Obs>>>> = envs
            .par_iter_mut()
            .zip(action_of.par_iter())
            .map(|(env, action)| action.map(|a| env.step(a)))
            .collect();
        for (i, step) in steps.into_iter().enumerate() {
            let Some(step) = step else { continue };
            let step = step?;
            episodes[i].episode_return += step.reward;
            episodes[i].length += 1;
            obs[i] = (!step.done()).then_some(step.obs);
        }
    }
}

/// How often and how a run is evaluated, as Stable-Baselines3's `EvalCallback`.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalProtocol {
    /// Evaluate whenever the step count crosses a multiple of this.
    pub every_steps: u64,
    /// Seed of the first evaluation environment's reset (then `seed + 1`, ...), the same at
    /// every evaluation.
    pub seed: u64,
    /// Act with the policy's mode.
    pub deterministic: bool,
    /// Stop training once every evaluation episode returns at least this (`None`: never stop).
    pub solved_return: Option<f64>,
    /// Where to write a resumable checkpoint after every evaluation, so that a failure later
    /// in the run loses at most one evaluation period (`None`: none).
    pub checkpoint: Option<std::path::PathBuf>,
}

/// One point of a learning curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    /// Environment steps so far.
    pub steps: u64,
    /// Seconds since training started, evaluations included.
    pub seconds: f64,
    /// Mean return of recent training episodes.
    pub train_return: Option<f64>,
    /// Mean return of the evaluation episodes, when this point is an evaluation.
    pub eval_return: Option<f64>,
}

/// What [`train_with_evaluation`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingReport {
    /// Steps and seconds (evaluations included) when every evaluation episode first reached
    /// the solved return.
    pub solved: Option<(u64, f64)>,
    /// One point per update, with the evaluations.
    pub curve: Vec<CurvePoint>,
    /// Returns of the last evaluation.
    pub last_eval: Vec<EvalEpisode>,
}

/// Trains `ppo` until its total steps, evaluating on `eval_envs` as `protocol` says (logged as
/// `eval/mean_reward` and `eval/mean_ep_length`), and stopping early once solved.
pub fn train_with_evaluation<P, E, F>(
    ppo: &mut crate::Ppo<P>,
    envs: &mut anymal_envs::VectorEnv<E>,
    eval_envs: &mut [F],
    logger: &mut crate::Logger,
    protocol: &EvalProtocol,
) -> Result<TrainingReport>
where
    P: ActorCritic,
    E: Env,
    E::Obs: FlatObservation,
    F: Env,
    F::Obs: FlatObservation,
{
    let started = std::time::Instant::now();
    let mut report = TrainingReport {
        solved: None,
        curve: Vec::new(),
        last_eval: Vec::new(),
    };
    let every = protocol.every_steps.max(1);
    let mut next_eval = (ppo.num_timesteps() / every + 1) * every;
    while ppo.num_timesteps() < ppo.total_timesteps() {
        ppo.iterate(envs, logger)?;
        let steps = ppo.num_timesteps();
        let mut point = CurvePoint {
            steps,
            seconds: started.elapsed().as_secs_f64(),
            train_return: ppo.mean_episode_return(),
            eval_return: None,
        };
        if steps >= next_eval {
            next_eval = (steps / every + 1) * every;
            let episodes = evaluate(
                &mut ppo.policy(),
                eval_envs,
                protocol.seed,
                protocol.deterministic,
            )?;
            let n = episodes.len().max(1) as f64;
            let mean = episodes.iter().map(|e| e.episode_return).sum::<f64>() / n;
            let length = episodes.iter().map(|e| e.length as f64).sum::<f64>() / n;
            logger.record("eval/mean_reward", mean);
            logger.record("eval/mean_ep_length", length);
            logger.dump(steps)?;
            if let Some(path) = &protocol.checkpoint {
                ppo.save(path)?;
            }
            point.eval_return = Some(mean);
            point.seconds = started.elapsed().as_secs_f64();
            let solved = protocol
                .solved_return
                .is_some_and(|target| episodes.iter().all(|e| e.episode_return >= target));
            report.last_eval = episodes;
            if solved {
                report.solved = Some((steps, point.seconds));
                report.curve.push(point);
                break;
            }
        }
        report.curve.push(point);
    }
    Ok(report)
}
