//! Videos of MuJoCo rollouts: frames from MuJoCo's renderer (headless through EGL; Mesa's
//! software OpenGL on a machine without a GPU), GIF files, the recording wrapper, and the error
//! when no renderer can be made.

use anymal::envs::video::{VideoConfig, VideoRecorder};
use anymal::envs::wrappers::{RecordVideo, TimeLimit};
use anymal::envs::{Env, PendulumVersion, make_inverted_pendulum};

fn small() -> VideoConfig {
    VideoConfig {
        width: 160,
        height: 120,
        ..VideoConfig::default()
    }
}

/// Pixels of `frame` (`width` x `height` RGB, top row first) inside the box of fractions
/// `[x0, x1) x [y0, y1)` that differ from the top-left pixel (the background).
fn differing(frame: &[u8], (width, height): (usize, usize), x: (f64, f64), y: (f64, f64)) -> usize {
    let background = &frame[..3];
    let rows = (y.0 * height as f64) as usize..(y.1 * height as f64) as usize;
    rows.flat_map(|row| {
        let columns = (x.0 * width as f64) as usize..(x.1 * width as f64) as usize;
        columns.map(move |column| (row, column))
    })
    .filter(|&(row, column)| {
        let at = 3 * (row * width + column);
        &frame[at..at + 3] != background
    })
    .count()
}

#[test]
fn a_pendulum_frame_has_the_size_asked_and_shows_the_pole_where_the_model_puts_it() {
    let mut env = make_inverted_pendulum(PendulumVersion::V4);
    env.reset(Some(0));
    let mut recorder = VideoRecorder::for_env(&env, &small()).unwrap();
    recorder.capture_env(&env).unwrap();
    let frame = &recorder.frames()[0];
    assert_eq!(frame.len(), 160 * 120 * 3);
    let size = recorder.size();
    // The upright pole stands above the cart in the middle of the picture; the top corners
    // and the bottom band show the background.
    let pole = differing(frame, size, (0.45, 0.6), (0.25, 0.45));
    assert!(pole > 20, "{pole} pole pixels");
    assert_eq!(differing(frame, size, (0.0, 0.15), (0.0, 0.15)), 0);
    assert_eq!(differing(frame, size, (0.0, 1.0), (0.85, 1.0)), 0);
    // Tilting the pole moves its pixels: the frames differ.
    env.inner_mut().set_state(&[0.0, 0.6], &[0.0, 0.0]).unwrap();
    recorder.capture_env(&env).unwrap();
    assert_ne!(recorder.frames()[0], recorder.frames()[1]);
}

#[test]
fn record_video_writes_every_kth_episode_as_a_gif_of_its_steps() {
    let dir = tempfile::tempdir().unwrap();
    let env = TimeLimit::new(make_inverted_pendulum(PendulumVersion::V4), 5);
    let mut env = RecordVideo::new(env, dir.path(), 2, &small()).unwrap();
    for episode in 0..3 {
        env.reset(Some(episode));
        while !env.step(&[0.0]).unwrap().done() {}
    }
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["episode-0.gif", "episode-2.gif"]);
    // The reset and the five steps, 160 x 120.
    let file = std::fs::File::open(dir.path().join("episode-2.gif")).unwrap();
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut decoder = options.read_info(file).unwrap();
    assert_eq!((decoder.width(), decoder.height()), (160, 120));
    let mut frames = 0;
    while decoder.read_next_frame().unwrap().is_some() {
        frames += 1;
    }
    assert_eq!(frames, 6);
}

#[test]
fn bad_video_settings_are_named() {
    let env = make_inverted_pendulum(PendulumVersion::V4);
    let too_big = VideoConfig {
        width: 4000,
        ..VideoConfig::default()
    };
    let err = VideoRecorder::for_env(&env, &too_big)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("4000x480") && err.contains("offwidth"),
        "{err}"
    );
    let no_body = VideoConfig::tracking("no_such_body", 2.0);
    let err = VideoRecorder::for_env(&env, &no_body)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("no body 'no_such_body'"), "{err}");
    let recorder = VideoRecorder::for_env(&env, &small()).unwrap();
    let err = recorder.save("clip.avi", 25.0).unwrap_err().to_string();
    assert!(err.contains("no frames"), "{err}");
}
