//! Counters the server exports at `/metrics` (issue 7): plain atomics, so
//! recording one is a relaxed `fetch_add` with no lock and no allocation on
//! the hot path (architecture guide, "The hot path"). This crate knows nothing
//! of the exposition format; the HTTP layer reads snapshots and encodes them.

use std::sync::atomic::{AtomicU64, Ordering};

/// A histogram with fixed upper bounds, in integer units (nanoseconds, items).
/// Observing is two or three relaxed atomic additions; reading takes a
/// [`HistogramSnapshot`], which may be a few observations inconsistent (the
/// count and the buckets are not read at one instant), as Prometheus allows.
#[derive(Debug)]
pub struct Histogram {
    /// Inclusive upper bounds, ascending; an implicit `+Inf` bucket follows.
    bounds: &'static [u64],
    /// Non-cumulative counts, one per bound plus the `+Inf` bucket.
    buckets: Box<[AtomicU64]>,
    sum: AtomicU64,
}

/// A histogram's contents at one scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramSnapshot {
    /// The upper bounds, as in [`Histogram::new`].
    pub bounds: &'static [u64],
    /// Non-cumulative counts: one per bound, then the `+Inf` bucket.
    pub counts: Vec<u64>,
    /// Sum of the observed values (wrapping, in the histogram's unit).
    pub sum: u64,
}

impl HistogramSnapshot {
    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

impl Histogram {
    /// An empty histogram with these ascending upper bounds.
    pub fn new(bounds: &'static [u64]) -> Self {
        Self {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
        }
    }

    /// Records one value.
    pub fn observe(&self, value: u64) {
        let index = self
            .bounds
            .iter()
            .position(|&bound| value <= bound)
            .unwrap_or(self.bounds.len());
        if let Some(bucket) = self.buckets.get(index) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        self.sum.fetch_add(value, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            bounds: self.bounds,
            counts: self
                .buckets
                .iter()
                .map(|b| b.load(Ordering::Relaxed))
                .collect(),
            sum: self.sum.load(Ordering::Relaxed),
        }
    }
}

/// Upper bounds of the group-commit batch size histogram (tokens per transaction).
pub const BATCH_SIZE_BOUNDS: &[u64] = &[1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/// What the group-commit token writer has done.
#[derive(Debug)]
pub struct TokenWriterMetrics {
    /// Tokens per committed (or failed) transaction.
    pub batch_sizes: Histogram,
    /// Transactions that failed (every token in them was refused).
    pub failed_batches: AtomicU64,
}

impl Default for TokenWriterMetrics {
    fn default() -> Self {
        Self {
            batch_sizes: Histogram::new(BATCH_SIZE_BOUNDS),
            failed_batches: AtomicU64::new(0),
        }
    }
}

/// The core's figures at one scrape (`Keyhouse::metrics`).
#[derive(Debug, Clone)]
pub struct CoreMetrics {
    /// Bearer validations answered from the in-memory session table.
    pub session_hits: u64,
    /// Bearer validations whose token was not in the table (unknown, expired,
    /// revoked, or on a shared database issued by another node).
    pub session_misses: u64,
    /// Tokens held in the session table now.
    pub live_tokens: u64,
    /// Tokens per group-commit transaction.
    pub token_batches: HistogramSnapshot,
    /// Group-commit transactions that failed.
    pub failed_token_batches: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_land_in_the_first_bucket_that_holds_them() {
        let h = Histogram::new(&[1, 4, 16]);
        for v in [0, 1, 2, 4, 5, 16, 17, 1000] {
            h.observe(v);
        }
        let s = h.snapshot();
        assert_eq!(s.counts, vec![2, 2, 2, 2]);
        assert_eq!(s.count(), 8);
        assert_eq!(s.sum, 1045);
    }
}
