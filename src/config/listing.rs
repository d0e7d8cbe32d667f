//! The table `--list-profiles` and `--list-themes` print: `* NAME  SOURCE  DESCRIPTION`.

use super::catalog::Listed;
use super::error::ConfigError;

/// Renders one line per entry, `*` marking the one named `active`, with a header line. Entries
/// that fail to load are listed with a pointer to their error; the errors are returned.
pub fn render<T>(
    rows: &[(Listed, Result<T, ConfigError>)],
    description: impl Fn(&T) -> &str,
    active: &str,
) -> (String, Vec<ConfigError>) {
    let width = |f: &dyn Fn(&Listed) -> usize, min: usize| {
        rows.iter().map(|(l, _)| f(l)).max().unwrap_or(0).max(min)
    };
    let name_w = width(&|l| l.entry.name.chars().count(), 4);
    let source_w = width(&|l| l.source().len(), 6);
    let mut out = format!(
        "  {:name_w$}  {:source_w$}  DESCRIPTION\n",
        "NAME", "SOURCE"
    );
    let mut errors = Vec::new();
    for (l, loaded) in rows {
        let text = match loaded {
            Ok(t) => description(t),
            Err(e) => {
                errors.push(e.clone());
                "(cannot be loaded: see the error below)"
            }
        };
        let mark = if l.entry.name == active { '*' } else { ' ' };
        let line = format!(
            "{mark} {:name_w$}  {:source_w$}  {text}",
            l.entry.name,
            l.source()
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    (out, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Entry, Origin};

    fn row(
        name: &str,
        origin: Origin,
        loaded: Result<&'static str, ConfigError>,
    ) -> (Listed, Result<&'static str, ConfigError>) {
        let overrides_bundled = name == "a" && origin != Origin::Bundled;
        (
            Listed {
                entry: Entry {
                    name: name.into(),
                    origin,
                },
                overrides_bundled,
            },
            loaded,
        )
    }

    #[test]
    fn columns_marker_and_errors() {
        let bad = ConfigError::new("c.toml", 2, "oops");
        let rows = [
            row("a", Origin::User("a.toml".into()), Ok("first")),
            row("bb", Origin::Bundled, Ok("")),
            row("c", Origin::User("c.toml".into()), Err(bad.clone())),
        ];
        let (text, errors) = render(&rows, |d| d, "bb");
        assert_eq!(
            text,
            "  NAME  SOURCE                    DESCRIPTION\n\
             \x20 a     user (overrides bundled)  first\n\
             * bb    bundled\n\
             \x20 c     user                      (cannot be loaded: see the error below)\n"
        );
        assert_eq!(errors, [bad]);
    }
}
