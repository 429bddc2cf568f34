//! Saving and loading models in Burn's format (burnpack). One file holds the weights and, as
//! metadata, the model's kind and JSON configuration, so [`load`] rebuilds the model alone.
//! Files are written to a temporary file and renamed into place, so an interrupted save leaves
//! the previous file intact.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::config::Config;
use burn::module::{Module, ModuleVisitor, Param};
use burn::store::burn_pack::Reader;
use burn::store::{BurnpackStore, ModuleSnapshot};
use burn::tensor::{Bytes, Device, Tensor};

use crate::actor_critic::{MlpActorCritic, MlpActorCriticConfig};
use crate::anymal::{Anymal, AnymalConfig};
use crate::error::{Error, Result};
use crate::student::{Student, StudentConfig};
use crate::teacher::{Teacher, TeacherConfig};

const KIND_KEY: &str = "anymal.kind";
const CONFIG_KEY: &str = "anymal.config";

/// A model that can be saved with its configuration and rebuilt from a file.
pub trait SavedModel: Module + Sized {
    /// Its configuration.
    type Config: Config;
    /// Name written in the file, checked on load.
    const KIND: &'static str;
    /// The configuration the model was built from.
    fn saved_config(&self) -> &Self::Config;
    /// Builds a fresh model from a configuration.
    fn from_config(config: &Self::Config, device: &Device) -> Result<Self>;
    /// Brings a configuration written by an earlier version up to date, in place (fields
    /// added since get the value that reproduces the saved model).
    fn upgrade_config(_config: &mut serde_json::Map<String, serde_json::Value>) {}
}

macro_rules! saved_model {
    ($model:ty, $config:ty, $kind:literal $(, $upgrade:expr)?) => {
        impl SavedModel for $model {
            type Config = $config;
            const KIND: &'static str = $kind;
            fn saved_config(&self) -> &$config {
                self.config()
            }
            fn from_config(config: &$config, device: &Device) -> Result<Self> {
                config.init(device)
            }
            $(fn upgrade_config(config: &mut serde_json::Map<String, serde_json::Value>) {
                $upgrade(config)
            })?
        }
    };
}
saved_model!(Teacher, TeacherConfig, "teacher");
saved_model!(Student, StudentConfig, "student");
saved_model!(Anymal, AnymalConfig, "anymal", upgrade_anymal_config);
saved_model!(MlpActorCritic, MlpActorCriticConfig, "mlp_actor_critic");

/// `student_extero_encoder_hidden` (the package's 0.0.22) is newer than the first saved files,
/// whose student encoder had the teacher's widths.
fn upgrade_anymal_config(config: &mut serde_json::Map<String, serde_json::Value>) {
    if !config.contains_key("student_extero_encoder_hidden")
        && let Some(teacher) = config.get("teacher_extero_encoder_hidden").cloned()
    {
        config.insert("student_extero_encoder_hidden".into(), teacher);
    }
}

/// Writes `model` and its configuration to `path` (atomically: temporary file, then rename).
pub fn save<M: SavedModel>(model: &M, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let bytes = to_bytes(model).map_err(|e| Error::file(path, e))?;
    write_atomically(path, &bytes)
}

/// Rebuilds a model saved by [`save`] on `device`.
pub fn load<M: SavedModel>(path: impl AsRef<Path>, device: &Device) -> Result<M> {
    let path = path.as_ref();
    from_bytes(read(path)?, device).map_err(|e| Error::file(path, e))
}

/// `model` and its configuration in the bytes [`save`] writes.
pub fn to_bytes<M: SavedModel>(model: &M) -> std::result::Result<Vec<u8>, String> {
    let config = serde_json::to_string(model.saved_config()).map_err(|e| e.to_string())?;
    let mut store = BurnpackStore::from_bytes(None)
        .metadata(KIND_KEY, M::KIND)
        .metadata(CONFIG_KEY, config);
    model
        .save_into(&mut store)
        .map_err(|e| format!("cannot write: {e}"))?;
    let bytes = store
        .get_bytes()
        .map_err(|e| format!("cannot write: {e}"))?;
    Ok(bytes.to_vec())
}

