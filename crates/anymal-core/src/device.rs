//! Turning a name (`flex`, `ndarray`, `wgpu`) into a Burn [`Device`] chosen at run time.
//!
//! ```
//! let device = anymal_core::device::parse_device("flex").unwrap();
//! assert!(anymal_core::device::parse_device("tpu").is_err());
//! # let _ = device;
//! ```

use burn::tensor::{Device, DeviceKind};

use crate::error::{Error, Result};

/// The device names this build accepts, the default first.
pub const DEVICE_NAMES: [&str; 3] = ["flex", "ndarray", "wgpu"];

/// The default device name: `flex`, Burn's maintained pure-Rust CPU backend.
pub const DEFAULT_DEVICE: &str = "flex";

/// Returns the device for `name` (case-insensitive), or an error listing the valid names.
///
/// - `flex`: pure-Rust CPU backend (SIMD, multi-threaded); the default.
/// - `ndarray`: the CPU backend of the original design (deprecated upstream, kept selectable).
/// - `wgpu`: GPU through Vulkan/Metal/DX12; the adapter is chosen by wgpu (see
///   [`describe_device`] to learn which one, and whether it is a software rasteriser).
pub fn parse_device(name: &str) -> Result<Device> {
    match name.to_ascii_lowercase().as_str() {
        "flex" => Ok(Device::flex()),
        #[allow(deprecated)]
        "ndarray" => Ok(Device::ndarray()),
        "wgpu" => Ok(Device::wgpu(DeviceKind::DefaultDevice)),
        _ => Err(Error::UnknownDevice {
            name: name.to_string(),
            valid: DEVICE_NAMES.join(", "),
        }),
    }
}

/// What a device is, in one line. For a wgpu device this opens it, names the adapter wgpu
/// chose, and says when that adapter is a software (CPU) rasteriser such as Mesa's lavapipe.
pub fn describe_device(device: &Device) -> String {
    match device.identity() {
        Some(identity) if identity.physical.is_none() => format!(
            "{device:?}: adapter '{}' is a software (CPU) adapter, not a GPU; expect it to be slow",
            identity.name
        ),
        Some(identity) => format!("{device:?}: adapter '{}'", identity.name),
        None => format!("{device:?}"),
    }
}

/// Whether `device` is a software (CPU-emulated) GPU adapter.
pub fn is_software_adapter(device: &Device) -> bool {
    device
        .identity()
        .is_some_and(|identity| identity.physical.is_none())
}
