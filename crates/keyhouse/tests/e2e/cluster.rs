//! Several nodes on one PostgreSQL database: a token issued on one node works
//! on the others, and a logout on one node is refused by all of them at once.

use reqwest::Method;

use crate::support::{postgres, TestServer};

#[tokio::test]
async fn logout_on_one_node_is_seen_by_the_other_at_once() {
    if postgres::backend() != "postgres" {
        eprintln!("skipped on SQLite: one process owns the file (runs in the PostgreSQL pass)");
        return;
    }
    let node_a = TestServer::start().await;
    let node_b = node_a.second_node();
    let on_a = node_a.admin().await;
    let on_b = node_b.client().with_token(on_a.token.as_deref().unwrap());
    // B has never seen this token: it finds it in the shared database.
    assert_eq!(on_b.get("/accounts/api/me").await.status, 200);
    let resp = on_a
        .send(Method::POST, "/accounts/api/logout", None, Vec::new())
        .await;
    assert_eq!(resp.status, 204);
    // B held the token in memory; the notification removes it. Delivery is
    // asynchronous, so allow it a bounded number of short polls.
    let mut refused = false;
    for _ in 0..50 {
        if on_b.get("/accounts/api/me").await.status == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(refused, "node B still accepts a token logged out on node A");
}
