//! Token counts as config.toml and prompt profiles both write them: the context size's step,
//! the thinking budget and its minimum. Kept here, below both, so that config.toml reads them
//! without importing profiles (profiles build on config's TOML reading, not the other way).

use super::error::ConfigError;
use super::strict_toml::Field;

/// The smallest context llama.cpp allocates: it rounds a context up to a multiple of this.
pub const CONTEXT_STEP: u32 = 256;

const BUDGET_RULE: &str =
    "must be between 0 and 4294967295 (0 answers without thinking; \"none\" for no limit)";
const MINIMUM_RULE: &str = "must be between 1 and 4294967295 (\"none\" for no minimum)";

/// `thinking_budget`: a whole number of tokens from 0, or "none" / "off".
pub fn budget(f: &Field<'_>) -> Result<Option<u32>, ConfigError> {
    tokens_or_none(f, 0, BUDGET_RULE, "for no limit")
}

/// `min_thinking`: a whole number of tokens from 1, or "none" / "off".
pub fn minimum(f: &Field<'_>) -> Result<Option<u32>, ConfigError> {
    tokens_or_none(f, 1, MINIMUM_RULE, "for no minimum")
}

fn tokens_or_none(
    f: &Field<'_>,
    min: u32,
    rule: &str,
    none: &str,
) -> Result<Option<u32>, ConfigError> {
    if f.is_int() {
        let n = f.int()?;
        return u32::try_from(n)
            .ok()
            .filter(|n| *n >= min)
            .map(Some)
            .ok_or_else(|| f.out_of_range(rule));
    }
    match f.str() {
        Ok(s) if matches!(s.trim(), "none" | "off") => Ok(None),
        Ok(_) => Err(f.invalid(format!("use a whole number of tokens, or \"none\" {none}"))),
        Err(_) => Err(f.error(format!(
            "{} must be a whole number of tokens or \"none\", not {}",
            f.path,
            f.written()
        ))),
    }
}
