//! `configure()` and `runtimeInfo()`.

use napi_derive::napi;

use crate::error::ErrorInfo;

/// What the runtime looks like.
#[napi(object)]
pub struct RuntimeInfo {
    /// Worker threads the runtime has (or would get if it started now).
    pub workers: u32,
    /// Whether the runtime has started.
    pub started: bool,
    /// The addon's version.
    pub version: String,
    /// The target triple the addon was built for.
    pub target: String,
}

/// Sets the worker count before the runtime starts. Returns an error description when
/// refused (bad count, or the runtime already runs with another count).
#[napi]
pub fn configure_runtime(workers: u32) -> Option<ErrorInfo> {
    iocrate_runtime::configure(workers as usize)
        .err()
        .map(|e| ErrorInfo::new("ERR_IOCRATE_RUNTIME_CONFIG", e.to_string()))
}

/// The runtime's settings and state.
#[napi]
pub fn runtime_info() -> napi::Result<RuntimeInfo> {
    let workers =
        iocrate_runtime::workers().map_err(|e| napi::Error::from_reason(format!("ERR_IOCRATE_RUNTIME_CONFIG: {e}")))?;
    Ok(RuntimeInfo {
        workers: workers as u32,
        started: iocrate_runtime::is_started(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        target: format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS),
    })
}
