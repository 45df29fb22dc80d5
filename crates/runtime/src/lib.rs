//! The one tokio runtime of an iocrate process.
//!
//! Every iocrate module runs its sockets, timers and protocol drivers on a single
//! multi-thread tokio runtime. It is created lazily, on first use, with a small number
//! of worker threads: the JS thread does the application work, so on small machines one
//! worker for I/O is the configuration to beat. The count comes from, in order:
//! [`configure`] (called before first use), the `IOCRATE_WORKERS` environment variable,
//! and [`default_workers`].
//!
//! [`shutdown`] stops the runtime (used when the embedding environment is torn down);
//! tasks still running are dropped, which closes their sockets.
#![warn(missing_docs)]
#![warn(unreachable_pub)]

pub mod batch;
mod park;

pub use batch::BatchQueue;
pub use park::{defer_to_park, run_deferred, OnPark};

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio::runtime::{Builder, Handle, Runtime};

/// Largest worker count accepted from [`configure`] or `IOCRATE_WORKERS`.
pub const MAX_WORKERS: usize = 256;

/// Why a runtime setting was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The runtime already runs; its worker count can no longer change.
    AlreadyStarted {
        /// The worker count the running runtime has.
        workers: usize,
    },
    /// The worker count is zero or above [`MAX_WORKERS`].
    InvalidWorkers(String),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::AlreadyStarted { workers } => write!(
                f,
                "the iocrate runtime is already running with {workers} worker(s); configure it before the first socket is opened"
            ),
            ConfigError::InvalidWorkers(v) => {
                write!(f, "invalid worker count {v:?}: expected an integer from 1 to {MAX_WORKERS}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

struct State {
    requested: Option<usize>,
    runtime: Option<Runtime>,
    workers: usize,
}

static STATE: Mutex<State> = Mutex::new(State { requested: None, runtime: None, workers: 0 });
static HANDLE: OnceLock<Handle> = OnceLock::new();

/// The default worker count: one worker per two cores beyond the first, at least one,
/// at most four. A 2-core machine gets one worker beside the JS thread.
pub fn default_workers() -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    (cores / 2).clamp(1, 4)
}

fn parse_workers(v: &str) -> Result<usize, ConfigError> {
    match v.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_WORKERS).contains(&n) => Ok(n),
        _ => Err(ConfigError::InvalidWorkers(v.to_string())),
    }
}

/// Sets the worker count before the runtime starts. Calling it again with the count the
/// runtime already has is accepted; any other count after start is refused.
pub fn configure(workers: usize) -> Result<(), ConfigError> {
    if workers == 0 || workers > MAX_WORKERS {
        return Err(ConfigError::InvalidWorkers(workers.to_string()));
    }
    let mut st = STATE.lock().unwrap_or_else(|e| e.into_inner());
    if HANDLE.get().is_some() {
        if st.workers == workers {
            return Ok(());
        }
        return Err(ConfigError::AlreadyStarted { workers: st.workers });
    }
    st.requested = Some(workers);
    Ok(())
}

/// The worker count the runtime has, or would get if it started now.
pub fn workers() -> Result<usize, ConfigError> {
    let st = STATE.lock().unwrap_or_else(|e| e.into_inner());
    if HANDLE.get().is_some() {
        return Ok(st.workers);
    }
    resolve(&st)
}

fn resolve(st: &State) -> Result<usize, ConfigError> {
    if let Some(n) = st.requested {
        return Ok(n);
    }
    match std::env::var("IOCRATE_WORKERS") {
        Ok(v) if !v.trim().is_empty() => parse_workers(&v),
        _ => Ok(default_workers()),
    }
}

/// Whether the runtime has been started.
pub fn is_started() -> bool {
    HANDLE.get().is_some()
}

/// The runtime's handle, starting the runtime on first use.
///
/// # Panics
/// If `IOCRATE_WORKERS` holds an invalid value or the OS refuses to start threads; use
/// [`try_handle`] to get the error instead.
pub fn handle() -> &'static Handle {
    try_handle().expect("iocrate runtime")
}

/// The runtime's handle, starting the runtime on first use.
pub fn try_handle() -> Result<&'static Handle, ConfigError> {
    if let Some(h) = HANDLE.get() {
        return Ok(h);
    }
    let mut st = STATE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(h) = HANDLE.get() {
        return Ok(h);
    }
    let workers = resolve(&st)?;
    let rt = Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("iocrate-io")
        .on_thread_start(park::mark_worker)
        .on_thread_park(park::run_deferred)
        .enable_all()
        .build()
        .map_err(|e| ConfigError::InvalidWorkers(format!("{workers} ({e})")))?;
    st.workers = workers;
    let h = rt.handle().clone();
    st.runtime = Some(rt);
    let _ = HANDLE.set(h);
    Ok(HANDLE.get().expect("set above"))
}

/// Spawns a future on the runtime.
pub fn spawn<F>(fut: F) -> tokio::task::JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    handle().spawn(fut)
}

/// Stops the runtime, waiting at most `timeout` for its worker threads. Tasks are
/// dropped, closing their sockets. The handle stays valid but spawns nothing afterwards.
pub fn shutdown(timeout: Duration) {
    let rt = {
        let mut st = STATE.lock().unwrap_or_else(|e| e.into_inner());
        st.runtime.take()
    };
    if let Some(rt) = rt {
        rt.shutdown_timeout(timeout);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_worker_counts() {
        assert_eq!(parse_workers("3"), Ok(3));
        assert!(parse_workers("0").is_err());
        assert!(parse_workers("lots").is_err());
        assert!(parse_workers("257").is_err());
    }

    #[test]
    fn configure_then_start_then_refuse_change() {
        configure(2).unwrap();
        assert_eq!(workers().unwrap(), 2);
        let h = handle();
        assert_eq!(h.block_on(async { 40 + 2 }), 42);
        assert_eq!(configure(2), Ok(()));
        assert_eq!(configure(3), Err(ConfigError::AlreadyStarted { workers: 2 }));
        assert!(configure(0).is_err());
    }

    #[test]
    fn default_is_small() {
        let n = default_workers();
        assert!((1..=4).contains(&n));
    }
}
