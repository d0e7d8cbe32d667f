//! How many of the model's layers go to the GPU, and how a person writes it: a number or
//! `all`, read the same way from `--gpu-layers`, `REFLECT_GPU_LAYERS` and config.toml's
//! `gpu_layers`. Below the command line, config and the engine, which all name it.

/// How many layers to put on the GPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GpuLayers {
    All,
    Count(u32),
}

/// Layers to offload to the GPU: a number or `all` (any case).
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
        assert_eq!(parse_gpu_layers("all"), Ok(GpuLayers::All));
        assert_eq!(parse_gpu_layers("12"), Ok(GpuLayers::Count(12)));
        for bad in ["many", "-1", "", "1.5"] {
            assert!(
                parse_gpu_layers(bad)
                    .unwrap_err()
                    .contains("use a number or 'all'"),
                "{bad:?}"
            );
        }
    }
}
