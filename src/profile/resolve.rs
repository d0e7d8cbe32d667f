//! Inheritance: a profile's `extends` chain folded, root first, onto the built-in defaults.

use super::schema::ProfileFile;
use super::Profile;
use crate::config::ConfigError;
use crate::stream::TagSet;

/// Folds a chain (child first, as `Catalog::chain` returns it) into a concrete profile.
pub fn resolve(chain: &[ProfileFile]) -> Result<Profile, ConfigError> {
    let mut p = Profile::builtin();
    for file in chain.iter().rev() {
        apply(&mut p, file)?;
    }
    if let Some(child) = chain.first() {
        p.name = child.name.clone();
        p.description = child.description.clone().unwrap_or_default();
    }
    Ok(p)
}

/// Applies one file's fields over its parent's.
fn apply(p: &mut Profile, f: &ProfileFile) -> Result<(), ConfigError> {
    if let Some(s) = &f.system {
        p.system = Some(s.clone()).filter(|s| !s.trim().is_empty());
    }
    if let Some(extra) = f.instructions.as_deref().filter(|s| !s.trim().is_empty()) {
        p.system = Some(match p.system.take() {
            Some(base) => format!("{}\n\n{}", base.trim_end(), extra.trim()),
            None => extra.trim().to_string(),
        });
    }
    if let Some(v) = f.think_carefully {
        p.think_carefully = v;
    }
    if let Some(v) = f.history {
        p.history = v;
    }
    if let Some(v) = &f.chat_template {
        p.chat_template = Some(v.clone());
    }
    if let Some(v) = &f.tools {
        p.tools.clone_from(v);
    }
    if let Some(v) = f.lookup {
        p.lookup = Some(v);
    }
    f.budget.apply(&mut p.budget);
    p.sampling = f.sampling.or(&p.sampling);
    let t = &f.tags;
    if t.sets_names() {
        let tags = TagSet {
            thinking: t
                .thinking
                .clone()
                .unwrap_or_else(|| p.tags.thinking.clone()),
            reflection: t
                .reflection
                .clone()
                .unwrap_or_else(|| p.tags.reflection.clone()),
            output: t.output.clone().unwrap_or_else(|| p.tags.output.clone()),
        };
        tags.validate().map_err(|why| {
            ConfigError::new(&f.label, t.line, format!("tags are not valid: {why}"))
        })?;
        p.tags = tags;
    }
    if let Some(v) = t.start_in_thinking {
        p.start_in_thinking = v;
    }
    if let Some(v) = t.stop_after_output {
        p.stop_after_output = v;
    }
    Ok(())
}
