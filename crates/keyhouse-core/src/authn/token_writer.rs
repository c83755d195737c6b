//! Group commit for issued tokens (architecture guide, "The hot path"): every
//! token is durable before its response goes out, but concurrent requests
//! share one transaction and one fsync. A single writer task takes whatever
//! has queued up while the previous batch was committing.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::token::AccessTokenRecord;
use crate::error::{CoreError, CoreResult};
use crate::metrics::TokenWriterMetrics;
use crate::store::{Store, StoreResult};

/// Most tokens committed in one transaction.
const MAX_BATCH: usize = 512;
/// Requests that may wait for the writer before senders are slowed down.
const QUEUE: usize = 8192;

struct Pending {
    record: AccessTokenRecord,
    done: oneshot::Sender<StoreResult<()>>,
}

/// Handle to the writer task; cheap to share.
#[derive(Clone)]
pub struct TokenWriter {
    queue: mpsc::Sender<Pending>,
    /// Batch sizes and failures, for `/metrics` (issue 7).
    metrics: Arc<TokenWriterMetrics>,
}

impl TokenWriter {
    /// Starts the writer task on the current runtime.
    pub fn spawn(store: Arc<dyn Store>) -> Self {
        let (queue, mut incoming) = mpsc::channel::<Pending>(QUEUE);
        let metrics = Arc::new(TokenWriterMetrics::default());
        let counts = metrics.clone();
        tokio::spawn(async move {
            let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
            while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let records: Vec<AccessTokenRecord> =
                    batch.iter().map(|p| p.record.clone()).collect();
                let result = store.insert_tokens(&records).await;
                counts.batch_sizes.observe(records.len() as u64);
                if result.is_err() {
                    counts.failed_batches.fetch_add(1, Ordering::Relaxed);
                }
                tracing::debug!(
                    batch = records.len(),
                    ok = result.is_ok(),
                    "token batch committed"
                );
                for pending in batch.drain(..) {
                    let _ = pending.done.send(result.clone());
                }
            }
        });
        Self { queue, metrics }
    }

    /// What the writer has done so far.
    pub fn metrics(&self) -> &TokenWriterMetrics {
        &self.metrics
    }

    /// Queues a token and waits until the batch holding it is committed.
    pub async fn write(&self, record: AccessTokenRecord) -> CoreResult<()> {
        let (done, committed) = oneshot::channel();
        self.queue
            .send(Pending { record, done })
            .await
            .map_err(|_| CoreError::Unavailable("token writer stopped".to_owned()))?;
        committed
            .await
            .map_err(|_| CoreError::Unavailable("token writer stopped".to_owned()))?
            .map_err(CoreError::from)
    }
}
