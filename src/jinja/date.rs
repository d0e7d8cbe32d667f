//! Today's date for templates (`strftime_now`, `date_string`), from the system clock in UTC,
//! without a date crate: the few `strftime` fields chat templates use.

use minijinja::{Error, ErrorKind};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Today as Llama 3.x templates print it: "06 Dec 2026".
pub(super) fn today() -> String {
    format(now_days(), "%d %b %Y").unwrap_or_default()
}

pub(super) fn strftime_now(fmt: &str) -> Result<String, Error> {
    format(now_days(), fmt)
}

fn now_days() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    (secs / 86_400) as i64
}

/// The civil date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, usize, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as usize;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `%d %m %Y %y %b %B %%`; other fields are refused, naming the field.
fn format(days: i64, fmt: &str) -> Result<String, Error> {
    let (y, m, d) = civil(days);
    let mut out = String::new();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str(&format!("{d:02}")),
            Some('m') => out.push_str(&format!("{m:02}")),
            Some('Y') => out.push_str(&y.to_string()),
            Some('y') => out.push_str(&format!("{:02}", y.rem_euclid(100))),
            Some('b') => out.push_str(&MONTHS[m - 1][..3]),
            Some('B') => out.push_str(MONTHS[m - 1]),
            Some('%') => out.push('%'),
            other => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("strftime_now: %{} is not supported", other.unwrap_or(' ')),
                ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_counts_become_civil_dates() {
        for (days, want) in [
            (0, "01 Jan 1970"),
            (20_794, "07 Dec 2026"),
            (11_016, "29 Feb 2000"),
            (-1, "31 Dec 1969"),
        ] {
            assert_eq!(format(days, "%d %b %Y").unwrap(), want, "{days}");
        }
        assert_eq!(
            format(20_794, "%Y-%m-%d %B %y %%").unwrap(),
            "2026-12-07 December 26 %"
        );
        assert!(format(0, "%H")
            .unwrap_err()
            .to_string()
            .contains("%H is not supported"));
    }
}
