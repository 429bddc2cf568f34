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
