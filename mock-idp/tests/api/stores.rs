//! Every store is bounded by what is live; a full store answers temporarily_unavailable; stores are pluggable.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use crate::helpers::*;
use mock_idp::{
    AuthorizationCode, CodeStore, Config, MemoryCodeStore, MockIdp, Redemption, StoreFull, Stores,
};
use reqwest::StatusCode;

fn small(f: impl FnOnce(&mut mock_idp::Limits)) -> Config {
    let mut config = Config::builtin();
    f(&mut config.limits);
    config
}

#[tokio::test]
async fn a_full_code_store_refuses_new_logins_until_spent_codes_are_no_longer_needed() {
    let t = spawn_idp_with(small(|l| l.codes = 2)).await;
    for _ in 0..2 {
        let code = t.code_for("alice", &[]).await;
        assert_eq!(t.exchange(&code).await.status, StatusCode::OK);
    }
    // Both spent codes are still needed to recognise a replay: a new login is refused, by redirect (the
    // only way an authorization endpoint can tell the client, RFC 6749 §4.1.2.1).
    t.idp.next_login("alice");
    let r = t
        .authorize(&[
            ("client_id", WEB),
            ("redirect_uri", WEB_REDIRECT),
            ("response_type", "code"),
            ("state", "s9"),
        ])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        param(&r.location(), "error").as_deref(),
        Some("temporarily_unavailable")
    );
    assert_eq!(param(&r.location(), "state").as_deref(), Some("s9"));
    // Once the tokens of those redemptions have expired (refresh: 24 h), the spent records go.
    t.idp.clock().advance(Duration::from_secs(86_401));
    let code = t.code_for("alice", &[]).await;
    assert_eq!(t.exchange(&code).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_unredeemed_code_is_forgotten_when_it_expires() {
    let t = spawn_idp_with(small(|l| l.codes = 1)).await;
    let stale = t.code_for("alice", &[]).await;
    t.idp.clock().advance(Duration::from_secs(61));
    let fresh = t.code_for("alice", &[]).await;
    assert_eq!(t.exchange(&fresh).await.status, StatusCode::OK);
    assert_eq!(t.exchange(&stale).await.error(), "invalid_grant");
}

#[tokio::test]
async fn a_full_token_store_answers_503_with_retry_after_until_tokens_expire() {
    let t = spawn_idp_with(small(|l| l.access_tokens = 2)).await;
    let grant = [("grant_type", "client_credentials")];
    let auth = basic("service", "service-secret");
    for _ in 0..2 {
        assert_eq!(t.token(&grant, Some(&auth)).await.status, StatusCode::OK);
    }
    let full = t.token(&grant, Some(&auth)).await;
    assert_eq!(full.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(full.error(), "temporarily_unavailable");
    assert!(full.header("retry-after").is_some());
    t.idp.clock().advance(Duration::from_secs(3601));
    assert_eq!(t.token(&grant, Some(&auth)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_full_refresh_store_answers_503_and_room_comes_back_at_expiry() {
    let t = spawn_idp_with(small(|l| l.refresh_tokens = 1)).await;
    let first = t.exchange(&t.code_for("alice", &[]).await).await;
    assert_eq!(first.status, StatusCode::OK);
    let full = t.exchange(&t.code_for("alice", &[]).await).await;
    assert_eq!(full.status, StatusCode::SERVICE_UNAVAILABLE, "{full:?}");
    t.idp.clock().advance(Duration::from_secs(86_401));
    assert_eq!(
        t.exchange(&t.code_for("alice", &[]).await).await.status,
        StatusCode::OK
    );
}

/// A code store that counts what goes through it, wrapping the in-memory one.
struct Counting {
    inner: MemoryCodeStore,
    inserts: Arc<AtomicUsize>,
    redeems: Arc<AtomicUsize>,
}

impl CodeStore for Counting {
    fn insert(&self, code: &str, grant: AuthorizationCode, now: u64) -> Result<(), StoreFull> {
        self.inserts.fetch_add(1, Ordering::SeqCst);
        self.inner.insert(code, grant, now)
    }
    fn redeem(&self, code: &str, client_id: &str, spent_until: u64) -> Redemption {
        self.redeems.fetch_add(1, Ordering::SeqCst);
        self.inner.redeem(code, client_id, spent_until)
    }
}

#[tokio::test]
async fn the_handlers_use_the_stores_chosen_at_build_time() {
    let config = Config::builtin();
    let (inserts, redeems) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let stores = Stores {
        codes: Box::new(Counting {
            inner: MemoryCodeStore::new(10),
            inserts: inserts.clone(),
            redeems: redeems.clone(),
        }),
        ..Stores::in_memory(&config.limits)
    };
    let t = TestIdp {
        idp: MockIdp::start_with_stores(config, stores)
            .await
            .expect("starts"),
        http: browser(),
    };
    let code = t.code_for("alice", &[]).await;
    assert_eq!(t.exchange(&code).await.status, StatusCode::OK);
    assert_eq!(t.exchange(&code).await.error(), "invalid_grant");
    assert_eq!(inserts.load(Ordering::SeqCst), 1);
    assert_eq!(redeems.load(Ordering::SeqCst), 2);
}
