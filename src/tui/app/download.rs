//! The model's download before the engine starts (`--hf` naming a file not in the cache): its
//! progress in the loading phase; then the settings made from the file and the engine started
//! on them, or the failure shown as a failed load.

use super::{App, Load};
use crate::engine::BackendConfig;
use crate::hub::Progress;
use crate::llm::{EngineError, SamplingOverrides, SamplingSettings};
use crate::settings::RunSettings;
use crate::tui::msg::Effect;

impl App {
    pub(super) fn on_download(&mut self, progress: Progress) -> Vec<Effect> {
        if let Load::Loading(_) = self.load {
            self.download = Some(progress);
            self.dirty = true;
        }
        Vec::new()
    }

    pub(super) fn on_downloaded(
        &mut self,
        result: Result<Box<RunSettings>, String>,
    ) -> Vec<Effect> {
        self.download = None;
        self.dirty = true;
        match result {
            Ok(from_file) => {
                self.adopt_file(*from_file);
                vec![Effect::StartEngine(self.settings.engine.clone())]
            }
            Err(message) => {
                let path = self
                    .settings
                    .engine
                    .model_path()
                    .map(|p| p.to_path_buf())
                    .unwrap_or_default();
                self.on_error(EngineError::Load { path, message })
            }
        }
    }

    /// Takes from the settings made once the file was there what the file decides: its
    /// pre-load check (for the engine) and its `general.sampling.*` defaults, under the values
    /// the profile, the flags and `/set` chose. What the chat changed during the download
    /// (`/set`, `/profile`, `/budget`) stays.
    fn adopt_file(&mut self, from_file: RunSettings) {
        let checked = match (&mut self.settings.engine, from_file.engine) {
            (BackendConfig::Llama(mine), BackendConfig::Llama(file)) => {
                mine.checked = file.checked;
                mine.checked.clone()
            }
            _ => None,
        };
        let defaults = checked
            .map(|info| SamplingOverrides::from_gguf(&info.sampling))
            .unwrap_or_default();
        self.settings.sampling = self
            .settings
            .overrides
            .or(&defaults)
            .finish(&SamplingSettings::DEFAULT);
    }
}
