//! The ROS 2 adapter (cargo feature `ros2`, r2r): the brain node and the simulator node.
//!
//! Everything here converts and wires; the driving, safety, simulation and statistics live in
//! the layers below ([`crate::driving`], [`crate::sim`], [`crate::evaluation`]) and are the
//! same as in `pilotnet-brain sim`. This file holds what both nodes do alike: their errors,
//! starting a node with checked parameters, spinning rcl, and waiting for the signal to stop.

pub mod brain_node;
pub mod convert;
pub mod params;
pub mod sim_node;
pub mod timing;
pub mod topics;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use params::ParamError;

/// Why the node could not start or stopped with an error.
#[derive(Debug, Error)]
pub enum NodeError {
    /// rcl or r2r refused something.
    #[error("ROS: {0}")]
    Ros(#[from] r2r::Error),
    /// rcl could not parse the command line's ROS arguments (`--params-file`, `-p`, `-r`).
    #[error("ROS arguments: {0}")]
    Arguments(String),
    /// A parameter is wrong.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// The model could not be found or loaded.
    #[error("model: {0}")]
    Model(String),
    /// An environment variable the node reads is malformed.
    #[error("environment: {0}")]
    Environment(String),
    /// An output folder cannot be written.
    #[error(transparent)]
    OutDir(#[from] crate::base::out_dir::OutDirError),
    /// The async runtime could not start.
    #[error("starting the tokio runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// The ROS context, from the process's command line. r2r panics when rcl refuses the ROS
/// arguments (a params file that is not in ROS's format, a malformed `-p` or `-r`); that
/// becomes an error carrying rcl's message instead.
pub(crate) fn context() -> Result<r2r::Context, NodeError> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let ctx = std::panic::catch_unwind(r2r::Context::create);
    std::panic::set_hook(hook);
    match ctx {
        Ok(ctx) => Ok(ctx?),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "rcl refused the command line".into());
            // rcl appends its source locations (", at /project/src/parse.c:806").
            let msg = msg
                .split(", at /")
                .next()
                .unwrap_or(&msg)
                .trim()
                .to_string();
            Err(NodeError::Arguments(msg))
        }
    }
}

/// Creates node `name` with parameters `P`, checked: the params files named on the command
/// line exist and are YAML, rcl accepts the ROS arguments, and every name given is one of
/// `P`'s. Returns the node, the values it starts with, and the future (to spawn) that serves
/// `ros2 param`. The nodes read their parameters once: a value set while running is logged
/// as taking effect at the next start.
pub(crate) fn node_with_params<P>(
    name: &str,
) -> Result<(r2r::Node, P, impl std::future::Future<Output = ()> + Send), NodeError>
where
    P: r2r::RosParams + Default + Clone + Send + 'static,
{
    use futures::StreamExt;
    params::check_params_files()?;
    let ctx = context()?;
    let mut node = r2r::Node::create(ctx, name, "")?;
    let params = Arc::new(std::sync::Mutex::new(P::default()));
    let (handler, events) = node.make_derived_parameter_handler(params.clone())?;
    params::reject_unknown(&node, &params)?;
    let values = params.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let serve = async move {
        let log = events.for_each(|(name, value)| {
            tracing::warn!(parameter = %name, ?value, "parameter set while running; it takes \
                effect when the node restarts");
            futures::future::ready(())
        });
        futures::join!(handler, log);
    };
    Ok((node, values, serve))
}

/// Spins `node` on a blocking task (rcl waits block) until `running` turns false, then drops
/// it, which destroys its publishers and subscriptions.
pub(crate) fn spin(
    mut node: r2r::Node,
    running: Arc<AtomicBool>,
    wait: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::task::spawn_blocking(move || {
        while running.load(Ordering::Relaxed) {
            node.spin_once(wait);
        }
        drop(node);
    })
}

/// Returns on SIGINT (Ctrl-C, `ros2 launch` stopping) or SIGTERM.
pub(crate) async fn wait_for_shutdown() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "no SIGTERM handler; stopping on SIGINT only");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Whether the node runs on simulated time (`use_sim_time:=true`): r2r then feeds the node's
/// ROS clock from `/clock`.
pub(crate) fn uses_sim_time(node: &r2r::Node) -> bool {
    node.params
        .lock()
        .map(|p| {
            matches!(
                p.get("use_sim_time").map(|p| &p.value),
                Some(r2r::ParameterValue::Bool(true))
            )
        })
        .unwrap_or(false)
}
