//! "Did you mean …?": the closest known name to a misspelt one, by edit distance.

/// Edit distance between two strings, in characters: insertions, deletions, substitutions
/// and swaps of two neighbours (optimal string alignment), so `modle` is 1 from `model`.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: distance between a[..i] and b[..j].
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a plausible typo: at most a
/// third of the word's length in edits (at least one, at most three).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `" — did you mean 'x'?"` or nothing.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates)
        .map(|c| format!(" — did you mean '{c}'?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        let table = [
            ("", "", 0),
            ("abc", "", 3),
            ("temprature", "temperature", 1),
            ("kitten", "sitting", 3),
            ("top_p", "top_k", 1),
            ("grean", "green", 1),
            ("modle", "model", 1),
            ("thnik", "think", 1),
        ];
        for (a, b, want) in table {
            assert_eq!(distance(a, b), want, "{a} / {b}");
            assert_eq!(distance(b, a), want, "{b} / {a}");
        }
    }

    #[test]
    fn suggests_only_plausible_typos() {
        let keys = ["temperature", "top_p", "top_k", "min_p", "seed"];
        assert_eq!(closest("temprature", keys), Some("temperature"));
        assert_eq!(closest("TOP_P", keys), Some("top_p"));
        assert_eq!(closest("colour", keys), None);
        assert_eq!(did_you_mean("sed", keys), " — did you mean 'seed'?");
        assert_eq!(did_you_mean("banana", keys), "");
    }
}
