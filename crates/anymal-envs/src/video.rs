//! Videos of MuJoCo rollouts: frames from MuJoCo's own offscreen renderer (mujoco-rs'
//! `MjRenderer`, EGL on Linux, so it runs headless, on Mesa's software OpenGL where there is no
//! GPU), written as an animated GIF (the `gif` crate) or, where `ffmpeg` is on the PATH, an MP4.
//!
//! A [`VideoRecorder`] copies the environment's simulation state into a state of its own and
//! renders that, so recording never touches the environment. Nothing here runs unless a
//! recorder is made: rendering costs nothing when it is off.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use mujoco_rs::prelude::*;
use mujoco_rs::renderer::MjRenderer;

use crate::env::Env;
use crate::error::{EnvError, Result};
use crate::mujoco::MujocoSim;

/// Where the camera looks from.
#[derive(Debug, Clone, PartialEq)]
pub enum CameraView {
    /// Follows the body of this name (a robot's base), at the configured distance and angles.
    Tracking(String),
    /// MuJoCo's free camera looking at the model's centre, at the configured angles.
    Fixed,
}

/// What a recording looks like.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoConfig {
    /// Frame width (pixels).
    pub width: usize,
    /// Frame height (pixels).
    pub height: usize,
    /// Keep every `every`-th captured step (1: all).
    pub every: usize,
    /// The camera.
    pub camera: CameraView,
    /// Distance from the looked-at point (m); `None` keeps MuJoCo's choice.
    pub distance: Option<f64>,
    /// Azimuth (degrees).
    pub azimuth: f64,
    /// Elevation (degrees, negative: from above).
    pub elevation: f64,
}

impl Default for VideoConfig {
    /// 640 x 480, every step, MuJoCo's free camera at azimuth 90 and elevation -15.
    fn default() -> Self {
        Self {
            width: 640,
            height: 480,
            every: 1,
            camera: CameraView::Fixed,
            distance: None,
            azimuth: 90.0,
            elevation: -15.0,
        }
    }
}

impl VideoConfig {
    /// A camera following `body` from `distance` metres, slightly from above and the side.
    pub fn tracking(body: &str, distance: f64) -> Self {
        Self {
            camera: CameraView::Tracking(body.to_string()),
            distance: Some(distance),
            azimuth: 135.0,
            elevation: -20.0,
            ..Self::default()
        }
    }
}

/// Renders frames of a simulation and writes them as a video.
pub struct VideoRecorder {
    config: VideoConfig,
    model: Arc<MjModel>,
    renderer: MjRenderer,
    state: MjData<Arc<MjModel>>,
    steps: usize,
    frames: Vec<Vec<u8>>,
    render_seconds: f64,
}

impl VideoRecorder {
    /// A recorder for `sim`'s model. Fails with a message saying what is missing when no
    /// OpenGL context can be made (no EGL library, no display driver).
    pub fn new(sim: &MujocoSim, config: &VideoConfig) -> Result<Self> {
        if config.width == 0 || config.height == 0 || config.every == 0 {
            return Err(EnvError::Parameter(format!(
                "video: width {}, height {} and every {} must be positive",
                config.width, config.height, config.every
            )));
        }
        let model = sim.shared_model();
        Ok(Self {
            renderer: renderer_for(&model, config)?,
            state: MjData::new(model.clone()),
            model,
            config: config.clone(),
            steps: 0,
            frames: Vec::new(),
            render_seconds: 0.0,
        })
    }

    /// A recorder for the MuJoCo simulation behind `env` (through its wrappers).
    pub fn for_env(env: &impl Env, config: &VideoConfig) -> Result<Self> {
        Self::new(mujoco_of(env)?, config)
    }

    /// Captures `env`'s current state (see [`VideoRecorder::capture`]).
    pub fn capture_env(&mut self, env: &impl Env) -> Result<()> {
        self.capture(mujoco_of(env)?)
    }

    /// Frames per second of a video of an environment stepped every `dt` seconds.
    pub fn fps(&self, dt: f64) -> f64 {
        1.0 / (dt * self.config.every as f64)
    }

    /// Captures the current state of `sim` (every `every`-th call renders a frame). `sim` may
    /// have another model than the last one captured (a new terrain): the recorder then
    /// renders that model, with the same size and camera.
    pub fn capture(&mut self, sim: &MujocoSim) -> Result<()> {
        let model = sim.shared_model();
        if !Arc::ptr_eq(&model, &self.model) {
            self.renderer = renderer_for(&model, &self.config)?;
            self.state = MjData::new(model.clone());
            self.model = model;
        }
        self.capture_state(&sim.integration_state())
    }

    /// Captures a state saved with [`MujocoSim::integration_state`] (every `every`-th call
    /// renders a frame).
    pub fn capture_state(&mut self, state: &[f64]) -> Result<()> {
        let keep = self.steps.is_multiple_of(self.config.every);
        self.steps += 1;
        if !keep {
            return Ok(());
        }
        let started = std::time::Instant::now();
        self.state
            .set_state(state, MjtState::mjSTATE_INTEGRATION as u32)
            .map_err(|e| EnvError::Parameter(format!("video: {e:?}")))?;
        self.state.forward();
        self.renderer
            .sync_data(&mut self.state)
            .map_err(render_error)?;
        self.renderer.render().map_err(render_error)?;
        let rgb = self
            .renderer
            .rgb_flat()
            .ok_or_else(|| render_error(RendererError::RgbDisabled))?;
        self.frames.push(rgb.to_vec());
        self.render_seconds += started.elapsed().as_secs_f64();
        Ok(())
    }

