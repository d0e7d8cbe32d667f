//! The one mapping from the theme's terminal-agnostic styles onto ratatui's, as documented in
//! `crate::theme`: named colours to the variant of the same name (`default` to `Reset`), RGB
//! to `Rgb`, palette indexes to `Indexed`; bold, italic, dim, underline and reverse to the
//! modifiers of the same name; an unset colour leaves the colour underneath.

use crate::theme::{Color, NamedColor, Purpose, Style, Theme};
use ratatui::style::{Color as RColor, Modifier, Style as RStyle};

pub fn color(c: Color) -> RColor {
    match c {
        Color::Rgb(r, g, b) => RColor::Rgb(r, g, b),
        Color::Indexed(i) => RColor::Indexed(i),
        Color::Named(n) => match n {
            NamedColor::Default => RColor::Reset,
            NamedColor::Black => RColor::Black,
            NamedColor::Red => RColor::Red,
            NamedColor::Green => RColor::Green,
            NamedColor::Yellow => RColor::Yellow,
            NamedColor::Blue => RColor::Blue,
            NamedColor::Magenta => RColor::Magenta,
            NamedColor::Cyan => RColor::Cyan,
            NamedColor::Gray => RColor::Gray,
            NamedColor::DarkGray => RColor::DarkGray,
            NamedColor::LightRed => RColor::LightRed,
            NamedColor::LightGreen => RColor::LightGreen,
            NamedColor::LightYellow => RColor::LightYellow,
            NamedColor::LightBlue => RColor::LightBlue,
            NamedColor::LightMagenta => RColor::LightMagenta,
            NamedColor::LightCyan => RColor::LightCyan,
            NamedColor::White => RColor::White,
        },
    }
}

pub fn style(s: Style) -> RStyle {
    let mut out = RStyle::default();
    if let Some(fg) = s.fg {
        out = out.fg(color(fg));
    }
    if let Some(bg) = s.bg {
        out = out.bg(color(bg));
    }
    for (on, m) in [
        (s.bold, Modifier::BOLD),
        (s.italic, Modifier::ITALIC),
        (s.dim, Modifier::DIM),
        (s.underline, Modifier::UNDERLINED),
        (s.reversed, Modifier::REVERSED),
    ] {
        if on {
            out = out.add_modifier(m);
        }
    }
    out
}

/// The ratatui style for a purpose.
pub fn of(theme: &Theme, purpose: Purpose) -> RStyle {
    style(theme.style(purpose))
}

/// Whether the theme uses colour at all (monochrome themes get no syntax colours).
pub fn has_color(theme: &Theme) -> bool {
    Purpose::ALL.iter().any(|p| theme.style(*p).has_color())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theme_styles_map_one_to_one() {
        let s = Style {
            fg: Some(Color::Named(NamedColor::LightBlue)),
            bg: Some(Color::Indexed(236)),
            bold: true,
            italic: true,
            dim: false,
            underline: true,
            reversed: true,
        };
        let want = RStyle::default()
            .fg(RColor::LightBlue)
            .bg(RColor::Indexed(236))
            .add_modifier(
                Modifier::BOLD | Modifier::ITALIC | Modifier::UNDERLINED | Modifier::REVERSED,
            );
        assert_eq!(style(s), want);
        assert_eq!(color(Color::Named(NamedColor::Default)), RColor::Reset);
        assert_eq!(color(Color::Rgb(1, 2, 3)), RColor::Rgb(1, 2, 3));
        assert_eq!(style(Style::default()), RStyle::default());
        for n in NamedColor::ALL {
            let c = color(Color::Named(n));
            if n != NamedColor::Default {
                assert_eq!(format!("{c:?}").to_lowercase(), n.as_str().replace('_', ""));
            }
        }
    }
}
