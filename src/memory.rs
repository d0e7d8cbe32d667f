//! Memory: the machine's as Linux reports it (`/proc/meminfo`), and what a KV cache takes;
//! what the model loader checks a context against, and what the rule that picks a
//! quantisation to download measures.

/// A `/proc/meminfo` field (`MemTotal`, `MemAvailable`) in bytes; `None` where there is none.
pub fn meminfo_bytes(field: &str) -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse(&info, field)
}

/// The memory available now (Linux: `MemAvailable`), in GiB; `None` where it is not known.
pub fn available_gib() -> Option<f64> {
    meminfo_bytes("MemAvailable").map(gib)
}

/// Bytes of a KV cache of `tokens` positions: f16 keys and values for every layer, each
/// `heads_kv` heads of `embedding / heads` wide (what llama.cpp allocates by default).
pub fn kv_cache_bytes(tokens: u64, layers: u64, heads: u64, heads_kv: u64, embedding: u64) -> u64 {
    let head_dim = embedding / heads.max(1);
    2u64.saturating_mul(2)
        .saturating_mul(tokens)
        .saturating_mul(layers)
        .saturating_mul(heads_kv.max(1))
        .saturating_mul(head_dim)
}

/// Bytes in GiB.
pub fn gib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1u32 << 30)
}

fn parse(info: &str, field: &str) -> Option<u64> {
    let kib: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields_are_read_in_bytes() {
        let info = "MemTotal:       24576000 kB\nMemFree:  100 kB\nMemAvailable:   12288000 kB\n";
        assert_eq!(super::parse(info, "MemTotal"), Some(24_576_000 * 1024));
        assert_eq!(super::parse(info, "MemAvailable"), Some(12_288_000 * 1024));
        assert_eq!(super::parse(info, "Mem"), None);
        assert_eq!(super::parse("", "MemTotal"), None);
    }

    #[test]
    fn a_kv_cache_is_keys_and_values_in_f16() {
        // Llama 3.1 70B at 8192 tokens: 80 layers, 8 KV heads of 128: 2.5 GiB.
        let b = super::kv_cache_bytes(8192, 80, 64, 8, 8192);
        assert_eq!(b, 2 * 2 * 8192 * 80 * 8 * 128);
        assert_eq!(super::gib(b), 2.5);
    }
}
