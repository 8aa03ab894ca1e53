//! The Node.js binding of keystonedb: converts, calls the engine, maps errors. No logic of its
//! own lives here; see `keystone-core`. It is tested from JavaScript (`__test__/`).

// napi-rs registers exports only outside cfg(test), so a test build sees them as unused.
#![cfg_attr(test, allow(dead_code, reason = "exports are registered with Node only outside cfg(test)"))]

mod database;
mod error;
mod options;
mod params;
mod probe;
mod reader;
mod stats;
mod writer;

use std::sync::Once;

/// Logging through `RUST_LOG` (e.g. `RUST_LOG=keystone_core=info`), to stderr; silent when unset.
pub(crate) fn init_logging() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
            let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
        }
    });
}
