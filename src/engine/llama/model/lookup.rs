//! Prompt lookup (n-gram) drafting: the tokens that followed the latest earlier occurrence of
//! the longest suffix of the text so far (the prompt and everything generated after it). Pure,
//! generic over the token type, so that it is tested without a model.

/// The shortest suffix looked up. Two tokens repeat by chance in text that does not repeat:
/// on the random 8x768 model's greedy answer (1,024 tokens) suffixes of 2 made 26 verify
/// batches for 23 accepted drafts, suffixes of 3 made 15 for 22, and each batch costs the
/// model about a token (docs/benchmarks.md). Text that repeats matches longer suffixes.
pub(super) const MIN_MATCH: usize = 3;
/// The longest suffix looked up.
pub(super) const MAX_MATCH: usize = 4;

/// Where a draft came from: the suffix of `len` tokens also starts at `at`, earlier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Match {
    pub at: usize,
    pub len: usize,
}

/// Up to `n` tokens into `out` (cleared first): what followed the latest earlier occurrence of
/// the longest suffix of `history` (from [`MAX_MATCH`] down to [`MIN_MATCH`] tokens). A
/// continuation that runs into the end of `history` goes on with the tokens drafted so far
/// (a loop of period p repeats: the draft is as long as asked). `None`, and `out` empty, when
/// no suffix occurs earlier.
pub(super) fn draft<T: PartialEq + Copy>(
    history: &[T],
    n: usize,
    out: &mut Vec<T>,
) -> Option<Match> {
    out.clear();
    if n == 0 {
        return None;
    }
    let len = history.len();
    for m in (MIN_MATCH..=MAX_MATCH).rev() {
        if len <= m {
            continue;
        }
        let suffix = &history[len - m..];
        // Earlier occurrences only: starting before the suffix does; the latest first.
        let Some(at) = (0..len - m).rev().find(|&j| history[j..j + m] == *suffix) else {
            continue;
        };
        for k in 0..n {
            let i = at + m + k;
            let t = if i < len { history[i] } else { out[i - len] };
            out.push(t);
        }
        return Some(Match { at, len: m });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn drafted(history: &str, n: usize) -> String {
        let h: Vec<char> = history.chars().collect();
        let mut out = Vec::new();
        draft(&h, n, &mut out);
        out.into_iter().collect()
    }

    #[test]
    fn drafts_follow_the_longest_latest_match() {
        for (history, n, want) in [
            // "abc" occurred before, followed by "d".
            ("abcdxabc", 3, "dxa"),
            // The longest suffix wins over a later, shorter one: "abcd" → "X", not "bcd" → "Y".
            ("abcdXbcdYabcd", 1, "X"),
            // Of equal length, the latest occurrence: "abc" then "2", not "1".
            ("abc1abc2abc", 1, "2"),
            // A loop goes on for as long as asked.
            ("xyxyxy", 5, "xyxyx"),
            // No earlier occurrence of even two tokens: nothing.
            ("abcdefg", 4, ""),
            // Two tokens alone are not enough: they repeat by chance.
            ("abcab", 4, ""),
            ("", 4, ""),
            ("aaaa", 0, ""),
        ] {
            assert_eq!(drafted(history, n), want, "{history:?} n={n}");
        }
    }

    proptest! {
        /// A draft is always a continuation found in the history: the suffix it was drafted
        /// from occurs earlier, and each drafted token is the one that followed it there (in
        /// the history, or in the draft itself once the copy runs into the end).
        #[test]
        fn a_draft_continues_an_earlier_occurrence(
            history in proptest::collection::vec(0u8..4, 0..60),
            n in 0usize..12,
        ) {
            let mut out = Vec::new();
            let found = draft(&history, n, &mut out);
            match found {
                None => {
                    prop_assert!(out.is_empty());
                    // No suffix of two tokens occurs earlier.
                    if history.len() > MIN_MATCH && n > 0 {
                        let s = &history[history.len() - MIN_MATCH..];
                        prop_assert!(!history[..history.len() - 1]
                            .windows(MIN_MATCH)
                            .any(|w| w == s));
                    }
                }
                Some(Match { at, len }) => {
                    prop_assert_eq!(out.len(), n);
                    prop_assert!((MIN_MATCH..=MAX_MATCH).contains(&len));
                    let h = history.len();
                    prop_assert!(at + len < h + 1 && at < h - len);
                    prop_assert_eq!(&history[at..at + len], &history[h - len..]);
                    let whole: Vec<u8> = history.iter().chain(&out).copied().collect();
                    for (k, t) in out.iter().enumerate() {
                        prop_assert_eq!(*t, whole[at + len + k]);
                    }
                }
            }
        }
    }
}
