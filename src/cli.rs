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

/// The recorder for `--video FILE`: checks that FILE can be written and that a renderer can be
/// made for `env`, before any work; `None` without the option.
pub fn video_recorder(
    video: Option<&std::path::Path>,
    env: &impl anymal_envs::Env,
    config: &anymal_envs::video::VideoConfig,
) -> Result<Option<anymal_envs::video::VideoRecorder>, Box<dyn std::error::Error>> {
    let Some(path) = video else {
        return Ok(None);
    };
    output_file(path)?;
    Ok(Some(anymal_envs::video::VideoRecorder::for_env(
        env, config,
    )?))
}

/// Writes the frames of `recorder` to `path`, for an environment stepped every `dt` seconds,
/// and says so.
pub fn save_video(
    recorder: &anymal_envs::video::VideoRecorder,
    path: &std::path::Path,
    dt: f64,
) -> Result<(), Box<dyn std::error::Error>> {
    recorder.save(path, recorder.fps(dt))?;
    println!(
        "video: {} ({} frames, rendered at {:.0} frames/s)",
        path.display(),
        recorder.frames().len(),
        recorder.render_rate()
    );
    Ok(())
}
