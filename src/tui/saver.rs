//! Saves the chat's session off the UI thread: the runtime hands over a snapshot after every
//! finished turn, a background thread writes the newest one (fsync included), and quitting
//! waits for the last write so that nothing finished is lost.

use super::msg::Msg;
use crate::conversation::Turn;
use crate::session::{SavedTurn, Session, Store};
use std::sync::mpsc::{self, Sender};
use std::thread::JoinHandle;

pub struct Saver {
    session: Session,
    tx: Option<Sender<Session>>,
    thread: Option<JoinHandle<()>>,
}

impl Saver {
    /// `store`: `None` saves nothing (--no-save, or no data directory). Failures are reported
    /// as notices on `notices`.
    pub fn new(store: Option<Store>, session: Session, notices: Sender<Msg>) -> Saver {
        let Some(store) = store else {
            return Saver {
                session,
                tx: None,
                thread: None,
            };
        };
        let (tx, rx) = mpsc::channel::<Session>();
        let thread = std::thread::Builder::new()
            .name("reflect-saver".into())
            .spawn(move || {
                let mut failed = false;
                while let Ok(mut snapshot) = rx.recv() {
                    // Only the newest snapshot matters.
                    while let Ok(newer) = rx.try_recv() {
                        snapshot = newer;
                    }
                    match store.save(&snapshot) {
                        Ok(_) if failed => {
                            failed = false;
                            let _ = notices.send(Msg::Notice {
                                text: "the session is saved again".into(),
                                error: false,
                            });
                        }
                        Ok(_) => {}
                        Err(e) => {
                            failed = true;
                            let _ = notices.send(Msg::Notice {
                                text: format!("cannot save the session: {e}"),
                                error: true,
                            });
                        }
                    }
                }
            })
            .ok();
        Saver {
            session,
            tx: Some(tx),
            thread,
        }
    }

    /// Queues a save of the finished turns (nothing while there are none, and nothing when no
    /// turn changed: a session opened and left alone keeps its file, model and time as they
    /// were, so it does not become the latest).
    pub fn save(&mut self, turns: &[Turn], model: Option<&str>) {
        if let Some(m) = model {
            self.session.model = m.to_string();
        }
        // Each turn as saved names its model: new ones the session's (this chat's).
        let saved: Vec<SavedTurn> = self.session.saved_turns(turns);
        if saved.is_empty() || saved == self.session.turns {
            return;
        }
        self.session.set_turns(turns);
        if let Some(tx) = &self.tx {
            let _ = tx.send(self.session.clone());
        }
    }

    /// The next save starts a new session file (the chat started a new conversation).
    pub fn start_new(&mut self) {
        let s = &self.session;
        let endpoint = s.endpoint.clone();
        self.session = Session::new(&s.model, s.model_path.clone(), &s.profile);
        self.session.endpoint = endpoint;
    }

    /// Saves what there is (a running turn as interrupted) and waits for the write.
    /// Saves what there is and waits for the write; returns the id of the session saved, if
    /// there is one (for the "resume with" line on quit).
    pub fn finish(mut self, turns: &[Turn], model: Option<&str>) -> Option<String> {
        self.save(turns, model);
        let saving = self.tx.take().is_some();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        (saving && !self.session.turns.is_empty()).then(|| self.session.id.clone())
    }
}
