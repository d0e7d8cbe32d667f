//! The machine's memory as Linux reports it (`/proc/meminfo`): what the model loader checks a
//! KV cache against, and what the rule that picks a quantisation to download measures.

/// A `/proc/meminfo` field (`MemTotal`, `MemAvailable`) in bytes; `None` where there is none.
pub fn meminfo_bytes(field: &str) -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse(&info, field)
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
}
