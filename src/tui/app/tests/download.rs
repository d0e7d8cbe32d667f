//! The model's download before the engine starts: its end starts the engine on the settings
//! made from the file, keeps what the chat changed meanwhile, or fails like a load.

use super::{app, send, settings};
use crate::conversation::TurnState;
use crate::engine::BackendConfig;
use crate::gguf::GgufInfo;
use crate::tui::app::Load;
use crate::tui::msg::{Effect, Msg};
use std::collections::HashMap;
use std::sync::Arc;

/// The settings made once the file is there: its check, with these `general.sampling.*` keys.
fn from_file(keys: &[(&str, f64)]) -> Box<crate::settings::RunSettings> {
    let mut s = settings();
    if let BackendConfig::Llama(c) = &mut s.engine {
        c.checked = Some(Arc::new(GgufInfo {
            sampling: keys
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect::<HashMap<_, _>>(),
            ..Default::default()
        }));
    }
    Box::new(s)
}

#[test]
fn the_engine_starts_on_the_files_own_sampling_once_it_is_downloaded() {
    let mut a = app();
    let effects = a.update(Msg::Downloaded(Ok(from_file(&[
        ("temp", 0.25),
        ("top_k", 7.0),
    ]))));
    let [Effect::StartEngine(BackendConfig::Llama(c))] = effects.as_slice() else {
        panic!("one StartEngine effect");
    };
    assert!(
        c.checked.is_some(),
        "the engine reads the file's check, not the file again"
    );
    // The profile sets neither: the file's values are the first turn's.
    assert_eq!(a.settings.sampling.temperature, 0.25);
    assert_eq!(a.settings.sampling.top_k, 7);
    assert!(matches!(a.load, Load::Loading(_)));
}

#[test]
fn what_the_chat_set_during_the_download_stays_over_the_files_defaults() {
    let mut a = app();
    send(&mut a, "/set temperature 0.9");
    a.update(Msg::Downloaded(Ok(from_file(&[
        ("temp", 0.25),
        ("top_k", 7.0),
    ]))));
    assert_eq!(a.settings.sampling.temperature, 0.9);
    assert_eq!(a.settings.sampling.top_k, 7);
}

#[test]
fn a_failed_download_is_a_failed_load_and_queued_prompts_are_not_sent() {
    let mut a = app();
    send(&mut a, "what is 2+2?");
    assert!(a.turns()[0].is_queued());
    let effects = a.update(Msg::Downloaded(Err("the Hub refused the token".into())));
    assert!(effects.is_empty());
    assert!(matches!(&a.load, Load::Failed(t) if t.contains("the Hub refused the token")));
    let banner = a.banner().expect("the failure is shown");
    assert!(
        banner.text.starts_with("The model did not load: ")
            && banner.text.contains("the Hub refused the token"),
        "{}",
        banner.text
    );
    assert_eq!(
        a.turns()[0].state,
        TurnState::Failed("not sent: the model did not load".into())
    );
}

#[test]
fn download_progress_after_the_download_ended_is_ignored() {
    let mut a = app();
    a.update(Msg::Downloaded(Err("gone".into())));
    a.update(Msg::Download(crate::hub::Progress {
        file: "m.gguf".into(),
        done: 1,
        total: 2,
        rate: None,
    }));
    assert!(a.download.is_none());
}
