//! Unit tests: bundled themes, inheritance, and the TOML round trip.

use super::*;
use crate::config::{Origin, Source};

fn bundled(name: &str) -> Theme {
    load_spec(&catalog(None), name, None).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_bundled_theme_styles_every_purpose_and_reads_back() {
    for b in BUNDLED {
        let theme = bundled(b.name);
        assert_eq!(theme.name, b.name);
        assert!(!theme.description.is_empty());
        let file = ThemeFile::parse(
            &Entry {
                name: b.name.into(),
                origin: Origin::Bundled,
            },
            &Source::new(b.name, b.text),
        )
        .unwrap();
        assert_eq!(file.styles.len(), Purpose::ALL.len(), "{}", b.name);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("copy.toml");
        std::fs::write(&path, theme.to_toml("a header")).unwrap();
        let back = load_spec(&catalog(None), path.to_str().unwrap(), None).unwrap();
        assert_eq!(back, theme, "{}", theme.to_toml(""));
    }
}

#[test]
fn monochrome_has_no_colour_and_the_others_do() {
    let mono = bundled(MONOCHROME_THEME);
    assert!(Purpose::ALL.iter().all(|p| !mono.style(*p).has_color()));
    assert!(mono.style(Purpose::Selection).reversed);
    for name in ["dark", "light", "high-contrast"] {
        let t = bundled(name);
        assert!(t.style(Purpose::Thinking).has_color(), "{name}");
    }
    assert_eq!(
        bundled("dark").style(Purpose::Thinking),
        Style {
            fg: Some(Color::Indexed(110)),
            italic: true,
            ..Style::default()
        }
    );
}

#[test]
fn extends_replaces_whole_styles_key_by_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mine.toml"),
        "extends = \"dark\"\ndescription = \"mine\"\n[styles]\nerror = \"#ff0000\"\nthinking = { bold = true }\n",
    )
    .unwrap();
    let c = catalog(Some(dir.path().to_path_buf()));
    let mine = load_spec(&c, "mine", None).unwrap();
    let dark = bundled("dark");
    assert_eq!(mine.style(Purpose::Text), dark.style(Purpose::Text));
    assert_eq!(mine.style(Purpose::Error).fg, Some(Color::Rgb(255, 0, 0)));
    assert_eq!(
        mine.style(Purpose::Thinking),
        Style {
            bold: true,
            ..Style::default()
        }
    );
    assert_eq!(
        (mine.name.as_str(), mine.description.as_str()),
        ("mine", "mine")
    );
}
