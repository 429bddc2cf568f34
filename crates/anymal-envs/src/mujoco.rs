//! A MuJoCo model with its simulation state, loaded with clear errors, shared between copies
//! of an environment (the model is read-only, each copy owns its data).

use std::path::Path;
use std::sync::Arc;

use mujoco_rs::prelude::*;

pub use mujoco_rs::prelude::MjModel;

use crate::error::{EnvError, Result};

/// The parts of MuJoCo's state that determine the simulation from here on: time, `qpos`,
/// `qvel`, actuator activations, warm start, controls, applied forces, mocap poses, equality
/// switches, user and plugin state (`mjSTATE_INTEGRATION`).
const INTEGRATION_STATE: u32 = MjtState::mjSTATE_INTEGRATION as u32;

/// Sets an actuator's law to `force = gain * ctrl + bias[0] + bias[1] q + bias[2] qd`, clamped
/// to `+-force_limit`, with the control unclamped: a position servo is `(kp, [0, -kp, -kd])`,
/// a velocity servo `(kd, [0, 0, -kd])`. The actuator must have a fixed gain and an affine bias
/// (MJCF `<position>` or `<velocity>`).
pub fn set_actuator_law(
    model: &mut MjModel,
    actuator: usize,
    gain: f64,
    bias: [f64; 3],
    force_limit: f64,
) {
    // SAFETY: a gain is a plain number that mj_step reads; no size or address in the model
    // changes.
    unsafe { model.actuator_gainprm_mut()[actuator][0] = gain };
    model.actuator_biasprm_mut()[actuator][..3].copy_from_slice(&bias);
    model.actuator_forcerange_mut()[actuator] = [-force_limit, force_limit];
    model.actuator_forcelimited_mut()[actuator] = true;
    model.actuator_ctrllimited_mut()[actuator] = false;
}

/// MuJoCo's quaternion `(w, x, y, z)` for roll, pitch and yaw (rotations about z, then y, then
/// x of the body).
pub fn quaternion_from_euler(roll: f64, pitch: f64, yaw: f64) -> [f64; 4] {
    let (sr, cr) = (roll / 2.0).sin_cos();
    let (sp, cp) = (pitch / 2.0).sin_cos();
    let (sy, cy) = (yaw / 2.0).sin_cos();
    [
        cr * cp * cy + sr * sp * sy,
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
    ]
}

/// A compiled MuJoCo model and one simulation state.
pub struct MujocoSim {
    /// The simulation state (the crate's environments read and step it directly).
    pub(crate) data: MjData<Arc<MjModel>>,
    /// The compiled model `data` belongs to (shared with copies and renderers).
    model: Arc<MjModel>,
    /// The integration state of a freshly reset `MjData`, restored by [`Self::reset`].
    initial_state: Box<[f64]>,
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
        let data = MjData::new(model.clone());
        let initial_state = data.state(INTEGRATION_STATE);
        Self {
            data,
            model,
            initial_state,
        }
    }

    /// The compiled model, shared.
    pub fn shared_model(&self) -> Arc<MjModel> {
        self.model.clone()
    }

    /// The full integration state (time, positions, velocities, actuator states, ...), as
    /// `mj_getState` gives it.
    pub fn integration_state(&self) -> Box<[f64]> {
        self.data.state(INTEGRATION_STATE)
    }

    /// Back to the initial state, as `mj_resetData` leaves it for the simulation. It restores the
    /// integration state saved when this state was made (`mj_setState`, 0.2 us for the pendulum)
    /// rather than calling `mj_resetData`, which also zero-fills MuJoCo's 160 KB of per-iteration
    /// solver statistics (5-9 us, and with many copies it pushes their states out of the cache).
    /// Quantities derived from the state (positions of bodies, contacts, ...) are recomputed by
    /// the next `mj_forward` or `mj_step`, as after `mj_resetData`; diagnostics (warnings,
    /// timers, solver statistics) keep counting.
    pub fn reset(&mut self) {
        self.data
            .set_state(&self.initial_state, INTEGRATION_STATE)
            .expect("the saved state has this model's size");
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

    /// The compiled model.
    pub fn model(&self) -> &MjModel {
        self.data.model()
    }

    /// The simulation state (positions of bodies, contacts, ...).
    pub fn data(&self) -> &MjData<Arc<MjModel>> {
        &self.data
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

    /// Makes `model` the model this state is simulated with, without MuJoCo-rs's layout
    /// comparison (which compares the whole model, heightfield included, on every call).
    ///
    /// # Safety
    /// `model` must have this state's model's layout, e.g. be a clone of it with only numeric
    /// parameters changed (masses, frictions), checked once with
    /// [`MjModel::is_compatible_with_model`].
    pub unsafe fn swap_model_unchecked(&mut self, model: Arc<MjModel>) {
        // SAFETY: the caller guarantees an equal layout.
        unsafe {
            self.data.swap_model_unchecked(model);
        }
    }

    /// One raw `mj_step`, for benchmarks of the simulator alone.
    pub fn raw_step(&mut self) {
        self.data.step();
    }
}
