//! The rollout buffer of on-policy training: `n_steps` transitions of `n_envs` environments,
//! stored step-major (`[step][env]`), with generalised advantage estimation (GAE).

use rand::Rng;
use rand::seq::SliceRandom;

/// One rollout of `n_steps x n_envs` transitions and, after [`RolloutBuffer::compute_gae`],
/// their advantages and returns.
#[derive(Debug, Clone)]
pub struct RolloutBuffer {
    n_steps: usize,
    n_envs: usize,
    obs_dim: usize,
    action_dim: usize,
    len: usize,
    /// Observations `[step][env][obs_dim]` the actions were taken in.
    pub obs: Vec<f32>,
    /// Actions as sampled (before any clipping to the action space), `[step][env][action_dim]`.
    pub actions: Vec<f32>,
    /// Log-probabilities of the actions under the policy that sampled them.
    pub log_probs: Vec<f32>,
    /// Value estimates of the observations.
    pub values: Vec<f32>,
    /// Rewards, already including `gamma * V(final obs)` for time-limit truncations.
    pub rewards: Vec<f32>,
    /// Whether the episode ended with this step (terminated or truncated).
    pub dones: Vec<bool>,
    /// GAE advantages.
    pub advantages: Vec<f32>,
    /// Value targets: advantages + values.
    pub returns: Vec<f32>,
}

/// A minibatch gathered from a [`RolloutBuffer`], rows in the same order in every field.
#[derive(Debug, Clone, Default)]
pub struct Minibatch {
    /// Rows in the minibatch.
    pub len: usize,
    /// Observations, `[len][obs_dim]`.
    pub obs: Vec<f32>,
    /// Actions, `[len][action_dim]`.
    pub actions: Vec<f32>,
    /// Log-probabilities under the rollout policy.
    pub log_probs: Vec<f32>,
    /// Values under the rollout policy.
    pub values: Vec<f32>,
    /// Advantages.
    pub advantages: Vec<f32>,
    /// Value targets.
    pub returns: Vec<f32>,
}

impl RolloutBuffer {
    /// An empty buffer for `n_steps` steps of `n_envs` environments.
    pub fn new(n_steps: usize, n_envs: usize, obs_dim: usize, action_dim: usize) -> Self {
        let rows = n_steps * n_envs;
        Self {
            n_steps,
            n_envs,
            obs_dim,
            action_dim,
            len: 0,
            obs: Vec::with_capacity(rows * obs_dim),
            actions: Vec::with_capacity(rows * action_dim),
            log_probs: Vec::with_capacity(rows),
            values: Vec::with_capacity(rows),
            rewards: Vec::with_capacity(rows),
            dones: Vec::with_capacity(rows),
            advantages: Vec::new(),
            returns: Vec::new(),
        }
    }

    /// Transitions stored (`n_steps * n_envs` when full).
    pub fn len(&self) -> usize {
        self.len * self.n_envs
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether all `n_steps` steps are stored.
    pub fn is_full(&self) -> bool {
        self.len == self.n_steps
    }

    /// Empties the buffer for the next rollout.
    pub fn clear(&mut self) {
        self.len = 0;
        for v in [
            &mut self.obs,
            &mut self.actions,
            &mut self.log_probs,
            &mut self.values,
            &mut self.rewards,
            &mut self.advantages,
            &mut self.returns,
        ] {
            v.clear();
        }
        self.dones.clear();
    }

    /// Stores one step of every environment.
    ///
    /// # Panics
    /// If the buffer is full or a slice has the wrong length (a bug in the caller, not input).
    pub fn push(
        &mut self,
        obs: &[f32],
        actions: &[f32],
        log_probs: &[f32],
        values: &[f32],
        rewards: &[f32],
        dones: &[bool],
    ) {
        assert!(!self.is_full(), "rollout buffer is full");
        let n = self.n_envs;
        assert_eq!(obs.len(), n * self.obs_dim, "observations");
        assert_eq!(actions.len(), n * self.action_dim, "actions");
        for (name, len) in [
            ("log_probs", log_probs.len()),
            ("values", values.len()),
            ("rewards", rewards.len()),
            ("dones", dones.len()),
        ] {
            assert_eq!(len, n, "{name}");
        }
        self.obs.extend_from_slice(obs);
        self.actions.extend_from_slice(actions);
        self.log_probs.extend_from_slice(log_probs);
        self.values.extend_from_slice(values);
        self.rewards.extend_from_slice(rewards);
        self.dones.extend_from_slice(dones);
        self.len += 1;
    }

    /// Computes advantages and returns, bootstrapping the last step from `last_values`, the
    /// values of the observations that follow the rollout.
    pub fn compute_gae(&mut self, last_values: &[f32], gamma: f32, gae_lambda: f32) {
        (self.advantages, self.returns) = gae(
            &self.rewards,
            &self.values,
            &self.dones,
            last_values,
            gamma,
            gae_lambda,
        );
    }

    /// Shuffled minibatches of `batch_size` rows covering the buffer once (the last one
    /// shorter when `batch_size` does not divide the buffer).
    pub fn minibatch_indices(&self, batch_size: usize, rng: &mut impl Rng) -> Vec<Vec<usize>> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(rng);
        order
            .chunks(batch_size.max(1))
            .map(<[usize]>::to_vec)
            .collect()
    }

