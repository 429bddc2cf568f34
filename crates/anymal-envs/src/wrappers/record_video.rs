use std::path::PathBuf;

use crate::env::{Env, Info, Step};
use crate::error::{EnvError, Result};
use crate::video::{VideoConfig, VideoRecorder};

/// Records every `every_episodes`-th episode (the first included) into `folder` as
/// `episode-<n>.gif` (Gymnasium's `RecordVideo`); the file is written when the episode
/// terminates or is truncated.
///
/// An OpenGL context belongs to one thread, and environments move between a vector env's
/// threads, so the wrapper keeps the simulation states of the episode and renders them when it
/// ends, on the thread that ends it.
pub struct RecordVideo<E> {
    env: E,
    config: VideoConfig,
    folder: PathBuf,
    every_episodes: usize,
    episode: usize,
    /// The integration states of the episode being recorded.
    states: Option<Vec<Box<[f64]>>>,
}

impl<E: Env> RecordVideo<E> {
    /// Wraps `env`, whose MuJoCo simulation is rendered as `config` says. Fails at once when
    /// the folder cannot be created or no renderer can be made.
    pub fn new(
        env: E,
        folder: impl Into<PathBuf>,
        every_episodes: usize,
        config: &VideoConfig,
    ) -> Result<Self> {
        let folder = folder.into();
        if every_episodes == 0 {
            return Err(EnvError::Parameter(
                "RecordVideo: every_episodes must be at least 1".into(),
            ));
        }
        std::fs::create_dir_all(&folder)
            .map_err(|e| EnvError::Render(format!("cannot create {}: {e}", folder.display())))?;
        VideoRecorder::for_env(&env, config)?; // the renderer works here, or says why not
        Ok(Self {
            env,
            config: config.clone(),
            folder,
            every_episodes,
            episode: 0,
            states: None,
        })
    }

    /// The file episode `n` (from 0) is written to.
    pub fn episode_path(&self, n: usize) -> PathBuf {
        self.folder.join(format!("episode-{n}.gif"))
    }

    fn keep_state(&mut self) {
        if let (Some(states), Some(sim)) = (&mut self.states, self.env.sim()) {
            states.push(sim.integration_state());
        }
    }

    fn write_episode(&mut self, states: &[Box<[f64]>]) -> Result<()> {
        let sim = self.env.sim().ok_or_else(|| {
            EnvError::Render("this environment has no MuJoCo simulation to render".into())
        })?;
        let mut recorder = VideoRecorder::new(sim, &self.config)?;
        for state in states {
            recorder.capture_state(state)?;
        }
        recorder.save(self.episode_path(self.episode), recorder.fps(self.env.dt()))
    }
}

impl<E: Env> Env for RecordVideo<E> {
    type Obs = E::Obs;

    fn reset(&mut self, seed: Option<u64>) -> (E::Obs, Info) {
        let reset = self.env.reset(seed);
        self.states = self
            .episode
            .is_multiple_of(self.every_episodes)
            .then(Vec::new);
        self.keep_state();
        reset
    }

    fn step(&mut self, action: &[f64]) -> Result<Step<E::Obs>> {
        let step = self.env.step(action)?;
        self.keep_state();
        if step.terminated || step.truncated {
            if let Some(states) = self.states.take() {
                self.write_episode(&states)?;
            }
            self.episode += 1;
        }
        Ok(step)
    }

    super::forward_spaces!();
}
