//! The flags of `reflect serve`: where it listens, how many requests decode at once and wait,
//! the API key, plus the model, profile and sampling flags of a one-shot run ([`RunFlags`]),
//! which become the server's defaults.

use super::RunFlags;
use std::path::PathBuf;

/// --endpoint (and --tokenizer, which goes with it) are the run flags' but mean nothing here:
/// hidden from `serve --help`, still refused with a reason when given.
#[derive(Clone, Debug, PartialEq, clap::Args)]
#[command(
    mut_arg("endpoint", |a| a.hide(true)),
    mut_arg("tokenizer", |a| a.hide(true))
)]
pub struct ServeArgs {
    /// The address to listen on; anything but a loopback address wants --api-key.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1",
        help_heading = "Server"
    )]
    pub host: String,

    /// The port (0: a free one, said on stderr).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 8080,
        help_heading = "Server"
    )]
    pub port: u16,

    /// Requests decoded at once (slots), as sequences of one context.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64), help_heading = "Server")]
    pub parallel: u32,

    /// Requests that may wait for a slot; more are answered 503 with Retry-After
    ///
    /// [default: 4 × --parallel]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=4096), help_heading = "Server")]
    pub queue: Option<u32>,

    /// Clients must send `Authorization: Bearer KEY` (/health excepted).
    #[arg(
        long,
        value_name = "KEY",
        env = "REFLECT_SERVE_API_KEY",
        hide_env_values = true,
        help_heading = "Server"
    )]
    pub api_key: Option<String>,

    /// Write llama.cpp's and reflect's logs (and the request lines) to this file.
    #[arg(
        long,
        env = crate::settings::var::LOG,
        value_name = "PATH",
        hide_env_values = true,
        help_heading = "Server"
    )]
    pub log_file: Option<PathBuf>,

    /// The model, profile and sampling flags: the main command's (the requests' defaults).
    #[command(flatten)]
    pub run: RunFlags,
}

impl ServeArgs {
    /// Requests that may wait for a slot.
    pub fn queue_len(&self) -> u32 {
        self.queue.unwrap_or(4 * self.parallel)
    }
}
