//! Logging: `RUST_LOG` filter (default `info`), text or JSON lines on
//! standard error. Every line written while a request is served carries that
//! request's span (`request{request_id, method, path}`, see
//! `keyhouse_http::request_id`). Secrets never reach a log field: their types
//! redact themselves, and no layer logs headers, query strings or bodies
//! (e2e test `observability::logs_never_contain_secrets`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber once.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal: every request span's
        // fields are formatted when the span opens, and with ANSI styling that
        // was a measurable part of a cheap request (issue 4); log files and
        // collectors want plain text anyway.
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        // One object per line: `timestamp`, `level`, `message` and the
        // event's fields at the top level, `target`, `span` (the innermost
        // span) and `spans` (all of them, outermost first: the request span
        // with `request_id`, `method` and `path` stays there even when an
        // inner span is entered).
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
