//! Sets the run-time search path (rpath) of this package's examples and tests to the folder of
//! MuJoCo's shared library, which the anymal-envs build script provides.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_ANYMAL_MUJOCO_LIB_DIR");
    if let Ok(dir) = std::env::var("DEP_ANYMAL_MUJOCO_LIB_DIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
