//! A stand-in for an app's redirect URI: a tiny HTTP server on 127.0.0.1:0
//! that records the query string of every request to `/callback` and answers
//! a small HTML page (loopback `http` redirect URIs are allowed, RFC 8252 §7.3).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;

type Seen = Arc<Mutex<Vec<String>>>;

/// A running callback listener; stops when dropped.
pub struct Callback {
    /// `http://127.0.0.1:<port>/callback`: register this as the redirect URI.
    pub url: String,
    seen: Seen,
    task: tokio::task::JoinHandle<()>,
}

impl Callback {
    /// Starts listening on a free loopback port.
    pub async fn start() -> Self {
        let seen: Seen = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind callback listener");
        let port = listener.local_addr().expect("local addr").port();
        let app = Router::new()
            .route("/callback", get(record))
            .with_state(seen.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://127.0.0.1:{port}/callback"),
            seen,
            task,
        }
    }

    /// The raw query strings received so far, oldest first.
    pub fn received(&self) -> Vec<String> {
        self.seen.lock().expect("callback lock").clone()
    }

    /// Waits (up to 20 s) until `count` requests have arrived; returns the
    /// query string of the `count`-th one.
    pub async fn wait_for(&self, count: usize) -> String {
        assert!(count >= 1, "count starts at 1");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(query) = self.received().get(count - 1) {
                return query.clone();
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "the callback got {} request(s), expected {count}: {:?}",
                    self.received().len(),
                    self.received()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Callback {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(State(seen): State<Seen>, RawQuery(query): RawQuery) -> Html<&'static str> {
    seen.lock()
        .expect("callback lock")
        .push(query.unwrap_or_default());
    Html("<!doctype html><html><head><title>Callback</title></head><body><p id=\"callback\">Received.</p></body></html>")
}

/// The decoded query parameters, in order. Panics when a name appears twice
/// (a redirect must carry each parameter once).
pub fn params(query: &str) -> Vec<(String, String)> {
    let url = reqwest::Url::parse(&format!("http://callback.invalid/?{query}")).expect("query");
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    for (i, (name, _)) in pairs.iter().enumerate() {
        assert!(
            !pairs[..i].iter().any(|(n, _)| n == name),
            "parameter {name} repeated in {query}"
        );
    }
    pairs
}

/// One decoded query parameter, if present.
pub fn param(query: &str, name: &str) -> Option<String> {
    params(query)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}
