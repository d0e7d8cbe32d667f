//! Profiles and the running settings: `/profile` applies one, `/save-profile` makes one, `/set`
//! changes one value, `/set` alone describes them.

use super::commands::Setting;
use crate::llm::{SamplingOverrides, SamplingSettings};
use crate::profile::Profile;
use crate::settings::RunSettings;

/// Applies a loaded profile over the settings: system prompt, "Think carefully.", history,
/// tags and router, sampling (the profile's values over reflect's defaults), and tools: a
/// profile's `tools` list turns them on, offering those; a profile without one offers every
/// tool again and leaves them on or off as they were (`/tools` decides).
pub fn apply_profile(settings: &mut RunSettings, p: &Profile) {
    if p.tools.is_empty() {
        settings.tools.offered = crate::tools::ToolSettings::default().offered;
    } else {
        settings.tools.on = true;
        settings.tools.offered.clone_from(&p.tools);
    }
    settings.system = p.system.clone();
    settings.think_carefully = p.think_carefully;
    settings.history = p.history;
    settings.router = p.router();
    settings.engine.set_tags(p.tags.clone());
    settings.sampling = p.sampling.finish(&SamplingSettings::default());
    settings.max_tokens = p.sampling.max_tokens;
    settings.overrides = p.sampling.clone();
    settings.budget = p.budget.clone();
    settings.profile = p.name.clone();
}

/// The current settings as a profile named `name`.
pub fn profile_from_settings(settings: &RunSettings, name: &str) -> Profile {
    Profile {
        name: name.to_string(),
        description: "Saved from the TUI".into(),
        system: settings.system.clone(),
        think_carefully: settings.think_carefully,
        history: settings.history,
        budget: settings.budget.clone(),
        // What was set, as --save-profile saves it: defaults stay unset.
        sampling: SamplingOverrides {
            max_tokens: settings.max_tokens,
            ..settings.overrides.clone()
        },
        tags: settings.router.tags.clone(),
        start_in_thinking: settings.router.start_in_thinking,
        stop_after_output: settings.router.stop_after_output,
        chat_template: settings
            .engine
            .llama()
            .and_then(|c| c.chat_template.clone()),
        lookup: settings
            .engine
            .llama()
            .map(|c| c.speculation.lookup)
            .filter(|n| *n > 0),
        tools: if settings.tools.on {
            settings.tools.offered.clone()
        } else {
            Vec::new()
        },
    }
}

/// Applies one `/set`; returns what to tell the user.
pub fn apply_setting(settings: &mut RunSettings, setting: &Setting) -> String {
    let s = &mut settings.sampling;
    let o = &mut settings.overrides;
    match *setting {
        Setting::Temperature(v) => (s.temperature, o.temperature) = (v, Some(v)),
        Setting::TopP(v) => (s.top_p, o.top_p) = (v, Some(v)),
        Setting::TopK(v) => (s.top_k, o.top_k) = (v, Some(v)),
        Setting::MinP(v) => (s.min_p, o.min_p) = (v, Some(v)),
        Setting::RepeatPenalty(v) => (s.repeat_penalty, o.repeat_penalty) = (v, Some(v)),
        Setting::Seed(v) => (s.seed, o.seed) = (v, v),
        Setting::MaxTokens(v) => (settings.max_tokens, o.max_tokens) = (v, v),
    }
    describe(settings)
}

