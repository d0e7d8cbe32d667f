//! The width of the terminal on stderr, for the lines rewritten in place there (pipe mode's
//! thinking status, eval's progress): a line wider than the terminal wraps, and erasing it
//! then leaves its first rows behind.

/// Columns of the terminal on stderr, or `None` when stderr is no terminal.
pub fn stderr_columns() -> Option<usize> {
    // SAFETY: TIOCGWINSZ fills the winsize it is given, and fails on a descriptor that is no
    // terminal.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_col > 0 {
            return Some(usize::from(ws.ws_col));
        }
    }
    None
}

/// `line` cut to fit in `columns` without reaching the last one (where terminals wrap early
/// or not at all); every character of a status line is one column wide.
pub fn fit(line: &str, columns: Option<usize>) -> &str {
    let Some(max) = columns.map(|c| c.saturating_sub(1)) else {
        return line;
    };
    match line.char_indices().nth(max) {
        Some((at, _)) => &line[..at],
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn a_line_is_cut_to_one_column_less_than_the_terminal_and_never_mid_character() {
        let line = "thinking… 312 tokens";
        assert_eq!(fit(line, None), line);
        assert_eq!(fit(line, Some(80)), line);
        assert_eq!(fit(line, Some(11)), "thinking… ");
        assert_eq!(fit(line, Some(10)), "thinking…");
        assert_eq!(fit(line, Some(1)), "");
        assert_eq!(fit(line, Some(0)), "");
    }
}
