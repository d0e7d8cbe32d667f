//! Slash commands through the reducer.

use super::*;
use crate::llm::Role;
use crate::stream::TagSet;
use crate::tui::app::Level;

fn error_shown(a: &App, part: &str) -> bool {
    a.banner()
        .is_some_and(|b| b.level == Level::Error && b.text.contains(part))
}

#[test]
fn profile_asks_the_runtime_then_applies_the_answer() {
    let mut a = loaded();
    let fx = send(&mut a, "/profile think");
    assert!(matches!(fx.as_slice(), [Effect::LoadProfile(n)] if n == "think"));
    assert!(a.turns().is_empty(), "a command is not a message");
    let p = Profile {
        name: "think".into(),
        system: None,
        think_carefully: false,
        tags: TagSet::think(),
        ..Profile::builtin()
    };
    a.update(Msg::ProfileLoaded(Ok(p)));
    assert_eq!(a.settings().profile, "think");
    assert_eq!(a.settings().router.tags, TagSet::think());
    let fx = send(&mut a, "hi");
    let req = generate(&fx).expect("sent");
    assert_eq!(req.router.tags, TagSet::think());
    assert_eq!(req.messages.len(), 1, "no system prompt");
    assert_eq!(req.messages[0].content, "hi");
    a.update(Msg::ProfileLoaded(Err("no profile 'nope'".into())));
    assert!(error_shown(&a, "no profile 'nope'"));
}

#[test]
fn profile_and_theme_alone_list_what_there_is() {
    let mut a = loaded();
    assert!(matches!(
        send(&mut a, "/profile").as_slice(),
        [Effect::ListProfiles]
    ));
    assert!(matches!(
        send(&mut a, "/theme").as_slice(),
        [Effect::ListThemes]
    ));
    assert_eq!(a.input_text(), "");
}

#[test]
fn theme_swaps_the_theme() {
    let mut a = loaded();
    let fx = send(&mut a, "/theme light");
    assert!(matches!(fx.as_slice(), [Effect::LoadTheme(n)] if n == "light"));
    let light = theme::load_spec(&theme::catalog(None), "light", None).expect("bundled");
    a.update(Msg::ThemeLoaded(Ok(light.clone())));
    assert_eq!(a.theme(), &light);
    assert_eq!(a.theme_name(), "light");
    a.update(Msg::ThemeLoaded(Err("bad theme".into())));
    assert!(error_shown(&a, "bad theme"));
    assert_eq!(a.theme(), &light);
}

#[test]
fn think_set_and_system_change_the_next_request() {
    let mut a = loaded();
    send(&mut a, "/think off");
    assert!(!a.settings().think_carefully);
    send(&mut a, "/think");
    assert!(a.settings().think_carefully);
    send(&mut a, "/set temperature 0.2");
    send(&mut a, "/set max_tokens 64");
    send(&mut a, "/set seed 7");
    send(&mut a, "/system Be brief.");
    let fx = send(&mut a, "q");
    let req = generate(&fx).expect("sent");
    assert_eq!(req.sampling.temperature, 0.2);
    assert_eq!(req.sampling.seed, Some(7));
    assert_eq!(req.max_tokens, Some(64));
    assert_eq!(
        (req.messages[0].role, req.messages[0].content.as_str()),
        (Role::System, "Be brief.")
    );
    a.update(done(1, StopReason::EndOfTurn));
    send(&mut a, "/system none");
    assert_eq!(a.settings().system, None);
    send(&mut a, "/system");
    assert!(a
        .banner()
        .is_some_and(|b| b.text.contains("No system prompt")));
    send(&mut a, "/set");
    assert!(a
        .banner()
        .is_some_and(|b| b.text.contains("temperature 0.2")));
}

#[test]
fn bad_values_and_unknown_commands_show_a_message_and_up_brings_the_command_back() {
    let mut a = loaded();
    let before = a.settings().sampling.clone();
    for (line, why) in [
        ("/set temperature -1", "negative"),
        ("/set top_p 0", "outside (0, 1]"),
        ("/set colour red", "unknown key"),
        ("/frobnicate", "unknown command"),
        ("/think maybe", "on or off"),
    ] {
        let fx = send(&mut a, line);
        assert!(fx.is_empty(), "{line}");
        assert!(error_shown(&a, why), "{line}: {:?}", a.banner());
        // As after a command that fails later (/profile nosuch): the box is empty, so the
        // next text is not appended to the command; Up brings it back to fix.
        assert_eq!(a.input_text(), "", "{line}");
        a.update(key(KeyCode::Up));
        assert_eq!(a.input_text(), line, "recalled");
        a.update(ctrl('c'));
    }
    assert_eq!(a.settings().sampling, before);
    assert!(a.turns().is_empty());
}

#[test]
fn save_profile_hands_the_current_settings_to_the_runtime() {
    let mut a = loaded();
    send(&mut a, "/set top_k 12");
    let fx = send(&mut a, "/save-profile cool");
    let [Effect::SaveProfile(p)] = fx.as_slice() else {
        panic!("one SaveProfile effect");
    };
    assert_eq!(p.name, "cool");
    assert_eq!(p.description, "Saved from the TUI");
    assert_eq!(p.sampling.top_k, Some(12));
    assert_eq!(p.system, a.settings().system);
}

#[test]
fn clear_help_and_quit() {
    let mut a = mid_stream();
    let fx = send(&mut a, "/clear");
    assert!(fx.iter().any(|e| matches!(e, Effect::Cancel(1))));
    assert!(a.turns().is_empty());
    send(&mut a, "/help");
    assert!(a.ui().help.is_some());
    a.update(key(KeyCode::Esc));
    let fx = send(&mut a, "/quit");
    assert!(fx.iter().any(|e| matches!(e, Effect::Quit)));
    assert!(a.should_quit());
}

#[test]
fn a_double_slash_sends_a_message_starting_with_a_slash() {
    let mut a = loaded();
    let fx = send(&mut a, "//etc/hosts: what is it?");
    let req = generate(&fx).expect("sent");
    assert_eq!(
        req.messages.last().map(|m| m.content.as_str()),
        Some("/etc/hosts: what is it? Think carefully.")
    );
}
