//! The command-line flags that act at the profile level (system prompt, "Think carefully.",
//! sampling, max tokens, the thinking budget and minimum), applied over a resolved profile.
//!
//! The one place below the binary that reads the parsed flags ([`Args`]): the rest of
//! `settings` merges them with the environment, config.toml and the profile through this
//! module, and nothing else in the library imports `cli`.

pub(super) use crate::cli::Args;
use crate::llm::SamplingOverrides;
use crate::profile::Profile;

/// Command-line flags over a profile.
pub fn apply_flags(mut p: Profile, args: &Args) -> Profile {
    if let Some(s) = &args.profile_flags.system {
        p.system = Some(s.clone()).filter(|s| !s.trim().is_empty());
    }
    if args.profile_flags.think_carefully {
        p.think_carefully = true;
    }
    if args.profile_flags.no_think_carefully {
        p.think_carefully = false;
    }
    let flags = SamplingOverrides {
        temperature: args.profile_flags.temperature,
        top_p: args.profile_flags.top_p,
        top_k: args
            .profile_flags
            .top_k
            .map(|k| k.min(i32::MAX as u32) as i32),
        min_p: args.profile_flags.min_p,
        repeat_penalty: args.profile_flags.repeat_penalty,
        seed: args.profile_flags.seed,
        max_tokens: args.profile_flags.max_tokens.and_then(|m| m.0),
    };
    p.sampling = flags.or(&p.sampling);
    // --max-tokens none lifts the profile's limit.
    if args.profile_flags.max_tokens.is_some_and(|m| m.0.is_none()) {
        p.sampling.max_tokens = None;
    }
    // So do --think-budget none and --min-think none.
    if let Some(v) = args.profile_flags.think_budget {
        p.budget.limit = v.0;
    }
    if let Some(v) = args.profile_flags.min_think {
        p.budget.min_thinking = v.0;
    }
    p
}

/// The profile-level flags given, as typed (`--temperature 0.2`), for a saved profile's
/// description.
pub fn profile_flags(args: &Args) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |flag: &str, v: Option<String>| {
        if let Some(v) = v {
            out.push(format!("{flag} {v}"));
        }
    };
    add(
        "--temperature",
        args.profile_flags.temperature.map(|v| v.to_string()),
    );
    add("--top-p", args.profile_flags.top_p.map(|v| v.to_string()));
    add("--top-k", args.profile_flags.top_k.map(|v| v.to_string()));
    add("--min-p", args.profile_flags.min_p.map(|v| v.to_string()));
    add(
        "--repeat-penalty",
        args.profile_flags.repeat_penalty.map(|v| v.to_string()),
    );
    add(
        "--seed",
        args.profile_flags.seed.map(|v| match v {
            crate::profile::RANDOM_SEED => "random".to_string(),
            v => v.to_string(),
        }),
    );
    add(
        "--max-tokens",
        args.profile_flags
            .max_tokens
            .map(|m| m.0.map_or("none".to_string(), |v| v.to_string())),
    );
    let tokens = |v: crate::cli::TokenLimit| v.0.map_or("none".to_string(), |v| v.to_string());
    add(
        "--think-budget",
        args.profile_flags.think_budget.map(tokens),
    );
    add("--min-think", args.profile_flags.min_think.map(tokens));
    add(
        "--system",
        args.profile_flags.system.as_ref().map(|s| format!("{s:?}")),
    );
    if args.profile_flags.think_carefully {
        out.push("--think-carefully".into());
    }
    if args.profile_flags.no_think_carefully {
        out.push("--no-think-carefully".into());
    }
    out
}
