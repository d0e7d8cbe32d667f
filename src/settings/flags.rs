//! The command-line flags that act at the profile level (system prompt, "Think carefully.",
//! sampling, max tokens), applied over a resolved profile.

use crate::cli::Args;
use crate::profile::{Profile, SamplingOverrides};

/// Command-line flags over a profile.
pub fn apply_flags(mut p: Profile, args: &Args) -> Profile {
    if let Some(s) = &args.system {
        p.system = Some(s.clone()).filter(|s| !s.trim().is_empty());
    }
    if args.think_carefully {
        p.think_carefully = true;
    }
    if args.no_think_carefully {
        p.think_carefully = false;
    }
    let flags = SamplingOverrides {
        temperature: args.temperature,
        top_p: args.top_p,
        top_k: args.top_k.map(|k| k.min(i32::MAX as u32) as i32),
        min_p: args.min_p,
        repeat_penalty: args.repeat_penalty,
        seed: args.seed,
        max_tokens: args.max_tokens.and_then(|m| m.0),
    };
    p.sampling = flags.or(&p.sampling);
    // --max-tokens none lifts the profile's limit.
    if args.max_tokens.is_some_and(|m| m.0.is_none()) {
        p.sampling.max_tokens = None;
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
    add("--temperature", args.temperature.map(|v| v.to_string()));
    add("--top-p", args.top_p.map(|v| v.to_string()));
    add("--top-k", args.top_k.map(|v| v.to_string()));
    add("--min-p", args.min_p.map(|v| v.to_string()));
    add(
        "--repeat-penalty",
        args.repeat_penalty.map(|v| v.to_string()),
    );
    add(
        "--seed",
        args.seed.map(|v| match v {
            crate::profile::RANDOM_SEED => "random".to_string(),
            v => v.to_string(),
        }),
    );
    add(
        "--max-tokens",
        args.max_tokens
            .map(|m| m.0.map_or("none".to_string(), |v| v.to_string())),
    );
    add("--system", args.system.as_ref().map(|s| format!("{s:?}")));
    if args.think_carefully {
        out.push("--think-carefully".into());
    }
    if args.no_think_carefully {
        out.push("--no-think-carefully".into());
    }
    out
}
