//! Which GGUF file of a repository to fetch: files grouped into quantisations (a split model's
//! parts are one), `:QUANT` matched against them, and the documented rule when none is named.
//! Pure: names and sizes in, a choice (or the list to choose from) out.

/// A file of the repository, as its listing gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoFile {
    /// The path in the repository (`Q4_K_M/model-00001-of-00002.gguf`).
    pub name: String,
    pub size: Option<u64>,
}

/// One quantisation: a single file, or every part of a split one, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quant {
    /// `Q4_K_M`, as found in the name; else the file's stem.
    pub label: String,
    pub files: Vec<RepoFile>,
}

impl Quant {
    /// All parts together, when the listing gives their sizes.
    pub fn size(&self) -> Option<u64> {
        self.files
            .iter()
            .try_fold(0u64, |sum, f| Some(sum.saturating_add(f.size?)))
    }

    /// The file llama.cpp is pointed at: the first part.
    pub fn first(&self) -> &RepoFile {
        &self.files[0]
    }
}

/// The quantisation names llama.cpp writes, longest first where one begins another.
const KNOWN: &[&str] = &[
    "IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ3_XXS", "IQ3_XS", "IQ3_S", "IQ3_M",
    "IQ4_XS", "IQ4_NL", "Q2_K_XL", "Q2_K_L", "Q2_K_S", "Q2_K", "Q3_K_XL", "Q3_K_S", "Q3_K_M",
    "Q3_K_L", "Q3_K", "Q4_0_4_4", "Q4_0_4_8", "Q4_0_8_8", "Q4_0", "Q4_1", "Q4_K_XL", "Q4_K_S",
    "Q4_K_M", "Q4_K_L", "Q4_K", "Q5_0", "Q5_1", "Q5_K_XL", "Q5_K_S", "Q5_K_M", "Q5_K_L", "Q5_K",
    "Q6_K_XL", "Q6_K_L", "Q6_K", "Q8_0", "Q8_K_XL", "TQ1_0", "TQ2_0", "MXFP4", "BF16", "F16",
    "F32",
];

/// The quantisation picked when none is named and the repository has it.
pub const PREFERRED: &str = "Q4_K_M";

/// Headroom kept when judging whether a file fits in memory: it must take at most this share
/// of the memory, leaving the rest for the KV cache, the system and everything else.
pub const FITS_SHARE: f64 = 0.8;

/// `name`'s split part: `(prefix, part, of)` for `prefix-00001-of-00003.gguf`.
fn split_part(name: &str) -> Option<(&str, u32, u32)> {
    let stem = name.strip_suffix(".gguf")?;
    let (rest, of) = stem.rsplit_once("-of-")?;
    let (prefix, part) = rest.rsplit_once('-')?;
    let digits = |s: &str| s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(part) || !digits(of) {
        return None;
    }
    Some((prefix, part.parse().ok()?, of.parse().ok()?))
}

/// Whether `needle` appears in `name` (both upper-cased) with no letter or digit on either side.
fn token_in(name: &str, needle: &str) -> bool {
    let free = |c: Option<char>| c.is_none_or(|c| !c.is_ascii_alphanumeric());
    !needle.is_empty()
        && name.match_indices(needle).any(|(start, _)| {
            let end = start + needle.len();
            free(name[..start].chars().next_back()) && free(name[end..].chars().next())
        })
}

/// The quantisation a file name states (`Q4_K_M`), upper-case, else its stem.
pub fn label_of(name: &str) -> String {
    let base = name.rsplit('/').next().unwrap_or(name);
    let stem = split_part(base)
        .map(|(p, _, _)| p)
        .or_else(|| base.strip_suffix(".gguf"))
        .unwrap_or(base);
    // The file's own name first, then its folders (`Q4_K_M/model-00001-of-00002.gguf`).
    let known = |text: &str| {
        let upper = text.to_ascii_uppercase();
        KNOWN
            .iter()
            .filter(|k| token_in(&upper, k))
            .max_by_key(|k| k.len())
            .map(|k| k.to_string())
    };
    known(stem)
        .or_else(|| known(name.rsplit_once('/').map_or("", |(dirs, _)| dirs)))
        .unwrap_or_else(|| stem.to_string())
}

/// A split model's parts seen so far: its prefix, its part count, the parts by number.
type SplitGroup = (String, u32, Vec<(u32, RepoFile)>);

