//! Helpers the workspace's tests share (dev-dependency only, never published): child processes killed when
//! the test ends, free ports and temporary folders on this machine, and headless Chromium through
//! ChromeDriver for the browser tests. Everything listens on 127.0.0.1 and every wait is bounded.

use std::{
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant, SystemTime},
};

use fantoccini::{Client, ClientBuilder};

/// A child process, killed and reaped when this is dropped, however the test ends.
#[derive(Debug)]
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The Python of the fixtures' virtual environment that `scripts/install-fixtures.sh` makes:
/// `FIXTURE_PYTHON`, else `$CARGO_TARGET_DIR/fixture-venv/bin/python` (default `target/` of the workspace).
pub fn fixture_python() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("FIXTURE_PYTHON") {
        return p.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("fixture-venv/bin/python")
}

/// A port nothing listens on right now, on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Waits (at most 30 s) until something accepts connections on `127.0.0.1:port`; fails early if `child`
/// exits first.
pub fn wait_for_port(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the process exited before listening on {port}: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on 127.0.0.1:{port} after 30 s");
}

/// A fresh folder under the system's temporary folder, removed with everything in it when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// `<tmp>/<prefix>-<pid>-<nanos>-<n>`, created now.
    pub fn new(prefix: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        TempDir(dir)
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How to start the browser.
#[derive(Debug, Clone, Default)]
pub struct BrowserOptions {
    /// Chromium arguments beside the headless, no-sandbox, quiet set every test uses.
    pub extra_args: Vec<String>,
    /// Ask ChromeDriver to keep the browser log (console messages, script errors).
    pub browser_log: bool,
}

/// ChromeDriver and the Chromium profile folder of one session: dropping it stops ChromeDriver (which ends
/// its browser) and removes the profile.
#[derive(Debug)]
pub struct Driver {
    /// Where ChromeDriver listens (for its endpoints fantoccini does not wrap, like the browser log).
    pub port: u16,
    _process: Process,
    _profile: TempDir,
}

/// Starts ChromeDriver (`CHROMEDRIVER`, default `chromedriver`) on a free port and opens a headless
/// Chromium session (`CHROMIUM`, default `/usr/bin/chromium`) with a profile of its own, retrying for at
/// most 30 s while ChromeDriver starts.
pub async fn start_browser(options: BrowserOptions) -> (Driver, Client) {
    let port = free_port();
    let process = Process(
        Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (apt-get install chromium chromium-driver)"),
    );
    let profile = TempDir::new("browser-profile");
    let mut args: Vec<String> = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(options.extra_args);
    args.push(format!("--user-data-dir={}", profile.path().display()));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": args,
        }),
    );
    if options.browser_log {
        caps.insert(
            "goog:loggingPrefs".into(),
            serde_json::json!({ "browser": "ALL" }),
        );
    }
    let driver = Driver {
        port,
        _process: process,
        _profile: profile,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match ClientBuilder::rustls()
            .expect("rustls connector")
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => return (driver, client),
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot start a browser session: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temp_dir_is_fresh_and_gone_after_the_drop() {
        let a = TempDir::new("test-support");
        let b = TempDir::new("test-support");
        assert_ne!(a.path(), b.path());
        std::fs::write(a.path().join("file"), "x").expect("writable");
        let path = a.path().to_owned();
        drop(a);
        assert!(!path.exists());
    }

    #[test]
    fn a_process_is_killed_when_dropped() {
        let child = Command::new("sleep").arg("30").spawn().expect("sleep runs");
        let pid = child.id();
        drop(Process(child));
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        assert!(!status.contains("State:\tS"), "still running: {status}");
    }

    #[test]
    fn wait_for_port_returns_once_something_listens() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mut child = Command::new("sleep").arg("30").spawn().expect("sleep runs");
        wait_for_port(port, &mut child);
        let _ = child.kill();
        let _ = child.wait();
    }
}
