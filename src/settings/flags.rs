//! A request's [`Overrides`] at the profile level (system prompt, "Think carefully.",
//! sampling, max tokens, the thinking budget and minimum), applied over a resolved profile, and
//! described as the flags that give them.

use super::Overrides;
use crate::llm::SamplingOverrides;
use crate::profile::Profile;

/// The overrides over a profile.
pub fn apply_flags(mut p: Profile, flags: &Overrides) -> Profile {
    if let Some(s) = &flags.system {
        p.system = Some(s.clone()).filter(|s| !s.trim().is_empty());
    }
    if let Some(t) = flags.think_carefully {
        p.think_carefully = t;
    }
    let over = SamplingOverrides {
        temperature: flags.temperature,
        top_p: flags.top_p,
        top_k: flags.top_k.map(|k| k.min(i32::MAX as u32) as i32),
        min_p: flags.min_p,
        repeat_penalty: flags.repeat_penalty,
        seed: flags.seed,
        max_tokens: flags.max_tokens.flatten(),
    };
    p.sampling = over.or(&p.sampling);
    // --max-tokens none lifts the profile's limit.
    if flags.max_tokens.is_some_and(|m| m.is_none()) {
        p.sampling.max_tokens = None;
    }
    // So do --think-budget none and --min-think none.
    if let Some(v) = flags.think_budget {
        p.budget.limit = v;
    }
    if let Some(v) = flags.min_think {
        p.budget.min_thinking = v;
    }
    p
}

/// The profile-level flags given, as typed (`--temperature 0.2`), for a saved profile's
/// description.
pub fn profile_flags(flags: &Overrides) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |flag: &str, v: Option<String>| {
        if let Some(v) = v {
            out.push(format!("{flag} {v}"));
        }
    };
    add("--temperature", flags.temperature.map(|v| v.to_string()));
    add("--top-p", flags.top_p.map(|v| v.to_string()));
    add("--top-k", flags.top_k.map(|v| v.to_string()));
    add("--min-p", flags.min_p.map(|v| v.to_string()));
    add(
        "--repeat-penalty",
        flags.repeat_penalty.map(|v| v.to_string()),
    );
    add(
        "--seed",
        flags.seed.map(|v| match v {
            crate::profile::RANDOM_SEED => "random".to_string(),
            v => v.to_string(),
        }),
    );
    add(
        "--max-tokens",
        flags
            .max_tokens
            .map(|m| m.map_or("none".to_string(), |v| v.to_string())),
    );
    let tokens = |v: Option<u32>| v.map_or("none".to_string(), |v| v.to_string());
    add("--think-budget", flags.think_budget.map(tokens));
    add("--min-think", flags.min_think.map(tokens));
    add("--system", flags.system.as_ref().map(|s| format!("{s:?}")));
    match flags.think_carefully {
        Some(true) => out.push("--think-carefully".into()),
        Some(false) => out.push("--no-think-carefully".into()),
        None => {}
    }
    out
}