    /// The frames so far, each `height` rows of `width` RGB pixels, top row first.
    pub fn frames(&self) -> &[Vec<u8>] {
        &self.frames
    }

    /// Frames rendered per second of rendering (state copy, scene update, render, read-back).
    pub fn render_rate(&self) -> f64 {
        self.frames.len() as f64 / self.render_seconds.max(1e-9)
    }

    /// Frame size (width, height).
    pub fn size(&self) -> (usize, usize) {
        (self.config.width, self.config.height)
    }

    /// Forgets the frames (for the next episode).
    pub fn clear(&mut self) {
        self.frames.clear();
        self.steps = 0;
    }

    /// Writes the frames to `path` at `fps` frames per second: an animated GIF for `.gif`, an
    /// MP4 (H.264, through `ffmpeg` on the PATH) for `.mp4`.
    pub fn save(&self, path: impl AsRef<Path>, fps: f64) -> Result<()> {
        let path = path.as_ref();
        if self.frames.is_empty() {
            return Err(video_file_error(path, "no frames were captured"));
        }
        match path.extension().and_then(|e| e.to_str()) {
            Some("gif") => self.save_gif(path, fps),
            Some("mp4") => self.save_mp4(path, fps),
            _ => Err(video_file_error(path, "the file must end in .gif or .mp4")),
        }
    }

    fn save_gif(&self, path: &Path, fps: f64) -> Result<()> {
        let fail = |e: &dyn std::fmt::Display| video_file_error(path, e);
        let file = std::fs::File::create(path).map_err(|e| fail(&e))?;
        let (w, h) = (self.config.width as u16, self.config.height as u16);
        let mut encoder =
            gif::Encoder::new(std::io::BufWriter::new(file), w, h, &[]).map_err(|e| fail(&e))?;
        encoder
            .set_repeat(gif::Repeat::Infinite)
            .map_err(|e| fail(&e))?;
        // GIF delays are in hundredths of a second.
        let delay = (100.0 / fps).round().max(1.0) as u16;
        for rgb in &self.frames {
            let mut frame = gif::Frame::from_rgb_speed(w, h, rgb, 10);
            frame.delay = delay;
            encoder.write_frame(&frame).map_err(|e| fail(&e))?;
        }
        Ok(())
    }

    fn save_mp4(&self, path: &Path, fps: f64) -> Result<()> {
        let fail = |e: &dyn std::fmt::Display| video_file_error(path, e);
        let size = format!("{}x{}", self.config.width, self.config.height);
        let mut ffmpeg = Command::new("ffmpeg")
            .args([
                "-y",
                "-loglevel",
                "error",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "rgb24",
                "-s",
            ])
            .arg(&size)
            .args(["-r", &fps.to_string(), "-i", "-", "-pix_fmt", "yuv420p"])
            .arg(path)
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|e| fail(&format!("cannot run ffmpeg (is it on the PATH?): {e}")))?;
        let mut stdin = ffmpeg.stdin.take().expect("piped");
        for rgb in &self.frames {
            stdin.write_all(rgb).map_err(|e| fail(&e))?;
        }
        drop(stdin);
        let status = ffmpeg.wait().map_err(|e| fail(&e))?;
        if !status.success() {
            return Err(fail(&format!("ffmpeg failed ({status})")));
        }
        Ok(())
    }
}

/// MuJoCo's offscreen renderer for `model` with `config`'s size and camera.
fn renderer_for(model: &Arc<MjModel>, config: &VideoConfig) -> Result<MjRenderer> {
    let global = &model.vis().global;
    let (max_width, max_height) = (global.offwidth as usize, global.offheight as usize);
    if config.width > max_width || config.height > max_height {
        return Err(EnvError::Parameter(format!(
            "video: {}x{} is larger than the model's offscreen buffer {max_width}x{max_height} \
             (<visual><global offwidth=.. offheight=../></visual> in its MJCF)",
            config.width, config.height
        )));
    }
    let mut camera = match &config.camera {
        CameraView::Fixed => MjvCamera::new_free(model),
        CameraView::Tracking(body) => {
            let id = model
                .name_to_id(MjtObjBase::mjOBJ_BODY, body)
                .ok_or_else(|| {
                    EnvError::Parameter(format!("video: the model has no body '{body}' to track"))
                })?;
            let mut camera = MjvCamera::new_tracking(id);
            camera.distance = 3.0;
            camera
        }
    };
    if let Some(distance) = config.distance {
        camera.distance = distance;
    }
    camera.azimuth = config.azimuth;
    camera.elevation = config.elevation;
    MjRenderer::builder()
        .width(config.width as u32)
        .height(config.height as u32)
        .camera(camera)
        .build(model)
        .map_err(render_error)
}

/// The MuJoCo simulation behind `env`, or an error saying it has none.
pub(crate) fn mujoco_of(env: &impl Env) -> Result<&MujocoSim> {
    env.sim().ok_or_else(|| {
        EnvError::Render("this environment has no MuJoCo simulation to render".into())
    })
}

fn render_error(e: RendererError) -> EnvError {
    let detail = match &e {
        RendererError::GlutinError(inner) => format!(": {inner}"),
        _ => String::new(),
    };
    EnvError::Render(format!(
        "{e}{detail} (headless rendering needs EGL and an OpenGL driver: on Debian/Ubuntu \
         apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri)"
    ))
}

fn video_file_error(path: &Path, message: impl ToString) -> EnvError {
    EnvError::Render(format!("{}: {}", path.display(), message.to_string()))
}
