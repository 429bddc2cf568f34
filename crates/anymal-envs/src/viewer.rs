//! The live viewer (`--render human`, Gymnasium's `render_mode="human"`): MuJoCo's native
//! viewer window from mujoco-rs (`MjViewer`, winit and OpenGL), showing an environment's
//! rollout in real time.
//!
//! Like the [video recorder](crate::video::VideoRecorder), the viewer shows a copy of the
//! environment's state, so watching never changes the simulation. The window must be opened
//! from the main thread, and only once per process (a limit of winit's event loop). Nothing
//! here runs unless a viewer is made.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mujoco_rs::prelude::*;
use mujoco_rs::viewer::{MjViewer, MjViewerError};

use crate::env::Env;
use crate::error::{EnvError, Result};
use crate::mujoco::MujocoSim;
use crate::video::mujoco_of;

/// A window showing an environment's simulation, paced to real time.
pub struct LiveViewer {
    viewer: MjViewer,
    model: Arc<MjModel>,
    state: MjData<Arc<MjModel>>,
    last_shown: Option<Instant>,
}

impl LiveViewer {
    /// Opens a window for `sim`'s model. Fails with a message saying why when there is no
    /// display (`DISPLAY` and `WAYLAND_DISPLAY` unset) or no OpenGL context can be made.
    pub fn new(sim: &MujocoSim) -> Result<Self> {
        check_display()?;
        let model = sim.shared_model();
        let title = "anymal: live viewer";
        // winit and glutin panic on some broken displays instead of returning an error.
        let viewer = std::panic::catch_unwind(|| {
            MjViewer::builder()
                .window_name(title)
                .vsync(false)
                .build_passive(&model)
        })
        .map_err(|panic| {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("unknown panic");
            viewer_error(what)
        })?
        .map_err(|e| viewer_error(&describe(&e)))?;
        Ok(Self {
            viewer,
            state: MjData::new(model.clone()),
            model,
            last_shown: None,
        })
    }

    /// A viewer for the MuJoCo simulation behind `env` (through its wrappers).
    pub fn for_env(env: &impl Env) -> Result<Self> {
        Self::new(mujoco_of(env)?)
    }

    /// Shows `env`'s current state, after waiting until `env.dt()` has passed since the last
    /// frame (real time). Returns `false` once the user has closed the window.
    pub fn show_env(&mut self, env: &impl Env) -> Result<bool> {
        self.show(mujoco_of(env)?, env.dt())
    }

    /// Shows the current state of `sim`, `dt` seconds of simulated time after the last frame.
    /// `sim` may have another model than the last one shown (a new terrain): the window then
    /// switches to it.
    pub fn show(&mut self, sim: &MujocoSim, dt: f64) -> Result<bool> {
        if !self.viewer.running() {
            return Ok(false);
        }
        let model = sim.shared_model();
        if !Arc::ptr_eq(&model, &self.model) {
            self.viewer.sync_model(&mut (*model).clone());
            self.state = MjData::new(model.clone());
            self.model = model;
        }
        if let Some(last) = self.last_shown {
            let due = last + Duration::from_secs_f64(dt.max(0.0));
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        self.last_shown = Some(Instant::now());
        self.state
            .set_state(
                &sim.integration_state(),
                MjtState::mjSTATE_INTEGRATION as u32,
            )
            .map_err(|e| EnvError::Parameter(format!("viewer: {e:?}")))?;
        self.state.forward();
        self.viewer.sync_data(&mut self.state);
        self.viewer
            .render()
            .map_err(|e| viewer_error(&describe(&e)))?;
        Ok(self.viewer.running())
    }

    /// Whether the window is still open.
    pub fn is_open(&self) -> bool {
        self.viewer.running()
    }
}

/// Fails, naming the variables, when neither an X11 nor a Wayland display is set: the check a
/// program can make before it starts work that ends in a viewer.
pub fn check_display() -> Result<()> {
    display_from(|name| std::env::var_os(name))
}

/// [`check_display`] with `var` reading the environment variables.
fn display_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<()> {
    let set = |name| var(name).is_some_and(|v| !v.is_empty());
    if set("DISPLAY") || set("WAYLAND_DISPLAY") {
        return Ok(());
    }
    Err(EnvError::Render(
        "the live viewer needs a display, and neither DISPLAY nor WAYLAND_DISPLAY is set \
         (on a machine without a screen, record a video with --video FILE instead, or run \
         under a virtual display: xvfb-run)"
            .into(),
    ))
}

fn describe(e: &MjViewerError) -> String {
    match e {
        MjViewerError::GlutinError(inner) => format!("{e}: {inner}"),
        MjViewerError::EventLoopError(inner) => format!("{e}: {inner}"),
        _ => e.to_string(),
    }
}

fn viewer_error(what: &str) -> EnvError {
    EnvError::Render(format!(
        "cannot open the live viewer: {what} (it needs a display and OpenGL: on Debian/Ubuntu \
         apt-get install libgl1-mesa-dri libegl1 libegl-mesa0 libxkbcommon-x11-0)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_display_is_named_before_any_window_is_tried() {
        let none = display_from(|_| None).unwrap_err().to_string();
        assert!(
            none.contains("DISPLAY") && none.contains("WAYLAND_DISPLAY"),
            "{none}"
        );
        assert!(none.contains("--video"), "{none}");
        let empty = display_from(|_| Some("".into())).unwrap_err();
        assert!(empty.to_string().contains("neither DISPLAY"));
        assert!(
            display_from(|name| (name == "WAYLAND_DISPLAY").then(|| "wayland-0".into())).is_ok()
        );
        assert!(display_from(|name| (name == "DISPLAY").then(|| ":0".into())).is_ok());
    }
}
