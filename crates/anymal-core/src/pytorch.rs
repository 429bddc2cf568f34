//! Importing weights saved by the PyTorch package (`torch.save(model.state_dict())` `.pt` files
//! and safetensors), by renaming its `state_dict()` keys to this crate's parameter paths.
//! burn-store reads the files and transposes Linear weights (PyTorch's `[out, in]`).

use std::path::Path;

use burn::store::{ModuleSnapshot, PyTorchToBurnAdapter, PytorchStore, SafetensorsStore};

use crate::anymal::Anymal;
use crate::error::{Error, Result};
use crate::io::SavedModel;
use crate::student::{BeliefLayout, Student};
use crate::teacher::Teacher;

/// PyTorch package names (left) to this crate's paths (right), applied in order; the
/// `nn.Sequential` indices (0, 2, 4 around the activations) are then made contiguous.
const KEY_RENAMES: [(&str, &str); 14] = [
    (r"(^|\.)to_logits\.net\.", "${1}trunk.layers."),
    (r"(^|\.)to_action_head\.\d+\.", "${1}action_head.linear."),
    (r"(^|\.)to_value_head\.\d+\.", "${1}value_head."),
    (
        r"(^|\.)gru_cells\.(\d+)\.weight_ih$",
        "${1}belief_encoder.gru.cells.${2}.input.weight",
    ),
    (
        r"(^|\.)gru_cells\.(\d+)\.bias_ih$",
        "${1}belief_encoder.gru.cells.${2}.input.bias",
    ),
    (
        r"(^|\.)gru_cells\.(\d+)\.weight_hh$",
        "${1}belief_encoder.gru.cells.${2}.hidden.weight",
    ),
    (
        r"(^|\.)gru_cells\.(\d+)\.bias_hh$",
        "${1}belief_encoder.gru.cells.${2}.hidden.bias",
    ),
    (
        r"(^|\.)belief_state_encoder\.net\.",
        "${1}belief_encoder.state.layers.",
    ),
    (
        r"(^|\.)to_latent_extero_attn_gate\.net\.",
        "${1}belief_encoder.gate.layers.",
    ),
    (
        r"(^|\.)privileged_decoder\.net\.",
        "${1}belief_decoder.privileged.layers.",
    ),
    (
        r"(^|\.)extero_decoder\.net\.",
        "${1}belief_decoder.extero.layers.",
    ),
    (
        r"(^|\.)to_extero_attn_gate\.net\.",
        "${1}belief_decoder.extero_gate.layers.",
    ),
    (r"(^|\.)extero_encoder\.net\.", "${1}extero_encoder.layers."),
    (
        r"(^|\.)privileged_encoder\.net\.",
        "${1}privileged_encoder.layers.",
    ),
];

/// A model that PyTorch package weights can be imported into.
pub trait PytorchImport: SavedModel + ModuleSnapshot {
    /// The prefix of this model's keys in an `Anymal` state dict (`teacher.`, `student.`).
    const ANYMAL_PREFIX: Option<&'static str>;
    /// Whether this model's student adds the gated extero latent as the package does.
    fn has_package_layout(&self) -> bool;
}

impl PytorchImport for Teacher {
    const ANYMAL_PREFIX: Option<&'static str> = Some("teacher.");
    fn has_package_layout(&self) -> bool {
        true
    }
}

impl PytorchImport for Student {
    const ANYMAL_PREFIX: Option<&'static str> = Some("student.");
    fn has_package_layout(&self) -> bool {
        self.config().belief_layout == BeliefLayout::Package
    }
}

impl PytorchImport for Anymal {
    const ANYMAL_PREFIX: Option<&'static str> = None;
    fn has_package_layout(&self) -> bool {
        self.config().belief_layout == BeliefLayout::Package
    }
}

/// Loads the PyTorch package's weights from `path` (`.pt`/`.pth` or `.safetensors`) into
/// `model`. The file may hold the model's own state dict or a whole `Anymal`'s (a teacher or
/// student then takes its part). Parameters the package does not have (observation statistics,
/// a Gaussian log-std) keep their values. The model must use [`BeliefLayout::Package`].
pub fn import_pytorch<M: PytorchImport>(mut model: M, path: impl AsRef<Path>) -> Result<M> {
    let path = path.as_ref();
    if !model.has_package_layout() {
        return Err(Error::Config(
            "weights from the PyTorch package need belief_layout = BeliefLayout::Package".into(),
        ));
    }
    if !path.is_file() {
        return Err(Error::file(path, "no such file"));
    }
    let renames = M::ANYMAL_PREFIX
        .map(|prefix| (format!("^{}", regex_escape(prefix)), String::new()))
        .into_iter()
        .chain(
            KEY_RENAMES
                .iter()
                .map(|(from, to)| (from.to_string(), to.to_string())),
        );
    let is_safetensors = path.extension().is_some_and(|e| e == "safetensors");
    let applied = if is_safetensors {
        let mut store = SafetensorsStore::from_file(path)
            .with_from_adapter(PyTorchToBurnAdapter)
            .map_indices_contiguous(true)
            .allow_partial(true);
        for (from, to) in renames {
            store = store.with_key_remapping(&from, &to);
        }
        model.load_from(&mut store).map_err(|e| e.to_string())
    } else {
        let mut store = PytorchStore::from_file(path).allow_partial(true);
        for (from, to) in renames {
            store = store.with_key_remapping(&from, &to);
        }
        model.load_from(&mut store).map_err(|e| e.to_string())
    };
    let applied = applied.map_err(|message| {
        Error::file(path, format!("cannot import PyTorch weights: {message}"))
    })?;
    // Parameters the package does not have keep their values; any other must be in the file.
    let missing: Vec<&str> = applied
        .missing
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !name.starts_with("normalizer.") && !name.ends_with("log_std"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::file(
            path,
            format!(
                "cannot import PyTorch weights: the file lacks {} parameter(s), first '{}'",
                missing.len(),
                missing[0]
            ),
        ));
    }
    Ok(model)
}

fn regex_escape(text: &str) -> String {
    text.replace('.', r"\.")
}
