//! Checkpoint files: one zip archive per checkpoint, as Stable-Baselines3's, holding
//! `policy.bpk` (the network and its configuration, burnpack), `optimizer.bpk` (Adam's moments,
//! burnpack) and `state.json` (hyperparameters, counters, schedule and RNG state, the action
//! space). The archive is built in memory and written atomically (temporary file, sync,
//! rename), so a crash mid-save leaves the previous checkpoint intact.

use std::collections::HashMap;
use std::io::{Cursor, Read, Write};
use std::path::Path;

use anymal_core::io::{self as model_io, write_atomically};
use anymal_envs::BoxSpace;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::error::{Result, RlError};
use crate::policy::{ActorCritic, Policy};

/// Archive entry holding the network.
pub const POLICY_ENTRY: &str = "policy.bpk";
/// Archive entry holding the optimizer state.
pub const OPTIMIZER_ENTRY: &str = "optimizer.bpk";
/// Archive entry holding everything else, as JSON.
pub const STATE_ENTRY: &str = "state.json";

/// What every checkpoint's `state.json` starts with: enough to act with the policy alone.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyState {
    /// Lower bounds of the action space.
    pub action_low: Vec<f64>,
    /// Upper bounds of the action space.
    pub action_high: Vec<f64>,
    /// Seed of the policy's sampling RNG.
    pub seed: u64,
}

/// Writes the entries as one zip archive at `path`, atomically.
pub fn write_archive(path: &Path, entries: &[(&str, Vec<u8>)]) -> Result<()> {
    let fail = |e: &dyn std::fmt::Display| RlError::file(path, format!("cannot write: {e}"));
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for (name, bytes) in entries {
        zip.start_file(*name, options).map_err(|e| fail(&e))?;
        zip.write_all(bytes).map_err(|e| fail(&e))?;
    }
    let bytes = zip.finish().map_err(|e| fail(&e))?.into_inner();
    write_atomically(path, &bytes)?;
    Ok(())
}

/// Reads every entry of a checkpoint archive; a missing, truncated or foreign file gives an
/// error saying so.
pub fn read_archive(path: &Path) -> Result<HashMap<String, Vec<u8>>> {
    if !path.is_file() {
        return Err(RlError::file(path, "no such checkpoint file"));
    }
    let bytes = std::fs::read(path).map_err(|e| RlError::file(path, e))?;
    let corrupt = |e: &dyn std::fmt::Display| {
        RlError::file(
            path,
            format!("not a readable checkpoint (zip archive): {e}"),
        )
    };
    let mut zip = ZipArchive::new(Cursor::new(bytes)).map_err(|e| corrupt(&e))?;
    let mut entries = HashMap::new();
    for i in 0..zip.len() {
        let mut file = zip.by_index(i).map_err(|e| corrupt(&e))?;
        let mut content = Vec::new();
        file.read_to_end(&mut content).map_err(|e| corrupt(&e))?;
        let name = file.name().map_err(|e| corrupt(&e))?.to_string();
        entries.insert(name, content);
    }
    for needed in [POLICY_ENTRY, STATE_ENTRY] {
        if !entries.contains_key(needed) {
            return Err(RlError::file(path, format!("checkpoint has no '{needed}'")));
        }
    }
    Ok(entries)
}

/// Decodes the JSON entry `name` of an archive into `T`.
pub fn json_entry<T: for<'de> Deserialize<'de>>(
    path: &Path,
    entries: &HashMap<String, Vec<u8>>,
    name: &str,
) -> Result<T> {
    let bytes = entries
        .get(name)
        .ok_or_else(|| RlError::file(path, format!("checkpoint has no '{name}'")))?;
    serde_json::from_slice(bytes).map_err(|e| RlError::file(path, format!("invalid '{name}': {e}")))
}

/// Rebuilds the network of an archive on `device`.
pub fn policy_entry<P: ActorCritic>(
    path: &Path,
    entries: &HashMap<String, Vec<u8>>,
    device: &Device,
) -> Result<P> {
    model_io::from_bytes(entries[POLICY_ENTRY].clone(), device)
        .map_err(|e| RlError::file(path, format!("'{POLICY_ENTRY}' {e}")))
}

/// Loads the policy of a checkpoint, ready to act.
pub(crate) fn load_policy<P: ActorCritic>(path: &Path, device: &Device) -> Result<Policy<P>> {
    let entries = read_archive(path)?;
    let state: PolicyState = json_entry(path, &entries, STATE_ENTRY)?;
    let network = policy_entry(path, &entries, device)?;
    let space = BoxSpace::new(state.action_low, state.action_high);
    Ok(Policy::new(network, space, device.clone(), state.seed))
}

/// The parameter ids of `module` in visiting order. The optimizer keys its state by parameter
/// id, so a checkpoint stores them and [`restore_param_ids`] gives them back after loading.
pub fn param_ids<M: Module>(module: &M) -> Vec<u64> {
    struct Ids(Vec<u64>);
    impl ModuleVisitor for Ids {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.id.val());
        }
    }
    let mut ids = Ids(Vec::new());
    module.visit(&mut ids);
    ids.0
}

/// Gives the parameters of `module`, in visiting order, the ids `ids`.
pub fn restore_param_ids<M: Module>(module: M, ids: &[u64]) -> std::result::Result<M, String> {
    let found = param_ids(&module).len();
    if found != ids.len() {
        return Err(format!(
            "the optimizer state is for {} parameters, the network has {found}",
            ids.len()
        ));
    }
    struct Assign<'a>(std::slice::Iter<'a, u64>);
    impl ModuleMapper for Assign<'_> {
        fn map_float<const D: usize>(&mut self, mut param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            param.id = ParamId::from(*self.0.next().expect("as many ids as parameters"));
            param
        }
    }
    Ok(module.map(&mut Assign(ids.iter())))
}
