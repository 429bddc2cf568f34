//! What the examples' command lines share.

use std::process::ExitCode;

/// An example's outcome as its exit code: on an error, prints the error's message (its
/// `Display`, not the `Debug` form that returning it from `main` prints) and exits with 1.
pub fn report(result: Result<(), Box<dyn std::error::Error>>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Creates the output folder `dir` and checks that a file can be written in it, before any
/// work is done, so that a bad `--out` fails at once with the path in the message instead of
/// after a whole training run.
pub fn output_dir(dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let probe = dir.join(".anymal_write_check");
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| format!("cannot write into {}: {e}", dir.display()))?;
    Ok(())
}

/// Checks, before any work, that the file `path` can be written: its folder is created and
/// probed as [`output_dir`] does.
pub fn output_file(path: impl AsRef<std::path::Path>) -> Result<(), Box<dyn std::error::Error>> {
    let path = path.as_ref();
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => output_dir(dir),
        _ => output_dir(std::path::Path::new(".")),
    }
}

/// One gain per observation entry (an alias, so that clap parses a list as one value).
pub type Gains = Vec<f64>;

/// Four comma-separated gains, one per entry of a four-entry observation (`--kp -1,-10,0,0`).
pub fn four_gains(text: &str) -> Result<Gains, String> {
    let values: Vec<f64> = text
        .split(',')
        .map(|v| v.trim().parse::<f64>().map_err(|e| format!("'{v}': {e}")))
        .collect::<Result<_, _>>()?;
    if values.len() != 4 {
        return Err(format!(
            "expected 4 comma-separated gains, got {}",
            values.len()
        ));
    }
    Ok(values)
}

/// `--render`: how to show a rollout while it runs (Gymnasium's `render_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RenderMode {
    /// MuJoCo's viewer window, in real time (needs a display).
    Human,
}

/// What `--video FILE` and `--render human` ask of a rollout: a recorder, a live viewer, both
/// or neither. Made before any work, so that an unwritable file, a missing EGL or a missing
/// display fails at once; the viewer's window opens at the first step it shows.
pub struct Watch {
    video: Option<(anymal_envs::video::VideoRecorder, std::path::PathBuf)>,
    show: bool,
    viewer: Option<anymal_envs::viewer::LiveViewer>,
}

impl Watch {
    /// Checks that `video` can be written and rendered with `config` for `env`'s model, and
    /// that a display exists for `render`.
    pub fn new(
        video: Option<&std::path::Path>,
        render: Option<RenderMode>,
        env: &impl anymal_envs::Env,
        config: &anymal_envs::video::VideoConfig,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let video = match video {
            Some(path) => {
                output_file(path)?;
                let recorder = anymal_envs::video::VideoRecorder::for_env(env, config)?;
                Some((recorder, path.to_path_buf()))
            }
            None => None,
        };
        let show = render == Some(RenderMode::Human);
        if show {
            anymal_envs::viewer::check_display()?;
        }
        Ok(Self {
            video,
            show,
            viewer: None,
        })
    }

    /// After a step of `env`: captures a frame and shows the state (a closed window is left
    /// closed).
    pub fn step(&mut self, env: &impl anymal_envs::Env) -> anymal_envs::Result<()> {
        if let Some((recorder, _)) = &mut self.video {
            recorder.capture_env(env)?;
        }
        if self.show {
            let viewer = match &mut self.viewer {
                Some(viewer) => viewer,
                None => self
                    .viewer
                    .insert(anymal_envs::viewer::LiveViewer::for_env(env)?),
            };
            viewer.show_env(env)?;
        }
        Ok(())
    }

    /// Writes the frames captured since the last save to the video file, with `suffix`
    /// added to its name when given (`run.gif` and `flat` give `run_flat.gif`), for an
    /// environment stepped every `dt` seconds, and says so.
    pub fn save_video(
        &mut self,
        suffix: Option<&str>,
        dt: f64,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let Some((recorder, path)) = &mut self.video else {
            return Ok(());
        };
        let path = match suffix {
            Some(suffix) => {
                let stem = path.file_stem().unwrap_or_default().to_string_lossy();
                let extension = path.extension().unwrap_or_default().to_string_lossy();
                path.with_file_name(format!("{stem}_{suffix}.{extension}"))
            }
            None => path.clone(),
        };
        recorder.save(&path, recorder.fps(dt))?;
        println!(
            "video: {} ({} frames, rendered at {:.0} frames/s)",
            path.display(),
            recorder.frames().len(),
            recorder.render_rate()
        );
        recorder.clear();
        Ok(())
    }
}
