//! Prometheus metrics at `GET /metrics` (issue 7, architecture guide
//! "Conventions" 10). Every counter is a plain atomic incremented with
//! `Ordering::Relaxed`: recording takes no lock and allocates nothing, and
//! per-route counters are created at start-up from `crate::route_paths`, so a
//! request finds its counters by the route template axum matched
//! ([`axum::extract::MatchedPath`], never the raw path: no ids or tokens in
//! labels, and the number of series is bounded). The exposition is written
//! with `prometheus-client` at scrape time only.
//!
//! The metric names, labels and meanings are listed in `docs/observability.md`.

pub(crate) mod export;
mod track;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use keyhouse_core::access::GrantType;
use keyhouse_core::metrics::Histogram;

pub use export::metrics;
pub use track::TrackLayer;

/// Route label of requests no route matched (answered by the 404 fallback).
pub const UNMATCHED: &str = "unmatched";
/// Route label of a matched template missing from `crate::route_paths` (which
/// should not happen: that list is read from the router).
pub const UNLISTED: &str = "unlisted";

/// `method` label values; anything else counts as `other`.
const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "other",
];
/// `status_class` label values, by the first digit of the status.
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Upper bounds of the request latency histogram, in nanoseconds (0.5 ms to
/// 5 s: token and bearer calls sit in the first buckets, Argon2id logins in
/// the hundreds of milliseconds).
const LATENCY_BOUNDS_NS: &[u64] = &[
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
];

/// `grant_type` label values of issued tokens: the token endpoint's grants,
/// then `login` for `POST /accounts/login` (Anypoint's username/password login).
const GRANTS: [&str; 6] = [
    "client_credentials",
    "authorization_code",
    "refresh_token",
    "password",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "login",
];
/// Position of `login` in [`GRANTS`].
const LOGIN: usize = 5;

/// `error` label values of token endpoint failures (RFC 6749 §5.2 codes, as
/// `OAuthError::code` answers them); the last one catches anything else.
const OAUTH_ERRORS: [&str; 8] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "temporarily_unavailable",
    "server_error",
];

fn zeros<const N: usize>() -> [AtomicU64; N] {
    std::array::from_fn(|_| AtomicU64::new(0))
}

/// The counters of one route template.
#[derive(Debug)]
struct RouteCounters {
    /// Requests by method and status class.
    requests: [[AtomicU64; CLASSES.len()]; METHODS.len()],
    /// Time from the request reaching the router to the response head, in ns.
    latency: Histogram,
}

impl RouteCounters {
    fn new() -> Self {
        Self {
            requests: std::array::from_fn(|_| zeros()),
            latency: Histogram::new(LATENCY_BOUNDS_NS),
        }
    }
}

/// Request counts and latencies by route template; fixed after start-up.
#[derive(Debug)]
pub struct HttpMetrics {
    /// Position in `routes` of each template (foldhash: no per-lookup allocation).
    index: hashbrown::HashMap<Box<str>, usize>,
    /// One per template, then [`UNMATCHED`], then [`UNLISTED`].
    routes: Box<[(Box<str>, RouteCounters)]>,
}

impl HttpMetrics {
    fn new(templates: &[String]) -> Self {
        let mut routes: Vec<(Box<str>, RouteCounters)> = Vec::new();
        let mut index = hashbrown::HashMap::new();
        let labels = templates
            .iter()
            .map(String::as_str)
            .chain([UNMATCHED, UNLISTED]);
        for template in labels {
            if !index.contains_key(template) {
                index.insert(template.into(), routes.len());
                routes.push((template.into(), RouteCounters::new()));
            }
        }
        Self {
            index,
            routes: routes.into_boxed_slice(),
        }
    }

    /// The position of the counters for a matched template (`None`: unmatched).
    fn route(&self, template: Option<&str>) -> usize {
        let label = template.unwrap_or(UNMATCHED);
        match self.index.get(label) {
            Some(&position) => position,
            None => self.index.get(UNLISTED).copied().unwrap_or(0),
        }
    }

