//! How old a session is, as people write it for `reflect sessions prune --older-than`:
//! a whole number and a unit, `12h`, `30d`, `2w`.

use std::time::{Duration, SystemTime};

const HOUR: u64 = 60 * 60;

/// A duration such as `12h`, `30d` or `2w` (hours, days, weeks), 1 or more of them.
pub fn parse_age(s: &str) -> Result<Duration, String> {
    const HINT: &str = "use a whole number and h, d or w, e.g. 30d or 12h";
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    if t.is_empty() {
        return Err(format!("an empty duration: {HINT}"));
    }
    if number.is_empty() {
        return Err(format!("'{t}' does not start with a number: {HINT}"));
    }
    let seconds = match unit {
        "h" => HOUR,
        "d" => 24 * HOUR,
        "w" => 7 * 24 * HOUR,
        "" => return Err(format!("'{t}' has no unit: {HINT}")),
        u => return Err(format!("'{u}' in '{t}' is not a unit: {HINT}")),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{t}' is too long a time: {HINT}"))?;
    if n == 0 {
        return Err(format!(
            "'{t}' would match every session: use 1 or more (e.g. 1{unit})"
        ));
    }
    n.checked_mul(seconds)
        .filter(|s| *s <= 1000 * 366 * 24 * HOUR)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("'{t}' is too long a time: {HINT}"))
}

/// A duration as [`parse_age`] reads it, in words: `30 days`, `1 day`, `2 weeks`, `12 hours`
/// (the largest unit that divides it).
pub fn describe(d: Duration) -> String {
    let secs = d.as_secs();
    let (n, unit) = [(7 * 24 * HOUR, "week"), (24 * HOUR, "day"), (HOUR, "hour")]
        .into_iter()
        .find(|(size, _)| secs >= *size && secs.is_multiple_of(*size))
        .map_or((secs, "second"), |(size, unit)| (secs / size, unit));
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// When a session last updated at `updated` (RFC 3339) is older than `age` at `now`; `None`
/// when `updated` is not a time.
pub fn older_than(updated: &str, age: Duration, now: SystemTime) -> Option<bool> {
    let at = humantime::parse_rfc3339_weak(updated).ok()?;
    Some(now.duration_since(at).is_ok_and(|d| d > age))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_people_write_them() {
        let day = 24 * HOUR;
        let good = [
            ("12h", 12 * HOUR),
            ("30d", 30 * day),
            ("2w", 14 * day),
            (" 1d ", day),
            ("365d", 365 * day),
        ];
        for (text, secs) in good {
            assert_eq!(parse_age(text), Ok(Duration::from_secs(secs)), "{text}");
        }
        let bad = [
            ("", "empty"),
            ("30", "no unit"),
            ("d", "does not start with a number"),
            ("-1d", "does not start with a number"),
            ("1.5d", "'.5d' in '1.5d' is not a unit"),
            ("30x", "'x' in '30x' is not a unit"),
            ("30dd", "is not a unit"),
            ("30 d", "is not a unit"),
            ("3m", "is not a unit"),
            ("0d", "would match every session"),
            ("99999999999999999999w", "too long"),
            ("999999w", "too long"),
        ];
        for (text, want) in bad {
            let err = parse_age(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
            assert!(
                err.contains("e.g.") || err.contains("1 or more"),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn durations_are_described_in_words_with_a_space() {
        for (text, words) in [
            ("30d", "30 days"),
            ("1d", "1 day"),
            ("7d", "1 week"),
            ("2w", "2 weeks"),
            ("1h", "1 hour"),
            ("36h", "36 hours"),
            ("48h", "2 days"),
        ] {
            assert_eq!(describe(parse_age(text).unwrap()), words, "{text}");
        }
        assert_eq!(describe(Duration::from_secs(90)), "90 seconds");
    }

    #[test]
    fn older_than_compares_the_update_time() {
        let now = humantime::parse_rfc3339("2026-03-31T00:00:00Z").unwrap();
        let week = Duration::from_secs(7 * 24 * HOUR);
        assert_eq!(older_than("2026-03-01T00:00:00Z", week, now), Some(true));
        assert_eq!(older_than("2026-03-30T00:00:00Z", week, now), Some(false));
        assert_eq!(older_than("2026-04-30T00:00:00Z", week, now), Some(false));
        assert_eq!(older_than("yesterday", week, now), None);
    }
}