/// The repository's GGUF files as quantisations: a split file's parts grouped (only when all
/// are there), projector files (`mmproj`) left out, sorted by size.
pub fn quants(files: &[RepoFile]) -> Vec<Quant> {
    let mut out: Vec<Quant> = Vec::new();
    let mut splits: Vec<SplitGroup> = Vec::new();
    for f in files {
        let lower = f.name.to_ascii_lowercase();
        if !lower.ends_with(".gguf")
            || lower
                .rsplit('/')
                .next()
                .is_some_and(|b| b.contains("mmproj"))
        {
            continue;
        }
        match split_part(&f.name) {
            Some((prefix, part, of)) => {
                match splits.iter_mut().find(|(p, n, _)| p == prefix && *n == of) {
                    Some((_, _, parts)) => parts.push((part, f.clone())),
                    None => splits.push((prefix.to_string(), of, vec![(part, f.clone())])),
                }
            }
            None => out.push(Quant {
                label: label_of(&f.name),
                files: vec![f.clone()],
            }),
        }
    }
    for (_, of, mut parts) in splits {
        parts.sort_by_key(|(n, _)| *n);
        let complete = parts.len() == of as usize
            && parts
                .iter()
                .enumerate()
                .all(|(i, (n, _))| *n == i as u32 + 1);
        if complete {
            let files: Vec<RepoFile> = parts.into_iter().map(|(_, f)| f).collect();
            out.push(Quant {
                label: label_of(&files[0].name),
                files,
            });
        }
    }
    out.sort_by(|a, b| {
        a.size()
            .cmp(&b.size())
            .then(a.first().name.cmp(&b.first().name))
    });
    out
}

/// Why a quantisation was picked: said to the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The one `:QUANT` named.
    Named,
    /// The only GGUF in the repository.
    Only,
    /// [`PREFERRED`], which the repository has.
    Preferred,
    /// The largest that fits in this much memory (with [`FITS_SHARE`]).
    Fits(u64),
    /// Nothing fits in this much memory: the smallest.
    Smallest(u64),
    /// Memory unknown and no [`PREFERRED`]: the largest below 8 GiB, else the smallest.
    Guess,
}

/// Why nothing could be picked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Miss {
    /// The repository has no GGUF file.
    NoGguf,
    /// `:QUANT` matched none: the labels there are.
    NoMatch { available: Vec<String> },
    /// `:QUANT` matched several different files.
    Ambiguous { matches: Vec<String> },
}

/// Picks from `quants` ([`quants`]' order): `wanted` when named (a label equal to it, else the
/// one file name holding it as a word, case-insensitively); else the only one; else
/// [`PREFERRED`]; else the largest whose size is at most [`FITS_SHARE`] of `memory`; else the
/// smallest.
pub fn pick<'a>(
    quants: &'a [Quant],
    wanted: Option<&str>,
    memory: Option<u64>,
) -> Result<(&'a Quant, Reason), Miss> {
    if quants.is_empty() {
        return Err(Miss::NoGguf);
    }
    if let Some(w) = wanted {
        let w = w.to_ascii_uppercase();
        let equal: Vec<&Quant> = quants
            .iter()
            .filter(|q| q.label.to_ascii_uppercase() == w)
            .collect();
        let found = if equal.is_empty() {
            quants
                .iter()
                .filter(|q| token_in(&q.first().name.to_ascii_uppercase(), &w))
                .collect()
        } else {
            equal
        };
        return match found[..] {
            [one] => Ok((one, Reason::Named)),
            [] => Err(Miss::NoMatch {
                available: labels(quants),
            }),
            _ => Err(Miss::Ambiguous {
                matches: found.iter().map(|q| q.first().name.clone()).collect(),
            }),
        };
    }
    if let [one] = quants {
        return Ok((one, Reason::Only));
    }
    if let Some(q) = quants
        .iter()
        .find(|q| q.label.eq_ignore_ascii_case(PREFERRED))
    {
        return Ok((q, Reason::Preferred));
    }
    let size = |q: &Quant| q.size().unwrap_or(u64::MAX);
    match memory {
        Some(mem) => {
            let limit = (mem as f64 * FITS_SHARE) as u64;
            match quants.iter().rfind(|q| size(q) <= limit) {
                Some(q) => Ok((q, Reason::Fits(mem))),
                None => Ok((&quants[0], Reason::Smallest(mem))),
            }
        }
        None => Ok((
            quants
                .iter()
                .rfind(|q| size(q) <= 8 << 30)
                .unwrap_or(&quants[0]),
            Reason::Guess,
        )),
    }
}

