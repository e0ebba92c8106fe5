//! Interrupts: the first stops the runs gracefully, the second exits at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio::sync::watch;

/// The exit code of a run stopped by an interrupt (128 + SIGINT, as shells report it).
pub(crate) const INTERRUPTED_EXIT_CODE: u8 = 130;

/// On the first SIGINT or SIGTERM, asks every run to stop (running tasks get `grace` to
/// finish) or, once the runs are over (`concluding`), lets the saving go on; on the second,
/// exits at once: the journals already hold what finished. The listener runs on the control
/// runtime, whose threads no agent or scorer ever blocks, until `run_main` returns.
pub(crate) fn listen_for_interrupts(
    runtime: &Runtime,
    stop: watch::Sender<bool>,
    grace: Duration,
    concluding: Arc<AtomicBool>,
) {
    let announce = move || {
        if stop.send_replace(true) {
            std::process::exit(i32::from(INTERRUPTED_EXIT_CODE));
        }
        if concluding.load(Ordering::Relaxed) {
            eprintln!("interrupted: every task has ended; the runs are being saved (interrupt again to exit at once)");
        } else {
            eprintln!(
                "interrupted: no new task starts; running tasks get {}s to finish (interrupt again to exit at once)",
                grace.as_secs_f64()
            );
        }
    };
    // The handlers are installed before any task starts, so no signal is missed.
    let _entered = runtime.enter();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut interrupt), Ok(mut terminate)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
        else {
            eprintln!("warning: cannot listen for interrupts; an interrupted run is resumed from its journal");
            return;
        };
        runtime.spawn(async move {
            loop {
                tokio::select! {
                    Some(()) = interrupt.recv() => announce(),
                    Some(()) = terminate.recv() => announce(),
                    else => return,
                }
            }
        });
    }
    #[cfg(not(unix))]
    runtime.spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            announce();
        }
    });
}
