//! Checkpoint files: one zip archive per checkpoint, as Stable-Baselines3's, holding
//! `policy.bpk` (the network and its configuration, burnpack), `optimizer.bpk` (Adam's moments,
//! burnpack) and `state.json` (hyperparameters, counters, schedule and RNG state, the action
//! space). The archive is built in memory and written atomically (temporary file, sync,
//! rename), so a crash mid-save leaves the previous checkpoint intact.

use std::collections::HashMap;
use std::io::{Cursor, Read, Write};
use std::path::Path;

use anymal_core::io::{self as model_io, SavedModel, write_atomically};
use anymal_envs::BoxSpace;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::ModuleOptimizer;
use burn::tensor::{Bytes, Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
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
/// Archive entry holding the parameter ids the optimizer state is keyed by.
pub const PARAM_IDS_ENTRY: &str = "param_ids.json";

/// The position of a ChaCha generator, so that a resumed run draws the same numbers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RngState {
    seed: [u8; 32],
    stream: u64,
    /// A `u128` as text (JSON numbers stop at 64 bits).
    word_pos: String,
}

impl RngState {
    /// Where `rng` is now.
    pub fn of(rng: &ChaCha8Rng) -> Self {
        Self {
            seed: rng.get_seed(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    /// A generator at this position.
    pub fn restore(&self) -> std::result::Result<ChaCha8Rng, String> {
        let word_pos: u128 = self
            .word_pos
            .parse()
            .map_err(|e| format!("invalid RNG state: {e}"))?;
        let mut rng = ChaCha8Rng::from_seed(self.seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(word_pos);
        Ok(rng)
    }
}

/// Writes a trainer's checkpoint: the model, the optimizer (with the parameter ids its state is
/// keyed by) and the trainer's `state`, as one archive, atomically.
pub fn write_training<M: SavedModel, S: Serialize>(
    path: &Path,
    model: &M,
    optimizer: &ModuleOptimizer,
    state: &S,
) -> Result<()> {
    let encode = |what: &str, e: &dyn std::fmt::Display| {
        RlError::file(path, format!("cannot encode the {what}: {e}"))
    };
    let model_bytes = model_io::to_bytes(model).map_err(|e| encode("network", &e))?;
    let optimizer = optimizer
        .into_bytes()
        .map_err(|e| encode("optimizer", &e))?;
    let state = serde_json::to_vec_pretty(state).map_err(|e| encode("state", &e))?;
    let ids = serde_json::to_vec(&param_ids(model)).map_err(|e| encode("parameter ids", &e))?;
    write_archive(
        path,
        &[
            (POLICY_ENTRY, model_bytes),
            (OPTIMIZER_ENTRY, optimizer.to_vec()),
            (STATE_ENTRY, state),
            (PARAM_IDS_ENTRY, ids),
        ],
    )
}

/// What [`read_training`] gives back.
pub struct TrainingCheckpoint<M, S> {
    /// The model, its parameters holding the ids the optimizer state is keyed by.
    pub model: M,
    /// The trainer's state.
    pub state: S,
    optimizer: Vec<u8>,
}

/// Reads a checkpoint written by [`write_training`], the model on `device`.
pub fn read_training<M: SavedModel, S: for<'de> Deserialize<'de>>(
    path: &Path,
    device: &Device,
) -> Result<TrainingCheckpoint<M, S>> {
    let mut entries = read_archive(path)?;
    let state: S = json_entry(path, &entries, STATE_ENTRY)?;
    let model: M = policy_entry(path, &entries, device)?;
    let ids: Vec<u64> = json_entry(path, &entries, PARAM_IDS_ENTRY)?;
    let model = restore_param_ids(model, &ids).map_err(|e| RlError::file(path, e))?;
    let optimizer = entries
        .remove(OPTIMIZER_ENTRY)
        .ok_or_else(|| RlError::file(path, format!("checkpoint has no '{OPTIMIZER_ENTRY}'")))?;
    Ok(TrainingCheckpoint {
        model,
        state,
        optimizer,
    })
}

impl<M, S> TrainingCheckpoint<M, S> {
    /// The optimizer state, loaded into `optimizer` (built from the saved configuration).
    pub fn optimizer(&self, path: &Path, optimizer: ModuleOptimizer) -> Result<ModuleOptimizer> {
        optimizer
            .from_bytes(Bytes::from_bytes_vec(self.optimizer.clone()))
            .map_err(|e| RlError::file(path, format!("invalid '{OPTIMIZER_ENTRY}': {e}")))
    }
}

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

impl PolicyState {
    /// The state of a policy acting in `space`, sampling with `seed`.
    pub fn new(space: &BoxSpace, seed: u64) -> Self {
        Self {
            action_low: space.low().to_vec(),
            action_high: space.high().to_vec(),
            seed,
        }
    }

    /// The action space, checked: a file may hold any bounds.
    pub fn action_space(&self) -> anymal_envs::Result<BoxSpace> {
        BoxSpace::new(self.action_low.clone(), self.action_high.clone())
    }
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
pub fn policy_entry<P: SavedModel>(
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
    Ok(Policy::new(
        network,
        state.action_space().map_err(|e| RlError::file(path, e))?,
        device.clone(),
        state.seed,
    ))
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
