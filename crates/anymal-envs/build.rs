//! Provides MuJoCo 3.17.0's shared library, so that a fresh checkout builds and runs with no
//! manual step: the library is taken from the PyPI wheel `mujoco==3.17.0` (downloaded with
//! `python3 -m pip download`) into this build's output folder, put on the linker's search path
//! and on the run-time search path (rpath) of this package's binaries. Dependent packages set
//! the rpath of theirs from `DEP_ANYMAL_MUJOCO_LIB_DIR`.
//!
//! mujoco-rs links `-lmujoco` from `MUJOCO_DYNAMIC_LINK_DIR` (set in `.cargo/config.toml` to
//! `crates/anymal-envs/mujoco`, whose `libmujoco.so` is a linker script naming
//! `libmujoco.so.3.17.0`). If `MUJOCO_DYNAMIC_LINK_DIR` points to a real MuJoCo instead, that
//! one is used and nothing is downloaded.

use std::path::{Path, PathBuf};
use std::process::Command;

const VERSION: &str = "3.17.0";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=MUJOCO_DYNAMIC_LINK_DIR");
    let lib_dir = match user_mujoco() {
        Some(dir) => dir,
        None => fetch_from_wheel(),
    };
    println!("cargo:rustc-link-search=native={}", lib_dir.display());
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib_dir.display());
    println!("cargo:lib_dir={}", lib_dir.display());
}

/// The folder of a real MuJoCo the user pointed MUJOCO_DYNAMIC_LINK_DIR to, if any.
fn user_mujoco() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("MUJOCO_DYNAMIC_LINK_DIR")?);
    // Read at run time: a compiled build script can be reused for a checkout at another path
    // (a shared CARGO_TARGET_DIR), where `env!` would still name the first one.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let ours = Path::new(&manifest_dir).join("mujoco");
    (dir.canonicalize().ok()? != ours.canonicalize().ok()?).then_some(dir)
}

fn fetch_from_wheel() -> PathBuf {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("mujoco");
    let library = out.join(format!("libmujoco.so.{VERSION}"));
    if library.is_file() {
        return out;
    }
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        panic!(
            "anymal-envs fetches MuJoCo automatically on Linux only; elsewhere install MuJoCo {VERSION} \
             and set MUJOCO_DYNAMIC_LINK_DIR to its lib/ folder"
        );
    }
    let wheels = out.join("wheel");
    std::fs::create_dir_all(&wheels).expect("create the MuJoCo download folder");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
        ])
        .arg(format!("mujoco=={VERSION}"))
        .arg("-d")
        .arg(&wheels));
    let extract = format!(
        "import glob, sys, zipfile\n\
         wheel = glob.glob(sys.argv[1] + '/mujoco-{VERSION}-*.whl')[0]\n\
         data = zipfile.ZipFile(wheel).read('mujoco/libmujoco.so.{VERSION}')\n\
         open(sys.argv[2] + '.part', 'wb').write(data)\n"
    );
    run(Command::new(&python)
        .args(["-c", &extract])
        .arg(&wheels)
        .arg(&library));
    std::fs::rename(format!("{}.part", library.display()), &library)
        .expect("move the MuJoCo library into place");
    let _ = std::fs::remove_dir_all(&wheels);
    out
}

fn run(command: &mut Command) {
    let status = command.status().unwrap_or_else(|e| {
        panic!("cannot run {command:?} to fetch MuJoCo {VERSION}: {e} (python3 with pip is needed)")
    });
    assert!(
        status.success(),
        "{command:?} failed ({status}); MuJoCo {VERSION} comes from the PyPI wheel mujoco=={VERSION}, \
         or set MUJOCO_DYNAMIC_LINK_DIR to a MuJoCo {VERSION} lib/ folder"
    );
}
