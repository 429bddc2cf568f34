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
