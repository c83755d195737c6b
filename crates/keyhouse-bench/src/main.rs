//! `keyhouse-plain`: the physical-limit baseline for Keyhouse's benchmarks.
//!
//! Why it exists: absolute requests per second on a shared or virtual machine
//! swing by tens of percent between runs minutes apart, so a Keyhouse figure
//! on its own says little. `scripts/bench.sh` therefore sends the very same
//! requests (same paths, headers and bodies, same load generator, same
//! pinning) to this server and to Keyhouse, interleaved, in the same run, and
//! reports Keyhouse as a percentage of this server. It is the cheapest
//! HTTP/1.1 server the same stack (axum 0.8 on tokio) can be on this machine:
//! whatever Keyhouse costs above it is the cost of identity work (parsing,
//! secret checks, token generation, storage, JSON).
//!
//! What it answers, on any path:
//! - `POST`: reads the whole request body, then answers 200 with a
//!   token-shaped JSON `{"access_token":"<43 random chars>","token_type":"bearer","expires_in":3600}`;
//!   the 43 characters (base64url alphabet) are new on every request, made by
//!   a cheap non-cryptographic generator (this is a baseline, not a token
//!   service).
//! - `GET` (and anything else): 200 with the bytes of `--get-body FILE`, or
//!   without it a small profile-shaped JSON. `scripts/bench.sh` passes the
//!   very answer Keyhouse gave to its `GET /accounts/api/me` (about 4 KB),
//!   so that both servers send the same bytes and the difference is the
//!   identity work alone, not the size of the answer.
//!
//! Usage: `keyhouse-plain [--listen ADDR] [--workers N] [--get-body FILE]`. `--listen` (env
//! `KEYHOUSE_PLAIN_LISTEN`, default `127.0.0.1:8099`; port 0 picks a free
//! port). `--workers` (env `KEYHOUSE_PLAIN_WORKERS`) sets the tokio worker
//! threads; by default there is one per CPU the process may run on, so under
//! `taskset -c 0` it runs one worker, like Keyhouse under the same mask.
//! When ready it prints `keyhouse-plain listening on http://ADDR` on stdout.
//! It stops on SIGINT or SIGTERM.
//!
//! Not part of the product: nothing in Keyhouse depends on this crate.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::SocketAddr;

use anyhow::Context;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::Router;
use clap::Parser;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "keyhouse-plain",
    version,
    about = "Plain-HTTP baseline for Keyhouse benchmarks: token-shaped JSON for any POST, profile-shaped JSON for any GET."
)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "KEYHOUSE_PLAIN_LISTEN", default_value = "127.0.0.1:8099")]
    listen: SocketAddr,
    /// Tokio worker threads (default: one per CPU this process may run on).
    #[arg(long, env = "KEYHOUSE_PLAIN_WORKERS")]
    workers: Option<usize>,
    /// Answer GETs with the contents of this file (default: a small profile JSON).
    #[arg(long, env = "KEYHOUSE_PLAIN_GET_BODY")]
    get_body: Option<std::path::PathBuf>,
}

/// Answer to every GET: about the size of a minimal profile.
const PROFILE_JSON: &str =
    r#"{"user":{"id":"0f3a9c7e-1b2d-4e5f-8a6b-7c8d9e0f1a2b","username":"bench","enabled":true}}"#;

/// The token answer, with `TOKEN_LEN` placeholder characters at `TOKEN_AT`.
const TOKEN_TEMPLATE: &[u8; 102] = br#"{"access_token":"0000000000000000000000000000000000000000000","token_type":"bearer","expires_in":3600}"#;
const TOKEN_AT: usize = 17;
const TOKEN_LEN: usize = 43;

/// base64url alphabet: 64 symbols, 6 bits each.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

thread_local! {
    /// Per-thread generator state, seeded from the process's random hash keys.
    static RNG: Cell<u64> = Cell::new(RandomState::new().hash_one(std::thread::current().id()) | 1);
}

/// splitmix64: a few nanoseconds per 64 bits; not cryptographic (not needed here).
fn next_u64() -> u64 {
    RNG.with(|state| {
        let s = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        state.set(s);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

/// A fresh token-shaped JSON body.
fn token_json() -> Vec<u8> {
    let mut body = TOKEN_TEMPLATE.to_vec();
    if let Some(slot) = body.get_mut(TOKEN_AT..TOKEN_AT + TOKEN_LEN) {
        // 10 characters (60 bits) from each 64-bit draw.
        for chunk in slot.chunks_mut(10) {
            let mut bits = next_u64();
            for c in chunk {
                *c = ALPHABET[(bits & 63) as usize];
                bits >>= 6;
            }
        }
    }
    body
}

fn json_response(body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The one handler: every method, every path; the state is the GET answer.
async fn any(State(get_body): State<Bytes>, method: Method, body: Bytes) -> Response {
    if method == Method::POST {
        // The body has been read in full, as a real token endpoint must.
        std::hint::black_box(body.len());
        json_response(Body::from(token_json()))
    } else {
        json_response(Body::from(get_body))
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn stop_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for SIGINT"),
        _ = term.recv() => Ok(()),
    }
}

async fn serve(listen: SocketAddr, get_body: Bytes) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let local = listener.local_addr().context("local address")?;
    println!("keyhouse-plain listening on http://{local}");
    let app = Router::new().fallback(any).with_state(get_body);
    // Stop at once on a signal: the load generator is gone by then, and a
    // graceful drain would only wait for idle keep-alive connections.
    tokio::select! {
        r = axum::serve(listener, app) => r.context("serving HTTP"),
        r = stop_signal() => r,
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let get_body = match &args.get_body {
        None => Bytes::from_static(PROFILE_JSON.as_bytes()),
        Some(path) => match std::fs::read(path) {
            Ok(bytes) => Bytes::from(bytes),
            Err(err) => {
                eprintln!("keyhouse-plain: reading {}: {err}", path.display());
                return std::process::ExitCode::FAILURE;
            }
        },
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = args.workers {
        builder.worker_threads(n.max(1));
    }
    let result = builder
        .build()
        .context("starting the tokio runtime")
        .and_then(|rt| rt.block_on(serve(args.listen, get_body)));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("keyhouse-plain: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn token_body_is_token_shaped_and_fresh() {
        let a = String::from_utf8(token_json()).unwrap();
        let b = String::from_utf8(token_json()).unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(r#"{"access_token":""#));
        assert!(a.ends_with(r#"","token_type":"bearer","expires_in":3600}"#));
        let token = &a[TOKEN_AT..TOKEN_AT + TOKEN_LEN];
        assert!(token.bytes().all(|c| ALPHABET.contains(&c)));
    }
}
