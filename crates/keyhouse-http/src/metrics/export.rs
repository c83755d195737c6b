//! `GET /metrics`: reads the counters once per scrape and writes the
//! OpenMetrics text exposition (which Prometheus scrapes natively).

use std::fmt;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use keyhouse_core::metrics::{CoreMetrics, HistogramSnapshot};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::{Metrics, CLASSES, GRANTS, METHODS, OAUTH_ERRORS};
use crate::error::ApiError;
use crate::AppState;

/// The media type of the OpenMetrics text format.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Prometheus metrics of this node (OpenMetrics text). 404 when
/// `metrics_enabled` is off. Labels hold route templates, methods, status
/// classes, grant types and OAuth error codes only: never ids or secrets.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "OpenMetrics text exposition",
            content_type = "application/openmetrics-text", body = String),
        (status = 404, description = "Metrics are disabled (`metrics_enabled = false`)",
            body = crate::openapi::schemas::Error),
    )
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    if !state.metrics.enabled() {
        return ApiError::new(StatusCode::NOT_FOUND, "Resource not found").into_response();
    }
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Scrape {
        metrics: state.metrics,
        core: state.keyhouse.metrics(),
    }));
    let mut body = String::new();
    if prometheus_client::encoding::text::encode(&mut body, &registry).is_err() {
        return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
            .into_response();
    }
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(OPENMETRICS))],
        body,
    )
        .into_response()
}

/// The counters at one scrape.
#[derive(Debug)]
struct Scrape {
    metrics: &'static Metrics,
    core: CoreMetrics,
}

/// A histogram in the encoder's terms: sum, count and non-cumulative buckets,
/// with values divided by `unit` (nanoseconds → seconds).
fn buckets(snapshot: &HistogramSnapshot, unit: f64) -> (f64, u64, Vec<(f64, u64)>) {
    let bounds = snapshot
        .bounds
        .iter()
        .map(|&b| b as f64 / unit)
        .chain([f64::INFINITY]);
    let buckets = bounds.zip(snapshot.counts.iter().copied()).collect();
    (snapshot.sum as f64 / unit, snapshot.count(), buckets)
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: &str,
    series: &[(&str, u64)],
) -> fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (value, count) in series {
        family
            .encode_family(&[(label, *value)])?
            .encode_counter::<NoLabelSet, u64, u64>(count, None)?;
    }
    Ok(())
}

impl Scrape {
    fn http(&self, encoder: &mut DescriptorEncoder) -> fmt::Result {
        let routes = &self.metrics.http.routes;
        let mut family = encoder.encode_descriptor(
            "keyhouse_http_requests",
            "HTTP requests answered, by route template, method and status class",
            None,
            MetricType::Counter,
        )?;
        for (route, counters) in routes.iter() {
            for (method, row) in METHODS.iter().zip(counters.requests.iter()) {
                for (class, cell) in CLASSES.iter().zip(row.iter()) {
                    let count = cell.load(Ordering::Relaxed);
                    if count == 0 {
                        continue;
                    }
                    let labels = [
                        ("route", route.as_ref()),
                        ("method", *method),
                        ("status_class", *class),
                    ];
                    family
                        .encode_family(&labels)?
                        .encode_counter::<NoLabelSet, u64, u64>(&count, None)?;
                }
            }
        }
        let mut family = encoder.encode_descriptor(
            "keyhouse_http_request_duration_seconds",
            "Time from routing to the response head, by route template",
            None,
            MetricType::Histogram,
        )?;
        for (route, counters) in routes.iter() {
            let (sum, count, buckets) = buckets(&counters.latency.snapshot(), 1e9);
            if count == 0 {
                continue;
            }
            family
                .encode_family(&[("route", route.as_ref())])?
                .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
        }
        Ok(())
    }

    fn tokens(&self, encoder: &mut DescriptorEncoder) -> fmt::Result {
        let tokens = &self.metrics.tokens;
        let issued: Vec<(&str, u64)> = GRANTS
            .iter()
            .zip(tokens.issued.iter())
            .map(|(g, c)| (*g, c.load(Ordering::Relaxed)))
            .collect();
        counter(
            encoder,
            "keyhouse_tokens_issued",
            "Access tokens issued, by grant type (login: POST /accounts/login)",
            "grant_type",
            &issued,
        )?;
        let failures: Vec<(&str, u64)> = OAUTH_ERRORS
            .iter()
            .zip(tokens.failures.iter())
            .map(|(e, c)| (*e, c.load(Ordering::Relaxed)))
            .collect();
        counter(
            encoder,
            "keyhouse_token_failures",
            "Token endpoint requests refused, by OAuth error code (RFC 6749 section 5.2)",
            "error",
            &failures,
        )
    }

    fn core(&self, encoder: &mut DescriptorEncoder) -> fmt::Result {
        let core = &self.core;
        counter(
            encoder,
            "keyhouse_session_lookups",
            "Bearer token lookups in the in-memory session table, by result",
            "result",
            &[("hit", core.session_hits), ("miss", core.session_misses)],
        )?;
        encoder
            .encode_descriptor(
                "keyhouse_live_tokens",
                "Access tokens held in the session table (live, not yet purged)",
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&core.live_tokens)?;
        let (sum, count, buckets) = buckets(&core.token_batches, 1.0);
        encoder
            .encode_descriptor(
                "keyhouse_token_write_batch_size",
                "Tokens per group-commit transaction of the token writer",
                None,
                MetricType::Histogram,
            )?
            .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
        encoder
            .encode_descriptor(
                "keyhouse_token_write_batch_failures",
                "Group-commit transactions that failed (their tokens were refused)",
                None,
                MetricType::Counter,
            )?
            .encode_counter::<NoLabelSet, u64, u64>(&core.failed_token_batches, None)
    }
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        self.http(&mut encoder)?;
        self.tokens(&mut encoder)?;
        self.core(&mut encoder)
    }
}
