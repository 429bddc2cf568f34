//! The error type of `anymal-envs`.

use std::path::PathBuf;

/// What can go wrong with an environment, each variant naming what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    /// An action of the wrong length.
    #[error("action has {got} values, the action space has {expected}")]
    ActionLength {
        /// The action space's dimension.
        expected: usize,
        /// The action's length.
        got: usize,
    },
    /// An action holding NaN or an infinity.
    #[error("action[{index}] is {value}: actions must be finite")]
    NonFiniteAction {
        /// Where the bad value is.
        index: usize,
        /// The bad value.
        value: f64,
    },
    /// `step` before the first `reset`.
    #[error("step called before reset: call reset first")]
    ResetNeeded,
    /// A MuJoCo model file that is missing or invalid.
    #[error("MuJoCo model {}: {message}", path.display())]
    Model {
        /// The file (or `<string>` for XML given in memory).
        path: PathBuf,
        /// MuJoCo's message.
        message: String,
    },
    /// A MuJoCo state of the wrong size.
    #[error("{what} has {got} values, the model has {expected}")]
    StateLength {
        /// `qpos` or `qvel`.
        what: &'static str,
        /// The model's size.
        expected: usize,
        /// The given size.
        got: usize,
    },
    /// Rendering or writing a video failed; the message says what is missing.
    #[error("rendering: {0}")]
    Render(String),
    /// A parameter out of its valid range.
    #[error("invalid parameter: {0}")]
    Parameter(String),
}

/// `Result` with [`EnvError`].
pub type Result<T> = std::result::Result<T, EnvError>;
