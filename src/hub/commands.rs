//! The command line's side of the Hub: `reflect models pull|list|rm`, and `--hf` resolved to a
//! file before a run (downloading, with progress on stderr, when it is not cached).

use super::{progress, quant, Hub, Interrupt, Job, Plan, RepoSpec, StderrProgress};
use crate::env::Environment;
use crate::exit::{code, Failure};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::SystemTime;

fn hub(env: &Environment) -> Result<Hub, Failure> {
    Hub::from_env(env).map_err(Failure::from)
}

fn spec(s: &str) -> Result<RepoSpec, Failure> {
    RepoSpec::parse(s).map_err(Failure::usage)
}

/// The plan for `spec`, and the file, downloaded when it is not cached (progress on stderr;
/// Ctrl+C keeps the partial file). Says which file was picked when it downloads.
pub fn fetch(env: &Environment, spec_text: &str) -> Result<(Plan, PathBuf), Failure> {
    let hub = hub(env)?;
    let plan = hub.plan(&spec(spec_text)?)?;
    if !plan.cached {
        eprintln!("reflect: {}", plan.describe());
    }
    let mut bar = StderrProgress::new(std::io::stderr().is_terminal());
    let job = Job::spawn(
        hub,
        plan.clone(),
        Interrupt::catch(),
        move |s| bar.step(&s),
        |r| r,
    );
    let path = job.wait()?;
    Ok((plan, path))
}

/// The plan for `--hf` in the chat: resolved before the chat opens (so that a wrong name or a
/// refused token is one line in the terminal); the download itself is a [`Job`] the chat runs
/// in its loading phase.
pub fn plan(env: &Environment, spec_text: &str) -> Result<(Hub, Plan), Failure> {
    let hub = hub(env)?;
    let plan = hub.plan(&spec(spec_text)?)?;
    Ok((hub, plan))
}

/// `reflect models pull ORG/REPO[:QUANT]`: the path on stdout.
pub fn pull(env: &Environment, spec_text: &str) -> Result<(i32, String), Failure> {
    let (plan, path) = fetch(env, spec_text)?;
    if plan.cached {
        eprintln!("reflect: already in the cache: {}", plan.describe());
    }
    Ok((code::OK, format!("{}\n", path.display())))
}

/// One row of `models list`: a quantisation in the cache (a split model's parts together).
struct Row {
    repo: String,
    label: String,
    size: u64,
    used: Option<SystemTime>,
    path: PathBuf,
    files: Vec<super::CachedFile>,
}

fn rows(hub: &Hub) -> Vec<Row> {
    let mut out = Vec::new();
    for repo in hub.cache.repos() {
        let files = hub.cache.files(&repo);
        let mut commits: Vec<&str> = files.iter().map(|f| f.commit.as_str()).collect();
        commits.dedup();
        for commit in commits {
            let here: Vec<_> = files.iter().filter(|f| f.commit == commit).collect();
            let listed: Vec<quant::RepoFile> = here
                .iter()
                .map(|f| quant::RepoFile {
                    name: f.name.clone(),
                    size: Some(f.size),
                })
                .collect();
            let mut grouped: Vec<String> = Vec::new();
            for q in quant::quants(&listed) {
                grouped.extend(q.files.iter().map(|f| f.name.clone()));
                let parts: Vec<super::CachedFile> = q
                    .files
                    .iter()
                    .filter_map(|p| here.iter().find(|f| f.name == p.name).map(|f| (*f).clone()))
                    .collect();
                out.push(Row {
                    repo: repo.clone(),
                    label: q.label.clone(),
                    size: q.size().unwrap_or(0),
                    used: parts.iter().filter_map(|f| f.used).max(),
                    path: parts[0].path.clone(),
                    files: parts,
                });
            }
            // Parts of an incomplete split model, and projector files: listed one by one.
            for f in here.iter().filter(|f| !grouped.contains(&f.name)) {
                out.push(Row {
                    repo: repo.clone(),
                    label: quant::label_of(&f.name),
                    size: f.size,
                    used: f.used,
                    path: f.path.clone(),
                    files: vec![(*f).clone()],
                });
            }
        }
    }
    out
}

fn ago(t: Option<SystemTime>) -> String {
    let Some(t) = t else { return "-".into() };
    let secs = SystemTime::now()
        .duration_since(t)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match secs {
        0..60 => "just now".into(),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86400 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86400),
    }
}

/// `reflect models list`: a table on stdout; where the cache is on stderr when it is empty.
pub fn list(env: &Environment) -> Result<(i32, String), Failure> {
    let hub = hub(env)?;
    let rows = rows(&hub);
    if rows.is_empty() {
        eprintln!(
            "reflect: no GGUF models in the Hugging Face cache ({}); get one with `reflect models pull ORG/REPO[:QUANT]`",
            hub.cache.root.display()
        );
        return Ok((code::OK, String::new()));
    }
    let table: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.repo.clone(),
                r.label.clone(),
                progress::bytes(r.size),
                ago(r.used),
                r.path.display().to_string(),
            ]
        })
        .collect();
    let head = ["REPO", "QUANT", "SIZE", "USED", "PATH"];
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            table
                .iter()
                .map(|r| r[i].chars().count())
                .chain([head[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 5]| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate().take(4) {
            s.push_str(&format!("{c:<w$}  ", w = widths[i]));
        }
        s.push_str(cells[4]);
        s.push('\n');
        s
    };
    let mut out = line(head);
    for r in &table {
        out.push_str(&line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
    }
    Ok((code::OK, out))
}

/// `reflect models rm ORG/REPO[:QUANT]`.
pub fn remove(env: &Environment, spec_text: &str) -> Result<i32, Failure> {
    let hub = hub(env)?;
    let spec = spec(spec_text)?;
    let all: Vec<Row> = rows(&hub)
        .into_iter()
        .filter(|r| r.repo == spec.repo)
        .collect();
    if all.is_empty() {
        return Err(Failure::usage(format!(
            "models rm: {} has no GGUF in the Hugging Face cache ({}); `reflect models list` lists what is there",
            spec.repo,
            hub.cache.root.display()
        )));
    }
    let labels: Vec<String> = all.iter().map(|r| r.label.clone()).collect();
    let chosen: Vec<&Row> = match &spec.quant {
        Some(q) => all.iter().filter(|r| r.label.eq_ignore_ascii_case(q)).collect(),
        None if all.len() == 1 => all.iter().collect(),
        None => {
            return Err(Failure::usage(format!(
                "models rm: {} has several quantisations cached ({}); name one: reflect models rm {}:QUANT",
                spec.repo,
                labels.join(", "),
                spec.repo
            )))
        }
    };
    if chosen.is_empty() {
        return Err(Failure::usage(format!(
            "models rm: no {spec} in the cache; cached of {}: {}",
            spec.repo,
            labels.join(", ")
        )));
    }
    let mut freed = 0;
    for row in chosen {
        freed += hub
            .cache
            .remove(&spec.repo, &row.files)
            .map_err(|e| Failure::runtime(format!("cannot remove {}: {e}", row.path.display())))?;
        eprintln!(
            "reflect: removed {} {} ({})",
            row.repo,
            row.label,
            row.path.display()
        );
    }
    eprintln!("reflect: freed {}", progress::bytes(freed));
    Ok(code::OK)
}
