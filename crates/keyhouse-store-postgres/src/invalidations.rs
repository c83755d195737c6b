//! Cross-node invalidation over LISTEN/NOTIFY: a node that revokes a token or
//! changes a connected app notifies in the same transaction; every node listens
//! and drops the token or app from its memory at once (architecture guide,
//! "The hot path").

use std::time::Duration;

use keyhouse_core::authn::token::TokenHash;
use keyhouse_core::store::{Invalidation, InvalidationReceiver, StoreResult};
use sqlx::postgres::{PgListener, PgPool};
use sqlx::PgConnection;
use tokio::sync::mpsc;

use crate::error::map_err;

/// The channel every Keyhouse node listens on.
const CHANNEL: &str = "keyhouse_invalidations";
/// Buffered changes before the listener waits for the service to catch up.
const BUFFER: usize = 1024;

/// Queues a notification inside the caller's transaction (sent on commit).
pub(crate) async fn notify(conn: &mut PgConnection, change: &Invalidation) -> StoreResult<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(encode(change))
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(map_err)
}

/// Opens a dedicated listening connection and forwards every change. After a
/// lost connection it sends [`Invalidation::Everything`], since notifications
/// sent while disconnected are gone.
pub(crate) async fn subscribe(pool: &PgPool) -> StoreResult<InvalidationReceiver> {
    let mut listener = PgListener::connect_with(pool).await.map_err(map_err)?;
    listener.listen(CHANNEL).await.map_err(map_err)?;
    let (tx, rx) = mpsc::channel(BUFFER);
    tokio::spawn(async move {
        loop {
            let change = match listener.try_recv().await {
                Ok(Some(notification)) => match decode(notification.payload()) {
                    Some(change) => change,
                    None => continue,
                },
                Ok(None) => Invalidation::Everything,
                Err(err) => {
                    tracing::warn!(error = %err, "invalidation listener lost its connection");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    Invalidation::Everything
                }
            };
            if tx.send(change).await.is_err() {
                break; // the service is gone
            }
        }
    });
    Ok(rx)
}

fn encode(change: &Invalidation) -> String {
    match change {
        Invalidation::TokenRevoked(hash) => format!("token:{}", hex::encode(hash.0)),
        Invalidation::AppChanged(client_id) => format!("app:{client_id}"),
        Invalidation::Everything => "all".to_owned(),
    }
}

fn decode(payload: &str) -> Option<Invalidation> {
    if payload == "all" {
        return Some(Invalidation::Everything);
    }
    if let Some(client_id) = payload.strip_prefix("app:") {
        return (!client_id.is_empty()).then(|| Invalidation::AppChanged(client_id.to_owned()));
    }
    let bytes = hex::decode(payload.strip_prefix("token:")?).ok()?;
    Some(Invalidation::TokenRevoked(TokenHash(
        bytes.try_into().ok()?,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_roundtrip() {
        let change = Invalidation::TokenRevoked(TokenHash([7; 32]));
        assert_eq!(decode(&encode(&change)), Some(change));
        assert_eq!(decode("all"), Some(Invalidation::Everything));
        assert_eq!(decode("token:zz"), None);
        assert_eq!(decode("other"), None);
        let app = Invalidation::AppChanged("0123456789abcdef0123456789abcdef".to_owned());
        assert_eq!(encode(&app), "app:0123456789abcdef0123456789abcdef");
        assert_eq!(decode(&encode(&app)), Some(app));
        assert_eq!(decode("app:"), None);
    }
}