/// One line: every sampling value and the token limit.
pub fn describe(settings: &RunSettings) -> String {
    let s = &settings.sampling;
    let seed = s
        .seed
        .filter(|v| *v != crate::profile::RANDOM_SEED)
        .map_or("random".to_string(), |v| v.to_string());
    let max = settings
        .max_tokens
        .map_or("none".to_string(), |v| v.to_string());
    format!(
        "temperature {} · top_p {} · top_k {} · min_p {} · repeat_penalty {} · seed {seed} · max_tokens {max}",
        s.temperature, s.top_p, s.top_k, s.min_p, s.repeat_penalty
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::History;
    use crate::stream::TagSet;
    use crate::tui::app::tests::settings;

    #[test]
    fn a_profile_replaces_what_it_holds() {
        let mut s = settings();
        s.sampling.temperature = 0.1;
        s.max_tokens = Some(5);
        let p = Profile {
            name: "think".into(),
            system: None,
            think_carefully: false,
            history: History::Full,
            sampling: SamplingOverrides {
                top_k: Some(7),
                ..Default::default()
            },
            tags: TagSet::think(),
            start_in_thinking: true,
            ..Profile::builtin()
        };
        apply_profile(&mut s, &p);
        assert_eq!(s.profile, "think");
        assert_eq!(s.system, None);
        assert!(!s.think_carefully);
        assert_eq!(s.history, History::Full);
        assert_eq!(s.router.tags, TagSet::think());
        assert!(s.router.start_in_thinking);
        assert_eq!(s.engine.llama().unwrap().tags, TagSet::think());
        assert_eq!(s.sampling.top_k, 7);
        assert_eq!(
            s.sampling.temperature, 0.7,
            "unset values: reflect's defaults"
        );
        assert_eq!(s.max_tokens, None);
    }

    #[test]
    fn a_profiles_tools_turn_them_on_and_one_without_offers_them_all_again() {
        let mut s = settings();
        let agent = Profile {
            tools: vec!["read_file".into(), "search".into()],
            ..Profile::builtin()
        };
        apply_profile(&mut s, &agent);
        assert!(s.tools.on);
        assert_eq!(s.tools.offered, ["read_file", "search"]);
        apply_profile(&mut s, &Profile::builtin());
        assert!(s.tools.on, "on until /tools off");
        assert_eq!(s.tools.offered.len(), 6);
        s.tools.on = false;
        apply_profile(&mut s, &Profile::builtin());
        assert!(!s.tools.on);
    }

    #[test]
    fn saved_profiles_hold_every_current_value_and_load_back() {
        let mut s = settings();
        apply_setting(&mut s, &Setting::Seed(Some(9)));
        apply_setting(&mut s, &Setting::MaxTokens(Some(64)));
        let p = profile_from_settings(&s, "mine");
        assert_eq!(p.name, "mine");
        assert_eq!(p.description, "Saved from the TUI");
        assert_eq!(p.sampling.seed, Some(9));
        assert_eq!(p.sampling.max_tokens, Some(64));
        let mut back = settings();
        apply_profile(&mut back, &p);
        assert_eq!(back.sampling, s.sampling);
        assert_eq!(back.max_tokens, Some(64));
        assert_eq!(back.system, s.system);
    }

    #[test]
    fn settings_are_described_on_one_line() {
        let mut s = settings();
        let line = apply_setting(&mut s, &Setting::Temperature(0.25));
        assert_eq!(
            line,
            "temperature 0.25 · top_p 0.95 · top_k 40 · min_p 0.05 · repeat_penalty 1 · seed random · max_tokens none"
        );
    }

    #[test]
    fn a_saved_profile_pins_what_was_set_and_leaves_defaults_unset_like_the_flag() {
        let mut s = settings();
        let builtin = crate::profile::Profile::builtin();
        let saved = profile_from_settings(&s, "mine");
        assert_eq!(
            saved.sampling, builtin.sampling,
            "nothing /set: the profile's own values"
        );
        apply_setting(&mut s, &Setting::TopK(5));
        apply_setting(&mut s, &Setting::MaxTokens(Some(64)));
        let saved = profile_from_settings(&s, "mine");
        assert_eq!(saved.sampling.top_k, Some(5));
        assert_eq!(saved.sampling.max_tokens, Some(64));
        assert_eq!(saved.sampling.min_p, builtin.sampling.min_p, "not pinned");
    }
}
