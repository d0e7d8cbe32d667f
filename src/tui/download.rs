//! The chat's download: with `--hf` naming a file not in the cache, the chat opens at once and
//! the hub's download [`Job`] runs beside the loop; its progress and its end arrive as
//! messages, like keys and signals. Once the file is there, the settings are made again from
//! it (its `general.sampling.*`) and the reducer asks for the engine.

use super::msg::Msg;
use crate::exit::Failure;
use crate::hub::job::Throttle;
use crate::hub::{Hub, Interrupt, Job, Plan};
use crate::settings::RunSettings;
use std::sync::mpsc::Sender;
use std::time::Instant;

/// A model to download before the engine can start.
pub struct Download {
    pub hub: Hub,
    pub plan: Plan,
    /// Makes the settings once the file is there (so that its own sampling defaults count).
    pub settings: Box<dyn FnOnce() -> Result<RunSettings, Failure> + Send>,
}

/// Starts the download: progress as [`Msg::Download`] (at most ten a second), then one
/// [`Msg::Downloaded`]. Dropping the job stops it, keeping the partial file.
pub(super) fn start(download: Download, tx: Sender<Msg>) -> Job<()> {
    let Download {
        hub,
        plan,
        settings,
    } = download;
    let mut throttle = Throttle::default();
    let progress = tx.clone();
    let end = EndGuard(Some(tx));
    Job::spawn(
        hub,
        plan,
        // The chat catches the signals itself and stops the job when it quits.
        Interrupt::never(),
        move |step| {
            if let Some(p) = throttle.step(&step, Instant::now()) {
                let _ = progress.send(Msg::Download(p));
            }
        },
        move |fetched| {
            let made = match fetched {
                Ok(_) => settings().map(Box::new).map_err(|f| f.message),
                Err(e) => Err(e.to_string()),
            };
            end.send(Msg::Downloaded(made));
        },
    )
}

/// Tells the loop the download ended even when its thread dies without saying so (a panic in
/// the download or in making the settings): the chat would otherwise wait for ever.
struct EndGuard(Option<Sender<Msg>>);

impl EndGuard {
    fn send(mut self, msg: Msg) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(msg);
        }
    }
}

impl Drop for EndGuard {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(Msg::Downloaded(Err(
                "the download stopped unexpectedly (an internal error; the log file says more)"
                    .into(),
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_download_thread_that_dies_still_ends_the_download() {
        let (tx, rx) = std::sync::mpsc::channel();
        let guard = EndGuard(Some(tx));
        let died = std::thread::spawn(move || {
            let _guard = guard;
            panic!("a bug in the download");
        })
        .join();
        assert!(died.is_err());
        match rx.try_recv() {
            Ok(Msg::Downloaded(Err(e))) => assert!(e.contains("stopped unexpectedly"), "{e}"),
            _ => panic!("no end of the download was told"),
        }
        let (tx, rx) = std::sync::mpsc::channel();
        EndGuard(Some(tx)).send(Msg::Downloaded(Err("404".into())));
        assert!(matches!(rx.try_recv(), Ok(Msg::Downloaded(Err(e))) if e == "404"));
        assert!(rx.try_recv().is_err(), "one end only");
    }
}