    /// Counts one answered request.
    fn record(&self, route: usize, method: usize, status: StatusCode, elapsed: Duration) {
        let Some((_, counters)) = self.routes.get(route) else {
            return;
        };
        let class = usize::from(status.as_u16() / 100)
            .saturating_sub(1)
            .min(CLASSES.len() - 1);
        if let Some(cell) = counters.requests.get(method).and_then(|m| m.get(class)) {
            cell.fetch_add(1, Ordering::Relaxed);
        }
        counters
            .latency
            .observe(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
    }
}

/// Position of a method in [`METHODS`].
fn method_index(method: &Method) -> usize {
    METHODS
        .iter()
        .position(|m| *m == method.as_str())
        .unwrap_or(METHODS.len() - 1)
}

/// Tokens issued and refused.
#[derive(Debug)]
pub struct TokenMetrics {
    issued: [AtomicU64; GRANTS.len()],
    failures: [AtomicU64; OAUTH_ERRORS.len()],
}

impl TokenMetrics {
    /// One token issued by the token endpoint under `grant`.
    pub fn issued(&self, grant: GrantType) {
        let position = GRANTS
            .iter()
            .position(|g| *g == grant.as_str())
            .unwrap_or(LOGIN);
        if let Some(cell) = self.issued.get(position) {
            cell.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One token issued by `POST /accounts/login`.
    pub fn issued_login(&self) {
        if let Some(cell) = self.issued.get(LOGIN) {
            cell.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One token endpoint answer with this OAuth error code.
    pub fn failed(&self, code: &str) {
        let position = OAUTH_ERRORS
            .iter()
            .position(|c| *c == code)
            .unwrap_or(OAUTH_ERRORS.len() - 1);
        if let Some(cell) = self.failures.get(position) {
            cell.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Everything the HTTP layer counts. One per server, shared by reference
/// (see [`crate::AppState::new`]).
#[derive(Debug)]
pub struct Metrics {
    /// Whether `/metrics` is served and HTTP requests are counted.
    enabled: bool,
    http: HttpMetrics,
    /// Token endpoint and login outcomes (counted even when `/metrics` is off:
    /// one relaxed increment per token request).
    pub tokens: TokenMetrics,
}

impl Metrics {
    /// Counters for these route templates, all zero.
    pub fn new(templates: &[String], enabled: bool) -> Self {
        Self {
            enabled,
            http: HttpMetrics::new(templates),
            tokens: TokenMetrics {
                issued: zeros(),
                failures: zeros(),
            },
        }
    }

    /// Whether `/metrics` is served.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The layer that counts every request, when metrics are enabled.
    pub fn track_layer(&'static self) -> Option<TrackLayer> {
        self.enabled.then_some(TrackLayer::new(&self.http))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_template_method_and_class() {
        let http = HttpMetrics::new(&["/a/{id}".to_owned(), "/b".to_owned()]);
        let a = http.route(Some("/a/{id}"));
        http.record(
            a,
            method_index(&Method::GET),
            StatusCode::OK,
            Duration::ZERO,
        );
        http.record(
            a,
            method_index(&Method::GET),
            StatusCode::NOT_FOUND,
            Duration::from_millis(3),
        );
        let other = http.route(None);
        http.record(
            other,
            method_index(&Method::from_bytes(b"BREW").unwrap()),
            StatusCode::NOT_FOUND,
            Duration::ZERO,
        );
        assert_eq!(http.routes[a].0.as_ref(), "/a/{id}");
        assert_eq!(http.routes[a].1.requests[0][1].load(Ordering::Relaxed), 1);
        assert_eq!(http.routes[a].1.requests[0][3].load(Ordering::Relaxed), 1);
        assert_eq!(http.routes[other].0.as_ref(), UNMATCHED);
        assert_eq!(
            http.routes[other].1.requests[7][3].load(Ordering::Relaxed),
            1
        );
        assert_eq!(http.routes[http.route(Some("/zzz"))].0.as_ref(), UNLISTED);
        let latency = http.routes[a].1.latency.snapshot();
        assert_eq!(latency.count(), 2);
        assert_eq!(latency.sum, 3_000_000);
    }
}