/// The labels, each once, in size order.
pub fn labels(quants: &[Quant]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for q in quants {
        if !out.contains(&q.label) {
            out.push(q.label.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str, size: u64) -> RepoFile {
        RepoFile {
            name: name.into(),
            size: Some(size),
        }
    }

    #[test]
    fn labels_come_from_the_name() {
        for (name, label) in [
            ("Llama-3.2-1B-Instruct-Q4_K_M.gguf", "Q4_K_M"),
            ("model.q8_0.gguf", "Q8_0"),
            ("sub/Model-IQ2_XXS.gguf", "IQ2_XXS"),
            ("Model-Q4_K_M-00001-of-00002.gguf", "Q4_K_M"),
            ("model-f16.gguf", "F16"),
            ("Model-BF16.gguf", "BF16"),
            ("weird.gguf", "weird"),
            ("Q4_K_M/Model-Q4_K_M-00002-of-00002.gguf", "Q4_K_M"),
            ("Q8_0/model-00001-of-00002.gguf", "Q8_0"),
        ] {
            assert_eq!(label_of(name), label, "{name}");
        }
    }

    #[test]
    fn split_parts_are_one_quant_only_when_complete() {
        let files = [
            f("m-Q8_0-00002-of-00003.gguf", 10),
            f("m-Q8_0-00001-of-00003.gguf", 10),
            f("m-Q8_0-00003-of-00003.gguf", 5),
            f("m-Q2_K-00001-of-00002.gguf", 3),
            f("m-Q4_K_M.gguf", 12),
            f("mmproj-m-f16.gguf", 1),
            f("README.md", 1),
        ];
        let q = quants(&files);
        assert_eq!(labels(&q), ["Q4_K_M", "Q8_0"]);
        let q8 = &q[1];
        assert_eq!(q8.size(), Some(25));
        let names: Vec<&str> = q8.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "m-Q8_0-00001-of-00003.gguf",
                "m-Q8_0-00002-of-00003.gguf",
                "m-Q8_0-00003-of-00003.gguf"
            ]
        );
    }

    #[test]
    fn picking_follows_the_documented_rule() {
        let gib = 1u64 << 30;
        let repo = quants(&[
            f("m-Q2_K.gguf", 2 * gib),
            f("m-Q4_K_S.gguf", 4 * gib),
            f("m-Q4_K_M.gguf", 5 * gib),
            f("m-Q8_0.gguf", 8 * gib),
            f("m-F16.gguf", 15 * gib),
        ]);
        let no_preferred: Vec<Quant> = repo
            .iter()
            .filter(|q| q.label != "Q4_K_M")
            .cloned()
            .collect();
        let label = |r: Result<(&Quant, Reason), Miss>| r.map(|(q, why)| (q.label.clone(), why));
        // (quants, wanted, memory) → expected
        assert_eq!(
            label(pick(&repo, Some("q8_0"), None)),
            Ok(("Q8_0".into(), Reason::Named))
        );
        assert_eq!(
            label(pick(&repo, None, Some(gib))),
            Ok(("Q4_K_M".into(), Reason::Preferred))
        );
        assert_eq!(
            label(pick(&no_preferred, None, Some(12 * gib))),
            Ok(("Q8_0".into(), Reason::Fits(12 * gib)))
        );
        assert_eq!(
            label(pick(&no_preferred, None, Some(64 * gib))),
            Ok(("F16".into(), Reason::Fits(64 * gib)))
        );
        assert_eq!(
            label(pick(&no_preferred, None, Some(gib))),
            Ok(("Q2_K".into(), Reason::Smallest(gib)))
        );
        assert_eq!(
            label(pick(&no_preferred, None, None)),
            Ok(("Q8_0".into(), Reason::Guess))
        );
        assert_eq!(
            label(pick(&repo[..1], None, Some(gib))),
            Ok(("Q2_K".into(), Reason::Only))
        );
        assert_eq!(
            label(pick(&repo, Some("Q5_K_M"), None)),
            Err(Miss::NoMatch {
                available: vec![
                    "Q2_K".into(),
                    "Q4_K_S".into(),
                    "Q4_K_M".into(),
                    "Q8_0".into(),
                    "F16".into()
                ]
            })
        );
        assert_eq!(
            label(pick(&repo, Some("Q4_K"), None)),
            Err(Miss::Ambiguous {
                matches: vec!["m-Q4_K_S.gguf".into(), "m-Q4_K_M.gguf".into()]
            })
        );
        assert_eq!(label(pick(&[], None, None)), Err(Miss::NoGguf));
        // A quant of any characters is matched, never sliced mid-character.
        assert!(matches!(
            pick(&repo, Some("éQ4"), None),
            Err(Miss::NoMatch { .. })
        ));
        let odd = quants(&[f("m-éé-Q4.gguf", 1)]);
        assert!(pick(&odd, Some("é"), None).is_ok(), "found, not sliced");
    }
}
