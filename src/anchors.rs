//! The benchmarks' anchors: short Python programs (`benches/anchors/`) that measure what a
//! benchmark compares itself with (Gymnasium's env, MuJoCo's Python loop) on the reader's
//! machine, in the same run as the Rust side.
//!
//! [`Anchors::prepare`] makes a virtual environment with the pinned versions of
//! `benches/anchors/requirements.txt` (with `python3 -m venv` and pip, once; later runs only
//! check it) and [`Anchors::run`] runs one program there, reading the JSON object it prints
//! last. Without anchors, a benchmark's table says [`NOT_MEASURED`] instead of a ratio.

use std::path::{Path, PathBuf};
use std::process::Command;

type BoxError = Box<dyn std::error::Error>;

/// What a table shows where no anchor ran.
pub const NOT_MEASURED: &str = "anchor not measured on this machine (--anchors)";

/// The folder of the anchor programs and their requirements.
pub fn anchor_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/anchors")
}

/// The benchmarks' `--anchors` and `--anchor-venv` options.
#[derive(Debug, Clone, clap::Args)]
pub struct AnchorArgs {
    /// Also measure the anchor (the Python reference) in the same run, in a virtual
    /// environment with pinned versions (benches/anchors/requirements.txt).
    #[arg(long)]
    pub anchors: bool,
    /// The anchors' virtual environment (made when missing; default
    /// ~/.cache/anymal-anchors/venv).
    #[arg(long)]
    pub anchor_venv: Option<PathBuf>,
}

impl AnchorArgs {
    /// The prepared environment with `--anchors`, else `None`.
    pub fn prepare(&self) -> Result<Option<Anchors>, BoxError> {
        match self.anchors {
            true => Ok(Some(Anchors::prepare(self.anchor_venv.as_deref())?)),
            false => Ok(None),
        }
    }
}

/// A virtual environment with the anchors' pinned packages.
pub struct Anchors {
    python: PathBuf,
}

impl Anchors {
    /// The environment in `venv` (default: `~/.cache/anymal-anchors/venv`), created and filled
    /// from the requirements when they differ from what it was filled with.
    pub fn prepare(venv: Option<&Path>) -> Result<Self, BoxError> {
        let venv = match venv {
            Some(dir) => dir.to_path_buf(),
            None => {
                let home = std::env::var_os("HOME").ok_or("HOME is not set: give --anchor-venv")?;
                PathBuf::from(home).join(".cache/anymal-anchors/venv")
            }
        };
        let requirements = anchor_dir().join("requirements.txt");
        let wanted = std::fs::read_to_string(&requirements)
            .map_err(|e| format!("{}: {e}", requirements.display()))?;
        let python = venv.join("bin/python");
        let stamp = venv.join("anymal-requirements.txt");
        if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
            return Ok(Self { python });
        }
        if !python.exists() {
            println!("anchors: creating {}", venv.display());
            run_checked(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        }
        println!("anchors: installing {}", requirements.display());
        run_checked(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(&requirements),
        )?;
        std::fs::write(&stamp, wanted).map_err(|e| format!("{}: {e}", stamp.display()))?;
        Ok(Self { python })
    }

    /// Runs the anchor program `script` with `args` and returns the JSON object it printed last.
    pub fn run(&self, script: &str, args: &[String]) -> Result<serde_json::Value, BoxError> {
        let path = anchor_dir().join(script);
        let out = Command::new(&self.python)
            .arg(&path)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", path.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} failed ({}): {}",
                path.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        last_json(&String::from_utf8_lossy(&out.stdout))
            .map_err(|e| format!("{}: {e}", path.display()).into())
    }

    /// [`Anchors::run`], reading the number `key` of its result.
    pub fn measure(&self, script: &str, args: &[String], key: &str) -> Result<f64, BoxError> {
        let result = self.run(script, args)?;
        result[key]
            .as_f64()
            .ok_or_else(|| format!("{script} printed no number '{key}': {result}").into())
    }
}

/// The JSON object on the last line of `stdout`.
fn last_json(stdout: &str) -> Result<serde_json::Value, String> {
    let last = stdout.lines().last().unwrap_or_default();
    match serde_json::from_str::<serde_json::Value>(last) {
        Ok(value) if value.is_object() => Ok(value),
        Ok(_) | Err(_) => Err(format!("its last line '{last}' is not a JSON object")),
    }
}

fn run_checked(command: &mut Command) -> Result<(), BoxError> {
    let status = command
        .status()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if !status.success() {
        return Err(format!("{command:?} failed ({status})").into());
    }
    Ok(())
}

/// A table cell comparing `value` with an anchor: `"{anchor} ({value / anchor:.2}x)"`, or
/// [`NOT_MEASURED`].
pub fn versus(value: f64, anchor: Option<f64>) -> String {
    match anchor {
        Some(anchor) => format!("{anchor:.0} ({:.2}x)", value / anchor),
        None => NOT_MEASURED.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_line_is_the_result_and_a_missing_anchor_is_said() {
        let value = last_json("warming up\n{\"steps_per_second\": 43680.5}").unwrap();
        assert_eq!(value["steps_per_second"].as_f64(), Some(43680.5));
        assert!(
            last_json("Traceback ...")
                .unwrap_err()
                .contains("'Traceback ...'")
        );
        assert!(last_json("[1, 2]").is_err());
        assert_eq!(versus(135743.0, Some(43680.0)), "43680 (3.11x)");
        assert_eq!(versus(1.0, None), NOT_MEASURED);
        assert!(anchor_dir().join("requirements.txt").exists());
    }
}
