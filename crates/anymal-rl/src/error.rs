//! The error type of `anymal-rl`.

use std::path::PathBuf;

/// Everything that can go wrong while training, each variant naming what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum RlError {
    /// An environment refused an action or was used wrongly.
    #[error(transparent)]
    Env(#[from] anymal_envs::EnvError),
    /// A network refused its input or could not be built, saved or loaded.
    #[error(transparent)]
    Model(#[from] anymal_core::Error),
    /// A hyperparameter is out of range or inconsistent with the environment.
    #[error("invalid training configuration: {0}")]
    Config(String),
    /// Observations, actions or a network that do not fit each other, or an input that is not
    /// finite; the message names what and where.
    #[error("{0}")]
    Input(String),
    /// A log, checkpoint or policy file could not be read or written.
    #[error("{}: {message}", path.display())]
    File {
        /// The file concerned.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A loss or statistic became NaN or infinite: training stopped instead of going on with
    /// garbage.
    #[error("training diverged: {0}")]
    NonFinite(String),
}

/// `Result` with [`RlError`].
pub type Result<T> = std::result::Result<T, RlError>;

impl RlError {
    pub(crate) fn file(path: impl Into<PathBuf>, message: impl ToString) -> Self {
        RlError::File {
            path: path.into(),
            message: message.to_string(),
        }
    }
}
