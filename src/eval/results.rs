//! The results file of `reflect eval` (`--out`, `--resume`): one JSON line per question and arm,
//! appended and flushed as each is judged, so that Ctrl+C (or a crash) keeps every finished
//! line whole, and a later `--resume` skips them.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// One question answered in one arm, judged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub arm: String,
    /// The `<output>` section, trimmed.
    pub answer: String,
    pub correct: bool,
    /// Why it was judged so.
    pub why: String,
    /// The model never reached an answer (counted as wrong).
    pub no_answer: bool,
    pub stop_reason: String,
    pub thinking_tokens: u32,
    pub reflection_tokens: u32,
    pub output_tokens: u32,
    pub reflections: usize,
    /// Wall-clock time from the request to the last token.
    pub time_ms: u64,
    /// USD, for an endpoint with prices.
    pub cost: Option<f64>,
    pub seed: Option<u32>,
}

impl Record {
    pub fn key(&self) -> (String, String) {
        (self.id.clone(), self.arm.clone())
    }
}

/// A results file being appended to.
pub struct Appender {
    file: File,
    path: PathBuf,
}

impl Appender {
    /// Opens `path` for appending, creating it. A last line cut short (a run killed while
    /// writing) is removed first, so that the next line starts on a line of its own.
    pub fn open(path: &Path) -> io::Result<Appender> {
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        let mut text = Vec::new();
        file.read_to_end(&mut text)?;
        if !text.is_empty() && !text.ends_with(b"\n") {
            let keep = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            file.set_len(keep as u64)?;
            file.seek(SeekFrom::End(0))?;
        }
        Ok(Appender {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Appends one record as one line, written in one call and flushed to the file.
    pub fn append(&mut self, r: &Record) -> io::Result<()> {
        let mut line = serde_json::to_string(r).map_err(io::Error::other)?;
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.flush()?;
        self.file.sync_data()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The records of a results file, for `--resume`. A last line cut short is ignored (and
/// reported in `cut`); any other bad line is an error naming it.
#[derive(Debug, Default)]
pub struct Done {
    pub records: Vec<Record>,
    pub cut: bool,
}

impl Done {
    pub fn keys(&self) -> HashSet<(String, String)> {
        self.records.iter().map(Record::key).collect()
    }
}

/// Reads a results file; a missing file has no records.
pub fn read(path: &Path) -> Result<Done, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Done::default()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    parse(&text).map_err(|(line, e)| {
        format!(
            "{}:{line}: not a result line ({e}); --resume takes a file written by `reflect eval --out`",
            path.display()
        )
    })
}

/// Parses the text of a results file; an error gives the line number. Later lines for the
/// same question and arm replace earlier ones.
pub fn parse(text: &str) -> Result<Done, (usize, String)> {
    let mut done = Done::default();
    let complete = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let mut seen = HashSet::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line) {
            Ok(r) => {
                if seen.insert(r.key()) {
                    done.records.push(r);
                } else if let Some(old) = done.records.iter_mut().find(|o| o.key() == r.key()) {
                    *old = r;
                }
            }
            Err(_) if i + 1 == lines.len() && !complete => done.cut = true,
            Err(e) => return Err((i + 1, e.to_string())),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, arm: &str, correct: bool) -> Record {
        Record {
            id: id.into(),
            arm: arm.into(),
            answer: "4".into(),
            correct,
            why: "number: 4".into(),
            no_answer: false,
            stop_reason: "output_closed".into(),
            thinking_tokens: 10,
            reflection_tokens: 2,
            output_tokens: 3,
            reflections: 1,
            time_ms: 12,
            cost: None,
            seed: Some(7),
        }
    }

    #[test]
    fn appended_lines_read_back_and_a_cut_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let mut a = Appender::open(&path).unwrap();
        a.append(&record("q1", "x", true)).unwrap();
        a.append(&record("q2", "x", false)).unwrap();
        drop(a);
        // A run killed mid-write leaves half a line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"id\":\"q3\",\"ar").unwrap();
        drop(f);
        let done = read(&path).unwrap();
        assert!(done.cut);
        assert_eq!(done.records.len(), 2);
        let mut a = Appender::open(&path).unwrap();
        a.append(&record("q3", "x", true)).unwrap();
        drop(a);
        let done = read(&path).unwrap();
        assert!(!done.cut);
        let ids: Vec<&str> = done.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["q1", "q2", "q3"]);
    }

    #[test]
    fn a_bad_line_in_the_middle_is_an_error_with_its_number() {
        let good = serde_json::to_string(&record("q1", "x", true)).unwrap();
        let text = format!("{good}\nnonsense\n{good}\n");
        assert_eq!(parse(&text).unwrap_err().0, 2);
        assert!(read(Path::new("/nonexistent/r.jsonl"))
            .unwrap()
            .records
            .is_empty());
    }
}
