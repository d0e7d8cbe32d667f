//! What a sampling or thinking-budget value typed by a person means, the same for a flag, an
//! environment variable and a `/set` command: limits that "none" lifts, seeds that "random"
//! draws, the ranges of temperature, top-p, min-p and the repetition penalty.

use crate::config::CONTEXT_STEP;

/// llama.cpp's "draw a seed" value (`LLAMA_DEFAULT_SEED`): a seed of this value is never used
/// as such, the sampler takes one from the clock (and reports it).
pub const RANDOM_SEED: u32 = u32::MAX;

/// A token limit: a whole number from 1, or `none` / `off` for no limit. 0 would never answer.
pub fn parse_max_tokens(v: &str) -> Result<Option<u32>, String> {
    match v.trim() {
        "none" | "off" => Ok(None),
        t => match t.parse::<u32>() {
            Ok(0) => Err("0 would never answer: use 1 or more, or none for no limit".into()),
            Ok(n) => Ok(Some(n)),
            Err(_) => Err(format!(
                "'{t}' is not a token count: use 1 or more, or none for no limit"
            )),
        },
    }
}

/// A token count for a thinking setting: `none` / `off` for none, else a whole number from
/// `min`; `hint` (what to type instead) ends each error.
fn parse_thinking_tokens(v: &str, min: u32, hint: &str) -> Result<Option<u32>, String> {
    let t = v.trim();
    if matches!(t, "none" | "off") {
        return Ok(None);
    }
    match t.parse::<i128>() {
        Ok(n) if n < i128::from(min) => Err(format!("{n} is too small: {hint}")),
        Ok(n) => u32::try_from(n)
            .map(Some)
            .map_err(|_| format!("{n} is too large: {hint}, at most {}", u32::MAX)),
        Err(_) => Err(format!("'{t}' is not a token count: {hint}")),
    }
}

/// A thinking budget: a whole number of tokens from 0 (answer without thinking), or `none` /
/// `off` for no limit.
pub fn parse_think_budget(v: &str) -> Result<Option<u32>, String> {
    parse_thinking_tokens(
        v,
        0,
        "use 0 or more (0 answers without thinking), or none for no limit",
    )
}

/// A minimum of thinking: a whole number of tokens from 1, or `none` / `off` for no minimum.
pub fn parse_min_think(v: &str) -> Result<Option<u32>, String> {
    parse_thinking_tokens(v, 1, "use 1 or more, or none for no minimum")
}

/// A seed: a whole number from 0 to 4294967294, or `random` / `none` / `off` to draw one.
pub fn parse_seed(v: &str) -> Result<u32, String> {
    match v.trim() {
        "random" | "none" | "off" => Ok(RANDOM_SEED),
        t => t
            .parse::<u32>()
            .ok()
            .filter(|s| *s != RANDOM_SEED)
            .ok_or_else(|| format!("'{t}' is not a seed: use 0 to 4294967294, or random")),
    }
}

/// A context size: a whole number of tokens, at least [`CONTEXT_STEP`].
pub fn parse_ctx_size(v: &str) -> Result<u32, String> {
    let n: u32 = v
        .trim()
        .parse()
        .map_err(|_| format!("'{}' is not a number of tokens", v.trim()))?;
    if n < CONTEXT_STEP {
        return Err(format!(
            "{n} tokens is too small: use {CONTEXT_STEP} or more (llama.cpp allocates the context in steps of {CONTEXT_STEP})"
        ));
    }
    Ok(n)
}

fn parse_f32(s: &str) -> Result<f32, String> {
    s.parse::<f32>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("'{s}' is not a number"))
}

/// A sampling temperature: 0 (greedy) or more.
pub fn parse_temperature(s: &str) -> Result<f32, String> {
    let v = parse_f32(s)?;
    if v < 0.0 {
        return Err(format!("{v} is negative: temperature must be 0 or more"));
    }
    Ok(v)
}

