//! Group commit for issued tokens (architecture guide, "The hot path"): every
//! token is durable before its response goes out, but concurrent requests
//! share one transaction and one fsync. A single writer task takes whatever
//! has queued up while the previous batch was committing.
//!
//! Tokens an app gets for itself are audited here too, in the same
//! transaction: one `token.issued` event per app, grant and source address
//! in each batch, with the number of tokens (`count`), so the audit log
//! grows with the batches, not with every token of a busy pipeline.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use std::net::IpAddr;

use super::token::AccessTokenRecord;
use crate::audit::AuditEvent;
use crate::error::{CoreError, CoreResult};
use crate::metrics::TokenWriterMetrics;
use crate::store::{Store, StoreResult};

/// Most tokens committed in one transaction.
const MAX_BATCH: usize = 512;
/// Requests that may wait for the writer before senders are slowed down.
const QUEUE: usize = 8192;

struct Pending {
    record: AccessTokenRecord,
    /// How the token was obtained, when it is audited by the writer.
    note: Option<IssueNote>,
    /// An event of its own to commit with the token (e.g. `user.login`).
    event: Option<AuditEvent>,
    done: oneshot::Sender<StoreResult<()>>,
}

/// What the audit log says about a token the writer audits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssueNote {
    /// The grant (`client_credentials`).
    pub grant: &'static str,
    /// Where the request came from.
    pub source: Option<IpAddr>,
}

/// One `token.issued` event per (org, app, grant, source) of a batch, then
/// the events that came with single tokens.
fn batch_events(batch: &[Pending]) -> Vec<AuditEvent> {
    let mut groups: Vec<(&AccessTokenRecord, IssueNote, u64)> = Vec::new();
    for pending in batch {
        let Some(note) = pending.note else {
            continue;
        };
        let record = &pending.record;
        let same = |(r, n, _): &&mut (&AccessTokenRecord, IssueNote, u64)| {
            r.org_id == record.org_id && r.client_id == record.client_id && *n == note
        };
        match groups.iter_mut().find(|g| same(g)) {
            Some(group) => group.2 += 1,
            None => groups.push((record, note, 1)),
        }
    }
    groups
        .into_iter()
        .map(|(record, note, count)| {
            let client = record.client_id.clone().unwrap_or_default();
            AuditEvent::new(record.created_at, "token.issued", "connected_app")
                .org(record.org_id)
                .client(&client)
                .object(client)
                .source(note.source)
                .with("grant_type", note.grant)
                .with("count", count)
        })
        .chain(batch.iter().filter_map(|p| p.event.clone()))
        .collect()
}

/// Tops up a batch that has just begun: the writer steps back once (no timer)
/// so that the requests already able to run queue their tokens first, then
/// takes whatever has arrived. Without this the writer, woken by the first
/// token, committed it alone while the other connections' requests were
/// still being parsed: a third of the batches held one token (issue 4).
async fn gather(incoming: &mut mpsc::Receiver<Pending>, batch: &mut Vec<Pending>) {
    if batch.len() >= MAX_BATCH {
        return;
    }
    tokio::task::yield_now().await;
    while batch.len() < MAX_BATCH {
        match incoming.try_recv() {
            Ok(pending) => batch.push(pending),
            Err(_) => break,
        }
    }
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
                gather(&mut incoming, &mut batch).await;
                let records: Vec<AccessTokenRecord> =
                    batch.iter().map(|p| p.record.clone()).collect();
                let events = batch_events(&batch);
                let result = store.insert_tokens_audited(&records, &events).await;
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
        self.send(record, None, None).await
    }

    /// [`TokenWriter::write`], audited with the batch when `note` is given.
    pub async fn write_noted(
        &self,
        record: AccessTokenRecord,
        note: Option<IssueNote>,
    ) -> CoreResult<()> {
        self.send(record, note, None).await
    }

    /// [`TokenWriter::write`] with `event` committed in the same transaction.
    pub async fn write_with_event(
        &self,
        record: AccessTokenRecord,
        event: AuditEvent,
    ) -> CoreResult<()> {
        self.send(record, None, Some(event)).await
    }

    async fn send(
        &self,
        record: AccessTokenRecord,
        note: Option<IssueNote>,
        event: Option<AuditEvent>,
    ) -> CoreResult<()> {
        let (done, committed) = oneshot::channel();
        self.queue
            .send(Pending {
                record,
                note,
                event,
                done,
            })
            .await
            .map_err(|_| CoreError::Unavailable("token writer stopped".to_owned()))?;
        committed
            .await
            .map_err(|_| CoreError::Unavailable("token writer stopped".to_owned()))?
            .map_err(CoreError::from)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::authn::token::TokenHash;
    use crate::ids::OrgId;
    use crate::time_fmt::Timestamp;

    fn pending(client: &str, org: OrgId, note: Option<IssueNote>) -> Pending {
        let (done, _) = oneshot::channel();
        Pending {
            record: AccessTokenRecord {
                hash: TokenHash([7; 32]),
                user_id: None,
                client_id: Some(client.to_owned()),
                org_id: org,
                created_at: Timestamp(1_000),
                expires_at: Timestamp(2_000),
                scope: None,
            },
            note,
            event: None,
            done,
        }
    }

    #[test]
    fn a_batch_is_audited_once_per_app_and_address() {
        let org = OrgId::generate();
        let here = IssueNote {
            grant: "client_credentials",
            source: Some("127.0.0.1".parse().unwrap()),
        };
        let there = IssueNote {
            source: Some("10.0.0.9".parse().unwrap()),
            ..here
        };
        let batch = vec![
            pending("a", org, Some(here)),
            pending("a", org, Some(here)),
            pending("b", org, Some(here)),
            pending("a", org, Some(there)),
            pending("c", org, None),
            Pending {
                event: Some(AuditEvent::new(Timestamp(1_000), "user.login", "user")),
                ..pending("d", org, None)
            },
        ];
        let mut events = batch_events(&batch);
        let own = events.pop().expect("the single token's event");
        assert_eq!(own.action, "user.login");
        let summary: Vec<(Option<String>, Option<String>, serde_json::Value)> = events
            .iter()
            .map(|e| {
                (
                    e.actor_client_id.clone(),
                    e.source.clone(),
                    e.detail["count"].clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (Some("a".into()), Some("127.0.0.1".into()), 2.into()),
                (Some("b".into()), Some("127.0.0.1".into()), 1.into()),
                (Some("a".into()), Some("10.0.0.9".into()), 1.into()),
            ]
        );
        assert!(events.iter().all(|e| e.action == "token.issued"
            && e.detail["grant_type"] == "client_credentials"
            && e.org_id == Some(org)));
    }
}
