//! The error type of `anymal-core`.

use std::path::PathBuf;

/// Everything that can go wrong in `anymal-core`, each variant naming what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input tensor has the wrong shape.
    #[error("{input}: expected shape {expected}, got {actual:?}")]
    Shape {
        /// Which input (proprio, extero, privileged, hiddens, ...).
        input: &'static str,
        /// The expected shape, `B` standing for the batch size.
        expected: String,
        /// The shape that was given.
        actual: Vec<usize>,
    },
    /// An input tensor lives on another device than the model's parameters.
    #[error("{input}: the model is on {expected} but the tensor is on {actual}")]
    Device {
        /// Which input.
        input: &'static str,
        /// The model's device.
        expected: String,
        /// The tensor's device.
        actual: String,
    },
    /// A device name that this build does not know.
    #[error("unknown device '{name}': valid devices are {valid}")]
    UnknownDevice {
        /// The name that was given.
        name: String,
        /// The names this build accepts.
        valid: String,
    },
    /// A configuration value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A file could not be read, written or applied to a model.
    #[error("{}: {message}", path.display())]
    File {
        /// The file concerned.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn file(path: impl Into<PathBuf>, message: impl ToString) -> Self {
        Error::File {
            path: path.into(),
            message: message.to_string(),
        }
    }
}
