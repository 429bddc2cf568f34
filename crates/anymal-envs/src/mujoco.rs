//! A MuJoCo model with its simulation state, loaded with clear errors, shared between copies
//! of an environment (the model is read-only, each copy owns its data).

use std::path::Path;
use std::sync::Arc;

use mujoco_rs::prelude::*;

pub use mujoco_rs::prelude::MjModel;

use crate::error::{EnvError, Result};

/// A compiled MuJoCo model and one simulation state.
pub struct MujocoSim {
    data: MjData<Arc<MjModel>>,
}

impl MujocoSim {
    /// Loads and compiles an MJCF file.
    pub fn from_file(path: &Path) -> Result<Self> {
        if !path.is_file() {
            return Err(EnvError::Model {
                path: path.to_path_buf(),
                message: "no such file".into(),
            });
        }
        let model = MjModel::from_xml(path).map_err(|e| EnvError::Model {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(Self::from_model(Arc::new(model)))
    }

    /// Compiles MJCF given as a string.
    pub fn from_xml_string(xml: &str) -> Result<Self> {
        Ok(Self::from_model(Self::compile_xml_string(xml)?))
    }

    /// Compiles MJCF given as a string into a model that copies can share.
    pub fn compile_xml_string(xml: &str) -> Result<Arc<MjModel>> {
        let model = MjModel::from_xml_string(xml).map_err(|e| EnvError::Model {
            path: "<string>".into(),
            message: e.to_string(),
        })?;
        Ok(Arc::new(model))
    }

    /// A fresh state of an already compiled model.
    pub fn from_model(model: Arc<MjModel>) -> Self {
        Self {
            data: MjData::new(model),
        }
    }

    /// `mj_resetData`.
    pub fn reset(&mut self) {
        self.data.reset();
    }

    /// Sets `qpos` and `qvel`, then `mj_forward` (Gymnasium's `set_state`).
    pub fn set_state(&mut self, qpos: &[f64], qvel: &[f64]) -> Result<()> {
        let (nq, nv) = (self.data.qpos().len(), self.data.qvel().len());
        if qpos.len() != nq {
            return Err(EnvError::StateLength {
                what: "qpos",
                expected: nq,
                got: qpos.len(),
            });
        }
        if qvel.len() != nv {
            return Err(EnvError::StateLength {
                what: "qvel",
                expected: nv,
                got: qvel.len(),
            });
        }
        self.data.qpos_mut().copy_from_slice(qpos);
        self.data.qvel_mut().copy_from_slice(qvel);
        self.data.forward();
        Ok(())
    }

    /// Sets the controls and steps `frame_skip` times. Gymnasium's `do_simulation` then calls
    /// `mj_rnePostConstraint`; call [`Self::rne_post_constraint`] when the observation or the
    /// reward reads what it computes (body accelerations and contact forces: `cacc`, `cfrc_*`).
    pub fn do_simulation(&mut self, ctrl: &[f64], frame_skip: usize) {
        self.data.ctrl_mut().copy_from_slice(ctrl);
        for _ in 0..frame_skip {
            self.data.step();
        }
    }

    /// `mj_rnePostConstraint`: body accelerations and interaction forces after the constraints.
    pub fn rne_post_constraint(&mut self) {
        self.data.rne_post_constraint();
    }

    /// Joint positions.
    pub fn qpos(&self) -> &[f64] {
        self.data.qpos()
    }

    /// Joint velocities.
    pub fn qvel(&self) -> &[f64] {
        self.data.qvel()
    }

    /// Simulated time.
    pub fn time(&self) -> f64 {
        self.data.time()
    }

    /// Seconds per `mj_step`.
    pub fn timestep(&self) -> f64 {
        self.data.model().opt().timestep
    }

    /// Number of actuators.
    pub fn num_actuators(&self) -> usize {
        self.data.ctrl().len()
    }

    /// One raw `mj_step`, for benchmarks of the simulator alone.
    pub fn raw_step(&mut self) {
        self.data.step();
    }
}