/// A probability in (0, 1] (top-p).
pub fn parse_unit_open(s: &str) -> Result<f32, String> {
    let v = parse_f32(s)?;
    if v <= 0.0 || v > 1.0 {
        return Err(format!("{v} is outside (0, 1]"));
    }
    Ok(v)
}

/// A probability in [0, 1] (min-p).
pub fn parse_unit_closed(s: &str) -> Result<f32, String> {
    let v = parse_f32(s)?;
    if !(0.0..=1.0).contains(&v) {
        return Err(format!("{v} is outside [0, 1]"));
    }
    Ok(v)
}

/// A number greater than 0 (the repetition penalty).
pub fn parse_positive(s: &str) -> Result<f32, String> {
    let v = parse_f32(s)?;
    if v <= 0.0 {
        return Err(format!("{v} must be greater than 0"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_seeds_as_people_type_them() {
        assert_eq!(parse_max_tokens("none"), Ok(None));
        assert_eq!(parse_max_tokens(" 64 "), Ok(Some(64)));
        assert!(parse_max_tokens("0").unwrap_err().contains("never answer"));
        assert!(parse_max_tokens("-1").is_err());
        assert_eq!(parse_seed("random"), Ok(RANDOM_SEED));
        assert_eq!(parse_seed("7"), Ok(7));
        assert!(parse_seed("4294967295").is_err());
        assert!(parse_seed("x").is_err());
        assert_eq!(parse_ctx_size("4096"), Ok(4096));
        assert!(parse_ctx_size("10")
            .unwrap_err()
            .contains("use 256 or more"));
        assert!(parse_ctx_size("-1").unwrap_err().contains("not a number"));
    }

    #[test]
    fn thinking_budgets_and_minimums_as_people_type_them() {
        let good: &[(&str, Option<u32>)] = &[
            ("0", Some(0)),
            (" 500 ", Some(500)),
            ("4294967295", Some(u32::MAX)),
            ("none", None),
            ("off", None),
        ];
        for (v, want) in good {
            assert_eq!(parse_think_budget(v), Ok(*want), "{v}");
        }
        let hint = "use 0 or more (0 answers without thinking), or none for no limit";
        let bad = [
            ("-1", format!("-1 is too small: {hint}")),
            ("lots", format!("'lots' is not a token count: {hint}")),
            ("1.5", format!("'1.5' is not a token count: {hint}")),
            ("", format!("'' is not a token count: {hint}")),
            (
                "4294967296",
                format!("4294967296 is too large: {hint}, at most 4294967295"),
            ),
        ];
        for (v, want) in bad {
            assert_eq!(parse_think_budget(v), Err(want), "{v}");
        }

        assert_eq!(parse_min_think("1"), Ok(Some(1)));
        assert_eq!(parse_min_think("none"), Ok(None));
        let hint = "use 1 or more, or none for no minimum";
        let bad = [
            ("0", format!("0 is too small: {hint}")),
            ("-3", format!("-3 is too small: {hint}")),
            ("x", format!("'x' is not a token count: {hint}")),
        ];
        for (v, want) in bad {
            assert_eq!(parse_min_think(v), Err(want), "{v}");
        }
    }

    #[test]
    fn sampling_ranges() {
        assert_eq!(parse_temperature("0"), Ok(0.0));
        assert!(parse_temperature("-1").unwrap_err().contains("negative"));
        assert!(parse_temperature("NaN")
            .unwrap_err()
            .contains("not a number"));
        assert_eq!(parse_unit_open("1"), Ok(1.0));
        assert!(parse_unit_open("0").is_err());
        assert_eq!(parse_unit_closed("0"), Ok(0.0));
        assert!(parse_unit_closed("1.5").is_err());
        assert!(parse_positive("0").unwrap_err().contains("greater than 0"));
        assert_eq!(parse_positive("1.1"), Ok(1.1));
    }
}
