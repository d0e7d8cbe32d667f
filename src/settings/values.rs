//! What an engine or output setting typed by a person means, the same for a flag, an
//! environment variable and config.toml: GPU layers, the output format.

use crate::engine::GpuLayers;

/// How a one-shot answer is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The answer only, streamed to stdout.
    Text,
    /// One JSON object at the end.
    Json,
    /// One JSON event per line as it happens.
    Jsonl,
}

/// Layers to offload to the GPU: a number or `all`.
pub fn parse_gpu_layers(s: &str) -> Result<GpuLayers, String> {
    if s.eq_ignore_ascii_case("all") {
        return Ok(GpuLayers::All);
    }
    s.parse::<u32>()
        .map(GpuLayers::Count)
        .map_err(|_| format!("'{s}' is not a layer count: use a number or 'all'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_layers_are_a_count_or_all() {
        assert_eq!(parse_gpu_layers("ALL"), Ok(GpuLayers::All));
        assert_eq!(parse_gpu_layers("12"), Ok(GpuLayers::Count(12)));
        assert!(parse_gpu_layers("many")
            .unwrap_err()
            .contains("use a number or 'all'"));
    }
}
