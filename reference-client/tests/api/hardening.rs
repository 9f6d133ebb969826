//! Bounded stores, database work off the async workers, and logs without codes.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use std::time::{Duration, Instant};
use tracing_subscriber::Layer;

use reqwest::StatusCode;

use crate::helpers::{assert_error, browser, spawn_app, spawn_app_with};
use reference_client::UnknownUserPolicy;

// A cookie-mode session store at its bound refuses new sessions rather than growing.
#[tokio::test]
async fn a_full_session_store_refuses_a_new_session_with_503() {
    let app = spawn_app_with(|s| {
        s.session_mode = reference_client::SessionMode::Cookie;
        s.limits.sessions = 1;
    })
    .await;
    assert_eq!(
        app.login_as(&browser(), "alice").await.status(),
        StatusCode::OK
    );
    assert_error(
        app.login_as(&browser(), "bob").await,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    )
    .await;
    app.state.clock.advance(Duration::from_secs(901));
    assert_eq!(
        app.login_as(&browser(), "bob").await.status(),
        StatusCode::OK
    );
    assert_eq!(app.state.sessions.len(), 1, "the expired session was swept");
}

// SQLite work runs on the blocking pool: while another process holds the write lock (up to the 5 s busy
// timeout), the requests that must write wait, and the others are served at once. One async worker makes
// it deterministic: a query run on it would hold up every other request until the lock is released.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_locked_database_does_not_stall_requests_that_do_not_need_it() {
    let app = spawn_app_with(|s| s.unknown_user_policy = UnknownUserPolicy::AutoCreate).await;
    // First logins of new users: each must write (find-or-create in an immediate transaction).
    let mut ready = Vec::new();
    for i in 0..6 {
        let name = format!("writer{i}");
        app.idp()
            .add_user(mock_idp::UserConfig::new(
                &name,
                "pw",
                &format!("writer-sub-{i}"),
            ))
            .expect("user");
        let b = browser();
        let params = app.authorize_as(&b, &name).await;
        ready.push((b, params.body()));
    }
    // Another process's long write: the write lock of the same file.
    let path = app.state.settings.database.clone();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(path).expect("open");
        conn.execute_batch("BEGIN IMMEDIATE").expect("lock");
        locked_tx.send(()).expect("signal");
        let _ = release_rx.recv_timeout(Duration::from_secs(4));
        conn.execute_batch("COMMIT").expect("unlock");
    });
    locked_rx.recv().expect("locked");
    let address = app.address.clone();
    let waiting: Vec<_> = ready
        .into_iter()
        .map(|(b, body)| {
            let address = address.clone();
            tokio::spawn(async move {
                b.post(format!("{address}/api/auth/callback"))
                    .json(&body)
                    .send()
                    .await
                    .map(|r| r.status())
            })
        })
        .collect();
    // Let every login exchange its code (if one blocked the async worker, this would time out).
    let deadline = Instant::now() + Duration::from_secs(3);
    while app.idp().token_requests() < 6 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let health = app.get("/health").await;
    let elapsed = started.elapsed();
    assert_eq!(health.status(), StatusCode::OK);
    assert!(
        elapsed < Duration::from_millis(500),
        "/health took {elapsed:?}"
    );
    assert!(
        waiting.iter().all(|w| !w.is_finished()),
        "the logins are still waiting for the write lock"
    );
    release_tx.send(()).expect("release");
    holder.join().expect("holder");
    for w in waiting {
        assert_eq!(w.await.expect("task").expect("response"), StatusCode::OK);
    }
    assert_eq!(app.user_count(), 2 + 6);
}

/// A `MakeWriter` collecting everything logged.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Whether the test binary's subscriber records anything (only while the log test runs).
static CAPTURING: AtomicBool = AtomicBool::new(false);

/// Installs, once, a global subscriber that records everything at TRACE while [`CAPTURING`] is set. Global,
/// not thread-scoped: the server's tasks, the blocking pool and parallel tests all log through it, and a
/// thread-scoped default does not reliably see callsites first hit by other test threads.
fn captured_logs() -> Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;
        let logs = Captured::default();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(logs.clone())
            .with_ansi(false)
            .with_filter(tracing_subscriber::filter::filter_fn(|_| {
                CAPTURING.load(Ordering::SeqCst)
            }));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
        logs
    })
    .clone()
}

// RFC 9700 §4.2.4: codes must not leak through logs. Everything is recorded at TRACE while this test runs.
#[tokio::test]
async fn the_callback_query_with_its_code_never_reaches_the_logs() {
    let logs = captured_logs();
    CAPTURING.store(true, Ordering::SeqCst);
    let app = spawn_app().await;
    let b = browser();
    let params = app.authorize_as(&b, "alice").await;
    let code = params.code.clone().expect("code");
    // The browser lands on the callback page with the code in its URL, then the page posts it.
    let page = b
        .get(format!(
            "{}/callback?code={code}&state={}&iss=x",
            app.address, params.state
        ))
        .send()
        .await
        .expect("GET /callback");
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(
        app.post_callback(&b, &params.body()).await.status(),
        StatusCode::OK
    );
    CAPTURING.store(false, Ordering::SeqCst);
    let text =
        String::from_utf8_lossy(&logs.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
    assert!(text.contains("/callback"), "requests are logged: {text}");
    assert!(!text.contains(&code), "the code leaked into the logs");
    assert!(
        !text.contains(&params.state),
        "the state leaked into the logs"
    );
}
