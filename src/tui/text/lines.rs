//! A block's wrapped lines as a few shared runs, so that a frame shares lines with the memos
//! instead of copying them: a streaming answer keeps the run of its finished blocks from frame
//! to frame (`md_memo`) and adds only the run of its last block.

use ratatui::text::Line;
use std::sync::Arc;

/// A run of lines, shared.
pub type Run = Arc<Vec<Line<'static>>>;

/// Lines, as runs; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Lines(Arc<Runs>);

#[derive(Debug, Default)]
struct Runs {
    runs: Vec<Run>,
    /// The number of lines up to the end of each run.
    ends: Vec<usize>,
}

impl Lines {
    /// The lines of `runs`, one after the other.
    pub fn from_runs(runs: impl IntoIterator<Item = Run>) -> Lines {
        let runs: Vec<Run> = runs.into_iter().filter(|r| !r.is_empty()).collect();
        let mut n = 0;
        let ends = runs
            .iter()
            .map(|r| {
                n += r.len();
                n
            })
            .collect();
        Lines(Arc::new(Runs { runs, ends }))
    }

    pub fn len(&self) -> usize {
        self.0.ends.last().copied().unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Line `i`.
    pub fn get(&self, i: usize) -> Option<&Line<'static>> {
        let r = self.0.ends.partition_point(|&end| end <= i);
        let start = r.checked_sub(1).map_or(0, |p| self.0.ends[p]);
        self.0.runs.get(r)?.get(i - start)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Line<'static>> {
        self.0.runs.iter().flat_map(|r| r.iter())
    }

    /// Whether `a` and `b` are the same lines in memory (not only equal).
    pub fn ptr_eq(a: &Lines, b: &Lines) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl From<Vec<Line<'static>>> for Lines {
    fn from(lines: Vec<Line<'static>>) -> Lines {
        Lines::from_runs([Arc::new(lines)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_read_as_one_list() {
        let run = |v: &[&str]| Arc::new(v.iter().map(|s| Line::from(s.to_string())).collect());
        let lines = Lines::from_runs([run(&["a", "b"]), run(&[]), run(&["c"]), run(&["d", "e"])]);
        assert_eq!(lines.len(), 5);
        let got: Vec<String> = (0..6)
            .map(|i| lines.get(i).map_or("-".into(), |l| l.to_string()))
            .collect();
        assert_eq!(got, ["a", "b", "c", "d", "e", "-"]);
        assert_eq!(lines.iter().count(), 5);
        assert!(Lines::ptr_eq(&lines, &lines.clone()));
        assert!(Lines::default().is_empty() && Lines::default().get(0).is_none());
    }
}
