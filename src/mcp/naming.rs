//! The names MCP tools are offered under: `SERVER__TOOL`, valid in every function-calling API
//! (`^[a-zA-Z0-9_-]{1,64}$`). Other characters become `_`; a name that is too long, or that
//! would clash with another of the same server, is shortened and given a short hash of the
//! original, so the same tools always get the same names.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub use crate::tools::names::{
    is_mcp_tool_name, valid_server_name, valid_tool_name, MAX_LEN, SEPARATOR,
};

/// The offered name of each of a server's tools, in order: distinct and valid.
pub fn tool_names(server: &str, tools: &[String]) -> Vec<String> {
    let plain: Vec<String> = tools
        .iter()
        .map(|t| format!("{server}{SEPARATOR}{}", sanitize(t)))
        .collect();
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &plain {
        *count.entry(p).or_default() += 1;
    }
    let mut taken = std::collections::BTreeSet::new();
    let mut names = Vec::with_capacity(tools.len());
    for (tool, p) in tools.iter().zip(&plain) {
        let mut name = if p.len() <= MAX_LEN && count[p.as_str()] == 1 {
            p.clone()
        } else {
            hashed(p, &format!("{server}{SEPARATOR}{tool}"), 0)
        };
        let mut n = 1;
        while !taken.insert(name.clone()) {
            name = hashed(p, &format!("{server}{SEPARATOR}{tool}"), n);
            n += 1;
        }
        names.push(name);
    }
    names
}

/// Characters outside `[a-zA-Z0-9_-]` as `_`; an empty name as `_`.
fn sanitize(tool: &str) -> String {
    let s: String = tool
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "_".into()
    } else {
        s
    }
}

/// `plain` cut to leave room for `-` and 8 hex digits of the original's hash (`salt` > 0 when
/// that too is taken).
fn hashed(plain: &str, original: &str, salt: usize) -> String {
    let digest = Sha256::digest(format!("{original}\u{0}{salt}").as_bytes());
    let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let keep = plain.len().min(MAX_LEN - 1 - hex.len());
    format!("{}-{hex}", &plain[..keep])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_names_pass_through_others_are_sanitised_or_shortened() {
        let tools: Vec<String> = ["echo", "get-sum", "read.file", "read_file", &"x".repeat(80)]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let names = tool_names("fs", &tools);
        assert_eq!(names[0], "fs__echo");
        assert_eq!(names[1], "fs__get-sum");
        // `read.file` and `read_file` would both be fs__read_file: both get a hash.
        assert!(
            names[2].starts_with("fs__read_file-") && names[2].len() == 22,
            "{}",
            names[2]
        );
        assert!(names[3].starts_with("fs__read_file-"), "{}", names[3]);
        assert_ne!(names[2], names[3]);
        assert_eq!(names[4].len(), MAX_LEN);
        assert!(names[4].starts_with("fs__xxxx"));
        assert_eq!(tool_names("fs", &tools), names, "deterministic");
    }

    #[test]
    fn server_names_must_leave_the_separator_unambiguous() {
        assert!(valid_server_name("fs"));
        assert!(valid_server_name("my-server_2"));
        for bad in ["", "a__b", "a.b", "a b", &"s".repeat(33)] {
            assert!(!valid_server_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn config_lists_may_name_mcp_tools() {
        for ok in ["fs__read_text_file", "every__get-sum", "a-b__c__d"] {
            assert!(is_mcp_tool_name(ok), "{ok}");
        }
        for bad in [
            "read_file",
            "fs__",
            "__x",
            "fs.read",
            "a__b.c",
            &format!("fs__{}", "x".repeat(61)),
        ] {
            assert!(!is_mcp_tool_name(bad), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn names_are_always_valid_deterministic_and_unique(
            server in "[a-z][a-z0-9-]{0,31}",
            tools in proptest::collection::vec("\\PC{0,80}", 0..12),
        ) {
            let names = tool_names(&server, &tools);
            prop_assert_eq!(names.len(), tools.len());
            for n in &names {
                prop_assert!(valid_tool_name(n), "{:?}", n);
            }
            prop_assert_eq!(&tool_names(&server, &tools), &names);
            let distinct: std::collections::BTreeSet<_> = names.iter().collect();
            prop_assert_eq!(distinct.len(), tools.len(), "every tool gets its own name");
        }
    }
}