    /// Gathers the rows `indices` into `out` (reusing its allocations).
    pub fn gather(&self, indices: &[usize], out: &mut Minibatch) {
        out.len = indices.len();
        gather_rows(&self.obs, self.obs_dim, indices, &mut out.obs);
        gather_rows(&self.actions, self.action_dim, indices, &mut out.actions);
        gather_rows(&self.log_probs, 1, indices, &mut out.log_probs);
        gather_rows(&self.values, 1, indices, &mut out.values);
        gather_rows(&self.advantages, 1, indices, &mut out.advantages);
        gather_rows(&self.returns, 1, indices, &mut out.returns);
    }
}

fn gather_rows(src: &[f32], width: usize, indices: &[usize], out: &mut Vec<f32>) {
    out.clear();
    for &i in indices {
        out.extend_from_slice(&src[i * width..(i + 1) * width]);
    }
}

/// Generalised advantage estimation over step-major `[step][env]` arrays:
/// `delta_t = r_t + gamma V_{t+1} (1 - done_t) - V_t`,
/// `A_t = delta_t + gamma lambda (1 - done_t) A_{t+1}`, returns `A + V`; `V` after the last step
/// is `last_values`. Returns `(advantages, returns)`.
pub fn gae(
    rewards: &[f32],
    values: &[f32],
    dones: &[bool],
    last_values: &[f32],
    gamma: f32,
    gae_lambda: f32,
) -> (Vec<f32>, Vec<f32>) {
    let n_envs = last_values.len();
    let mut advantages = vec![0.0f32; rewards.len()];
    let mut next_advantage = vec![0.0f32; n_envs];
    let mut next_value = last_values.to_vec();
    for t in (0..rewards.len() / n_envs.max(1)).rev() {
        for e in 0..n_envs {
            let i = t * n_envs + e;
            let not_done = if dones[i] { 0.0 } else { 1.0 };
            let delta = rewards[i] + gamma * next_value[e] * not_done - values[i];
            next_advantage[e] = delta + gamma * gae_lambda * not_done * next_advantage[e];
            advantages[i] = next_advantage[e];
            next_value[e] = values[i];
        }
    }
    let returns = advantages.iter().zip(values).map(|(a, v)| a + v).collect();
    (advantages, returns)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Textbook GAE for one environment, written independently of `gae`'s loop.
    fn reference(
        rewards: &[f32],
        values: &[f32],
        dones: &[bool],
        last: f32,
        g: f32,
        l: f32,
    ) -> Vec<f32> {
        let n = rewards.len();
        let next_values: Vec<f32> = (0..n)
            .map(|t| if t + 1 < n { values[t + 1] } else { last })
            .collect();
        (0..n)
            .map(|t| {
                // Sum of (g l)^k delta_{t+k} until the episode ends.
                let mut sum = 0.0f32;
                let mut weight = 1.0f32;
                for k in t..n {
                    let mask = if dones[k] { 0.0 } else { 1.0 };
                    sum += weight * (rewards[k] + g * next_values[k] * mask - values[k]);
                    if dones[k] {
                        break;
                    }
                    weight *= g * l;
                }
                sum
            })
            .collect()
    }

    #[test]
    fn gae_matches_the_textbook_sum_per_environment() {
        let rewards = [1.0, 0.5, -1.0, 2.0, 0.0, 1.0];
        let values = [0.3, -0.2, 0.8, 0.1, 0.5, -0.4];
        let dones = [false, true, false, false, false, true];
        // Two environments interleaved step-major: env 0 gets even indices, env 1 odd ones.
        let (adv, ret) = gae(&rewards, &values, &dones, &[0.7, -0.6], 0.99, 0.95);
        for e in 0..2 {
            let pick = |x: &[f32]| x.iter().skip(e).step_by(2).copied().collect::<Vec<_>>();
            let pick_b = |x: &[bool]| x.iter().skip(e).step_by(2).copied().collect::<Vec<_>>();
            let last = [0.7, -0.6][e];
            let expected = reference(
                &pick(&rewards),
                &pick(&values),
                &pick_b(&dones),
                last,
                0.99,
                0.95,
            );
            for (a, b) in pick(&adv).iter().zip(&expected) {
                assert!((a - b).abs() < 1e-6, "env {e}: {a} vs {b}");
            }
        }
        for i in 0..6 {
            assert!((ret[i] - (adv[i] + values[i])).abs() < 1e-7);
        }
    }

    #[test]
    fn a_done_step_does_not_bootstrap() {
        // One env, one step, done: the advantage is r - V whatever the next value.
        let (adv, _) = gae(&[1.0], &[0.25], &[true], &[100.0], 0.99, 0.95);
        assert_eq!(adv, vec![0.75]);
        let (adv, _) = gae(&[1.0], &[0.25], &[false], &[100.0], 0.5, 0.95);
        assert_eq!(adv, vec![50.75]);
    }

    #[test]
    fn minibatches_cover_every_row_once() {
        let mut buffer = RolloutBuffer::new(3, 2, 1, 1);
        for t in 0..3 {
            let x = [t as f32 * 2.0, t as f32 * 2.0 + 1.0];
            buffer.push(&x, &x, &x, &x, &x, &[false, false]);
        }
        buffer.compute_gae(&[0.0, 0.0], 0.99, 0.95);
        let mut rng = rand::rng();
        let batches = buffer.minibatch_indices(4, &mut rng);
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 2]);
        let mut seen: Vec<usize> = batches.concat();
        seen.sort();
        assert_eq!(seen, (0..6).collect::<Vec<_>>());
        let mut mb = Minibatch::default();
        buffer.gather(&batches[0], &mut mb);
        let expected: Vec<f32> = batches[0].iter().map(|&i| i as f32).collect();
        assert_eq!(mb.obs, expected);
        assert_eq!(mb.actions, expected);
    }
}
