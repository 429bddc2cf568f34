//! The example programs as a user runs them: mistakes on the command line end at once with a
//! readable message naming what was wrong (the examples are built by `cargo test`).

use std::path::PathBuf;
use std::process::{Command, Output};

/// The built example `name`, ready to run.
fn example_command(name: &str) -> Command {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> -> target/<profile>/examples/<name>
    let path: PathBuf = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(path.exists(), "{} is not built", path.display());
    Command::new(&path)
}

/// Runs the built example `name` with `args`.
fn example(name: &str, args: &[&str]) -> Output {
    example_command(name).args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_bad_output_folder_fails_before_training_and_names_the_path() {
    let started = std::time::Instant::now();
    let out = example(
        "pendulum_ppo",
        &["--out", "/proc/anymal-out", "--total-steps", "100000"],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("/proc/anymal-out"), "{err}");
    assert!(started.elapsed().as_secs() < 20, "it trained first");
}

#[test]
fn errors_are_printed_as_messages_not_debug_forms() {
    let out = example("pendulum_ppo", &["--device", "tpu"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.starts_with("error: ") && err.contains("tpu"), "{err}");
    assert!(!err.contains("UnknownDevice {"), "{err}");
}

#[test]
fn negative_numbers_reach_the_program_and_its_checks() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let out = example("pendulum_ppo", &["--clip-range", "-0.1", "--out", out_dir]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(!err.contains("unexpected argument"), "{err}");
    assert!(err.contains("clip_range"), "{err}");
}

#[test]
fn help_says_what_each_program_does() {
    for (name, words) in [
        ("anymal_teacher", "Train the paper's teacher"),
        ("anymal_eval", "Evaluate a trained teacher"),
        ("pendulum_ppo", "Train PPO on InvertedPendulum"),
    ] {
        let out = example(name, &["--help"]);
        assert!(out.status.success());
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains(words), "{name}: {help}");
    }
}

#[test]
fn without_egl_a_video_request_fails_at_once_saying_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let video = dir.path().join("run.gif");
    let started = std::time::Instant::now();
    // glvnd finds no EGL vendor: as on a machine without Mesa's EGL.
    let out = example_command("pendulum_ppo")
        .args(["--out", out_dir, "--video", video.to_str().unwrap()])
        .env(
            "__EGL_VENDOR_LIBRARY_FILENAMES",
            "/nonexistent/egl_vendor.json",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.starts_with("error: rendering:") && err.contains("EGL"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(started.elapsed().as_secs() < 20, "it trained first");
}

#[test]
fn without_a_display_the_live_viewer_request_fails_at_once_naming_the_variables() {
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let out = example_command("pendulum_ppo")
        .args(["--out", dir.path().to_str().unwrap(), "--render", "human"])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.starts_with("error: rendering: the live viewer needs a display")
            && err.contains("DISPLAY")
            && err.contains("--video"),
        "{err}"
    );
    assert!(started.elapsed().as_secs() < 20, "it trained first");
}
