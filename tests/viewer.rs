//! The live viewer (`--render human`) on a virtual X display: the window opens for the
//! pendulum, paces the rollout to real time, follows a switch to another model (the Upkie
//! biped) and reports itself open; without a display the request is refused, naming the
//! variables. Needs `Xvfb` (apt-get install xvfb).
//!
//! This file runs without the test harness (`harness = false`): winit opens windows only from
//! a program's main thread, and the harness runs tests on other threads.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anymal::envs::upkie::{UpkieConfig, UpkieGroundVelocity};
use anymal::envs::viewer::LiveViewer;
use anymal::envs::{Env, PendulumVersion, make_inverted_pendulum};

/// An Xvfb server on a free display number, stopped when dropped.
struct VirtualDisplay {
    server: Child,
    name: String,
}

impl VirtualDisplay {
    fn start() -> Self {
        let number = (90..200)
            .find(|n| {
                !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                    && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
            })
            .expect("a free X display number");
        let name = format!(":{number}");
        let server = Command::new("Xvfb")
            .args([&name, "-screen", "0", "1280x1024x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the viewer test needs Xvfb (apt-get install xvfb)");
        let socket = format!("/tmp/.X11-unix/X{number}");
        let started = Instant::now();
        while !Path::new(&socket).exists() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "Xvfb did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { server, name }
    }
}

impl Drop for VirtualDisplay {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn main() {
    // SAFETY (for set_var/remove_var): this program has one thread until the viewer opens.
    unsafe {
        std::env::remove_var("DISPLAY");
        std::env::remove_var("WAYLAND_DISPLAY");
    }
    let mut env = make_inverted_pendulum(PendulumVersion::V4);
    env.reset(Some(0));
    let refused = LiveViewer::for_env(&env)
        .err()
        .expect("no display")
        .to_string();
    assert!(
        refused.contains("neither DISPLAY nor WAYLAND_DISPLAY"),
        "{refused}"
    );
    println!("test without a display ... ok");

    let display = VirtualDisplay::start();
    unsafe { std::env::set_var("DISPLAY", &display.name) };
    let mut viewer = LiveViewer::for_env(&env).expect("a window on Xvfb");
    let started = Instant::now();
    let steps = 25;
    for _ in 0..steps {
        env.step(&[0.1]).unwrap();
        assert!(viewer.show_env(&env).unwrap(), "the window closed");
    }
    // Real time: 24 intervals of the env's 0.04 s step (the first frame is shown at once).
    let elapsed = started.elapsed().as_secs_f64();
    let expected = (steps - 1) as f64 * env.dt();
    assert!(
        elapsed >= 0.95 * expected && elapsed < expected + 5.0,
        "{steps} frames took {elapsed:.2} s, expected {expected:.2} s"
    );
    println!("test pendulum window, paced to real time ({elapsed:.2} s) ... ok");

    let mut upkie = UpkieGroundVelocity::new(UpkieConfig::v1()).unwrap();
    upkie.reset(Some(0));
    for _ in 0..5 {
        upkie.step(&[0.0]).unwrap();
        assert!(viewer.show_env(&upkie).unwrap());
    }
    assert!(viewer.is_open());
    println!("test switch to another model ... ok");
    drop(viewer);
    drop(display);
}
