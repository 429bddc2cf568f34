//! # anymal-rl
//!
//! Training for the networks of `anymal-core`: PPO with a rollout buffer and GAE, student
//! distillation, schedules, logging and checkpoints. Not written yet: this crate holds no code
//! so far (see the project's open issues).