/// Rebuilds on `device` a model from the bytes of [`to_bytes`]; the error says what is wrong.
pub fn from_bytes<M: SavedModel>(
    bytes: Vec<u8>,
    device: &Device,
) -> std::result::Result<M, String> {
    let bytes = Bytes::from_bytes_vec(bytes);
    let reader = Reader::from_bytes(bytes.clone())
        .map_err(|e| format!("not a readable burnpack file: {e}"))?;
    let metadata = reader.metadata();
    let kind = metadata
        .get(KIND_KEY)
        .map(String::as_str)
        .unwrap_or("unknown");
    if kind != M::KIND {
        return Err(format!("holds a {kind} model, not a {}", M::KIND));
    }
    let json = metadata
        .get(CONFIG_KEY)
        .ok_or("has no configuration in its metadata")?;
    let invalid = |e: serde_json::Error| format!("invalid configuration: {e}");
    let mut fields: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(json).map_err(invalid)?;
    M::upgrade_config(&mut fields);
    let config: M::Config = serde_json::from_value(fields.into()).map_err(invalid)?;
    let model = M::from_config(&config, device).map_err(|e| e.to_string())?;
    apply_weights(model, reader, BurnpackStore::from_bytes(Some(bytes)))
}

/// Loads the weights of `path` into `model`, which must have the same parameters and shapes;
/// otherwise the error names the first parameter that differs.
pub fn load_weights<M: Module>(model: M, path: impl AsRef<Path>) -> Result<M> {
    let path = path.as_ref();
    let bytes = Bytes::from_bytes_vec(read(path)?);
    let reader = Reader::from_bytes(bytes.clone())
        .map_err(|e| Error::file(path, format!("not a readable burnpack file: {e}")))?;
    apply_weights(model, reader, BurnpackStore::from_bytes(Some(bytes)))
        .map_err(|e| Error::file(path, e))
}

fn apply_weights<M: Module>(
    mut model: M,
    reader: Reader,
    mut store: BurnpackStore,
) -> std::result::Result<M, String> {
    let in_file: BTreeMap<String, Vec<usize>> = reader
        .into_tensors()
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|t| (t.name.clone(), t.shape.iter().copied().collect()))
        .collect();
    check_same_parameters(&param_shapes(&model), &in_file)?;
    model
        .load_from(&mut store)
        .map_err(|e| format!("cannot load: {e}"))?;
    Ok(model)
}

/// Writes `bytes` to `path` through a temporary file in the same folder, synced, then renamed:
/// a crash at any point leaves either the old file or the new one, never half of one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = temporary_path(path);
    let written = std::fs::File::create(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::file(path, format!("cannot write: {e}"))
    })
}

fn read(path: &Path) -> Result<Vec<u8>> {
    if !path.is_file() {
        return Err(Error::file(path, "no such file"));
    }
    std::fs::read(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))
}

/// Every parameter of `model` with its shape, in visiting order.
pub fn param_shapes<M: Module>(model: &M) -> Vec<(String, Vec<usize>)> {
    let mut collector = ParamShapes::default();
    model.visit(&mut collector);
    collector.shapes
}

/// Compares a model's parameters with a file's, naming the first difference.
pub(crate) fn check_same_parameters(
    model: &[(String, Vec<usize>)],
    file: &BTreeMap<String, Vec<usize>>,
) -> std::result::Result<(), String> {
    for (name, shape) in model {
        match file.get(name) {
            None => {
                return Err(format!(
                    "parameter '{name}' (shape {shape:?}) is missing from the file"
                ));
            }
            Some(found) if found != shape => {
                return Err(format!(
                    "parameter '{name}' has shape {found:?} in the file but {shape:?} in the model"
                ));
            }
            Some(_) => {}
        }
    }
    let known: std::collections::HashSet<&str> = model.iter().map(|(n, _)| n.as_str()).collect();
    match file.keys().find(|name| !known.contains(name.as_str())) {
        Some(extra) => Err(format!(
            "the file has parameter '{extra}' that the model lacks"
        )),
        None => Ok(()),
    }
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

#[derive(Default)]
struct ParamShapes {
    path: Vec<String>,
    shapes: Vec<(String, Vec<usize>)>,
}

impl ModuleVisitor for ParamShapes {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.shapes.push((
            self.path.join("."),
            param.lazy_shape().iter().copied().collect(),
        ));
    }
}
