//! Sampling settings, as profiles, flags and sessions give them: the concrete
//! [`SamplingSettings`], and [`SamplingOverrides`], where each value may be left unset at one
//! level of the precedence order (flags, profile, the model's GGUF defaults) and fall through to
//! the next; [`SamplingSettings::DEFAULT`] states reflect's own defaults once. Free of
//! llama.cpp, so that the fuzz crate compiles this very file; the sampler chain is built in
//! `engine/llama/sampler_chain.rs`.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Sampling settings. Defaults follow the Reflection model card (temperature 0.7, top_p 0.95)
/// and llama.cpp for the rest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SamplingSettings {
    pub temperature: f32,
    pub top_p: f32,
    pub top_k: i32,
    pub min_p: f32,
    pub repeat_penalty: f32,
    /// Fixed seed for reproducible runs; `None` draws one per generation.
    pub seed: Option<u32>,
}

impl SamplingSettings {
    /// reflect's own defaults, under the profile's and the model file's: the one statement of
    /// them (the saved profile's comments use it; `--help` and the README are tested against it).
    pub const DEFAULT: SamplingSettings = SamplingSettings {
        temperature: 0.7,
        top_p: 0.95,
        top_k: 40,
        min_p: 0.05,
        repeat_penalty: 1.0,
        seed: None,
    };
}

impl Default for SamplingSettings {
    fn default() -> Self {
        SamplingSettings::DEFAULT
    }
}

/// Sampling settings where each value may be left to a lower level.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SamplingOverrides {
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub top_k: Option<i32>,
    pub min_p: Option<f32>,
    pub repeat_penalty: Option<f32>,
    pub seed: Option<u32>,
    pub max_tokens: Option<u32>,
}

impl SamplingOverrides {
    /// Each value from `self`, else from `lower`.
    pub fn or(&self, lower: &SamplingOverrides) -> SamplingOverrides {
        SamplingOverrides {
            temperature: self.temperature.or(lower.temperature),
            top_p: self.top_p.or(lower.top_p),
            top_k: self.top_k.or(lower.top_k),
            min_p: self.min_p.or(lower.min_p),
            repeat_penalty: self.repeat_penalty.or(lower.repeat_penalty),
            seed: self.seed.or(lower.seed),
            max_tokens: self.max_tokens.or(lower.max_tokens),
        }
    }

    /// Concrete settings: unset values come from `defaults`.
    pub fn finish(&self, defaults: &SamplingSettings) -> SamplingSettings {
        SamplingSettings {
            temperature: self.temperature.unwrap_or(defaults.temperature),
            top_p: self.top_p.unwrap_or(defaults.top_p),
            top_k: self.top_k.unwrap_or(defaults.top_k),
            min_p: self.min_p.unwrap_or(defaults.min_p),
            repeat_penalty: self.repeat_penalty.unwrap_or(defaults.repeat_penalty),
            seed: self.seed.or(defaults.seed),
        }
    }

    /// The sampling defaults a GGUF file recommends (`general.sampling.*`, keys without the
    /// prefix as llama.cpp names them: temp, top_p, top_k, min_p, penalty_repeat, seed).
    /// Values out of range are ignored, and so is llama.cpp's "random" seed (0xFFFFFFFF).
    pub fn from_gguf(keys: &HashMap<String, f64>) -> SamplingOverrides {
        let get = |k: &str| keys.get(k).copied().filter(|v| v.is_finite());
        // Checked as stored too: 1e-50 is a positive f64 but 0.0 as an f32.
        let float = |k: &str, ok: fn(f64) -> bool| {
            get(k)
                .filter(|v| ok(*v))
                .map(|v| v as f32)
                .filter(|f| f.is_finite() && ok(f64::from(*f)))
        };
        let whole = |k: &str| get(k).filter(|v| v.fract() == 0.0 && *v >= 0.0);
        SamplingOverrides {
            temperature: float("temp", |v| v >= 0.0),
            top_p: float("top_p", |v| v > 0.0 && v <= 1.0),
            top_k: whole("top_k")
                .filter(|v| *v <= f64::from(i32::MAX))
                .map(|v| v as i32),
            min_p: float("min_p", |v| (0.0..=1.0).contains(&v)),
            repeat_penalty: float("penalty_repeat", |v| v > 0.0),
            seed: whole("seed")
                .filter(|v| *v < f64::from(u32::MAX))
                .map(|v| v as u32),
            max_tokens: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gguf_values_out_of_range_once_stored_as_f32_are_ignored() {
        let keys: HashMap<String, f64> = [("top_p", 1e-50), ("temp", 1e300), ("min_p", 0.5)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let s = SamplingOverrides::from_gguf(&keys);
        assert_eq!((s.top_p, s.temperature, s.min_p), (None, None, Some(0.5)));
    }

    #[test]
    fn upper_levels_win_value_by_value() {
        let upper = SamplingOverrides {
            temperature: Some(0.1),
            ..Default::default()
        };
        let lower = SamplingOverrides {
            temperature: Some(0.9),
            top_k: Some(5),
            ..Default::default()
        };
        let s = upper.or(&lower).finish(&SamplingSettings::default());
        assert_eq!((s.temperature, s.top_k, s.top_p), (0.1, 5, 0.95));
    }

    #[test]
    fn gguf_keys_as_llama_cpp_names_them() {
        let keys: HashMap<String, f64> = [
            ("temp", 0.6),
            ("top_p", 0.9),
            ("top_k", 20.0),
            ("min_p", 0.0),
            ("penalty_repeat", 1.1),
            ("seed", 4294967295.0),
            ("mirostat", 2.0),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let s = SamplingOverrides::from_gguf(&keys);
        assert_eq!(s.temperature, Some(0.6));
        assert_eq!(s.top_p, Some(0.9));
        assert_eq!(s.top_k, Some(20));
        assert_eq!(s.min_p, Some(0.0));
        assert_eq!(s.repeat_penalty, Some(1.1));
        assert_eq!(s.seed, None, "0xFFFFFFFF means random");
        let bad: HashMap<String, f64> = [("temp", -1.0), ("top_p", 2.0), ("top_k", 1.5)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(
            SamplingOverrides::from_gguf(&bad),
            SamplingOverrides::default()
        );
    }
}
