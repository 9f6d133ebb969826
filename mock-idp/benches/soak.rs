//! Soak: resident memory of the CLI server under hours-long load must follow what is live, not what was ever
//! issued. Run in release mode, preferably niced on a shared machine:
//!
//! ```text
//! nice -n 19 cargo bench -p mock-idp --bench soak                      # 30 minutes
//! SOAK_SECS=150 SOAK_OUT=/tmp/soak cargo bench -p mock-idp --bench soak  # a short check
//! ```
//!
//! The CLI server runs in its own process with every lifetime at 60 s (codes, access, id and refresh
//! tokens) and store caps far above the live set, so the plateau shows expiry at work, not a cap. Eight
//! workers each loop over one full login (GET /authorize → login page → POST login → POST /token), then
//! userinfo, a refresh (rotation: the old token is spent) and the revocation of the new refresh token (a
//! revoked grant), so every store sees inserts, spent records and revocations. RSS is sampled every
//! `SOAK_SAMPLE_SECS` (10) seconds for `SOAK_SECS` (1800). Pass: after the first two minutes every sample
//! is within ±10 MiB of the sample at two minutes. Writes `soak.csv` and `soak.svg` into `SOAK_OUT`
//! (default: this crate's `docs/`, next to `docs/performance.md`).
//!
//! The live set is the flow rate times the lifetimes, so on a machine whose other load changes, the rate,
//! and with it memory, moves for reasons that are not the server's: `SOAK_RATE` (flows/s across the eight
//! workers; 0, the default, means as fast as they go) holds the offered load steady.

mod common;

use std::{
    fmt::Write as _,
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use common::{cpu_secs, flow, rss_kib};

const CONCURRENCY: usize = 8;
const WARM_UP_SECS: u64 = 120;
const BAND_MIB: f64 = 10.0;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn pacing(rate: u64) -> String {
    if rate == 0 {
        "unpaced".to_owned()
    } else {
        format!("paced at {rate} flows/s")
    }
}

/// Userinfo, refresh, then revoke the rotated refresh token.
async fn after_login(
    http: &reqwest::Client,
    issuer: &str,
    tokens: &serde_json::Value,
) -> Result<(), String> {
    let access = tokens["access_token"].as_str().ok_or("no access_token")?;
    let refresh = tokens["refresh_token"].as_str().ok_or("no refresh_token")?;
    let info = http
        .get(format!("{issuer}/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !info.status().is_success() {
        return Err(format!("userinfo: {}", info.status()));
    }
    let rotated = http
        .post(format!("{issuer}/token"))
        .basic_auth("web", Some("web-secret"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !rotated.status().is_success() {
        return Err(format!("refresh: {}", rotated.status()));
    }
    let rotated: serde_json::Value = rotated.json().await.map_err(|e| e.to_string())?;
    let new_refresh = rotated["refresh_token"]
        .as_str()
        .ok_or("no rotated token")?;
    let revoked = http
        .post(format!("{issuer}/revoke"))
        .basic_auth("web", Some("web-secret"))
        .form(&[("token", new_refresh)])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !revoked.status().is_success() {
        return Err(format!("revoke: {}", revoked.status()));
    }
    Ok(())
}

/// A small self-contained SVG line chart of RSS (MiB) over time (s), with the ±10 MiB band after warm-up.
fn svg(samples: &[(u64, f64)], reference: Option<f64>, title: &str) -> String {
    let (w, h, left, right, top, bottom) = (720.0, 320.0, 56.0, 16.0, 36.0, 40.0);
    let t_max = samples.last().map_or(1, |s| s.0).max(1) as f64;
    let y_max = samples
        .iter()
        .map(|s| s.1)
        .fold(reference.unwrap_or(0.0) + BAND_MIB, f64::max)
        .max(1.0)
        * 1.1;
    let x = |t: f64| left + (w - left - right) * t / t_max;
    let y = |m: f64| top + (h - top - bottom) * (1.0 - m / y_max);
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="{left}" y="20" font-size="13">{title}</text>
"##
    );
    if let Some(r) = reference {
        let (x0, x1) = (x(WARM_UP_SECS as f64), x(t_max));
        let (y0, y1) = (y(r + BAND_MIB), y((r - BAND_MIB).max(0.0)));
        let _ = writeln!(
            out,
            r##"<rect x="{x0:.1}" y="{y0:.1}" width="{:.1}" height="{:.1}" fill="#dff0d8"/>"##,
            x1 - x0,
            y1 - y0
        );
    }
    for i in 0..=4 {
        let m = y_max * f64::from(i) / 4.0;
        let _ = writeln!(
            out,
            r##"<line x1="{left}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{m:.0}</text>"##,
            w - right,
            y(m),
            y(m),
            left - 6.0,
            y(m) + 4.0
        );
    }
    for i in 0..=6 {
        let t = t_max * f64::from(i) / 6.0;
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">{:.0}</text>"##,
            x(t),
            h - bottom + 16.0,
            t / 60.0
        );
    }
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">minutes</text><text x="14" y="{:.1}" transform="rotate(-90 14 {:.1})" text-anchor="middle">RSS MiB</text>"##,
        (left + w - right) / 2.0,
        h - 6.0,
        (top + h - bottom) / 2.0,
        (top + h - bottom) / 2.0
    );
    let points: Vec<String> = samples
        .iter()
        .map(|&(t, m)| format!("{:.1},{:.1}", x(t as f64), y(m)))
        .collect();
    let _ = writeln!(
        out,
        r##"<polyline fill="none" stroke="#1f6fb2" stroke-width="2" points="{}"/>"##,
        points.join(" ")
    );
    out.push_str("</svg>\n");
    out
}

#[tokio::main]
async fn main() {
    let secs = env_u64("SOAK_SECS", 1800);
    let rate = env_u64("SOAK_RATE", 0);
    let sample = env_u64("SOAK_SAMPLE_SECS", 10).max(1);
    let out_dir = std::env::var_os("SOAK_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs"));
    std::fs::create_dir_all(&out_dir).expect("output directory");

    let mut config = mock_idp::Config::builtin();
    config.code_ttl = 60;
    config.access_token_ttl = 60;
    config.id_token_ttl = 60;
    config.refresh_token_ttl = 60;
    config.limits = mock_idp::Limits {
        codes: 10_000_000,
        access_tokens: 10_000_000,
        refresh_tokens: 10_000_000,
        pending_logins: 10_000_000,
        pending_logins_per_address: 10_000_000,
        auth_failure_counters: 10_000_000,
        sessions: 10_000_000,
    };
    let config_path =
        std::env::temp_dir().join(format!("mock-idp-soak-{}.toml", std::process::id()));
    std::fs::write(
        &config_path,
        toml::to_string(&config).expect("config serialises"),
    )
    .expect("write config");

    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-idp"))
        .arg("--config")
        .arg(&config_path)
        .args(["--port", "0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mock-idp");
    let pid = child.id();
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    stdout.read_line(&mut first).expect("banner");
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let issuer = first.trim().rsplit(' ').next().expect("issuer").to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = rss_kib(pid) as f64 / 1024.0;
    println!(
        "soak: CLI server {issuer} (pid {pid}), lifetimes 60 s, concurrency {CONCURRENCY}, {}, {secs} s, sample every {sample} s; idle RSS {idle:.1} MiB",
        pacing(rate)
    );

    let flows = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let cpu_before = cpu_secs(pid);
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (issuer, flows, errors) = (issuer.clone(), flows.clone(), errors.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .cookie_store(true)
                    .build()
                    .expect("client");
                let mut reported = 0;
                // Each worker starts at most rate / CONCURRENCY flows per second.
                let mut pace = (rate > 0).then(|| {
                    let period = Duration::from_secs_f64(CONCURRENCY as f64 / rate as f64);
                    let mut interval = tokio::time::interval(period);
                    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    interval
                });
                while Instant::now() < deadline {
                    if let Some(interval) = pace.as_mut() {
                        interval.tick().await;
                    }
                    let result = match flow(&http, &issuer).await {
                        Ok(tokens) => after_login(&http, &issuer, &tokens).await,
                        Err(e) => Err(e),
                    };
                    match result {
                        Ok(()) => flows.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            if reported < 3 {
                                eprintln!("soak: flow failed: {e}");
                                reported += 1;
                            }
                            errors.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
            })
        })
        .collect();

    let mut samples: Vec<(u64, f64)> = vec![(0, idle)];
    let mut csv = String::from("seconds,rss_mib,flows\n");
    let _ = writeln!(csv, "0,{idle:.2},0");
    let mut next = started + Duration::from_secs(sample);
    while next <= deadline {
        tokio::time::sleep_until(next.into()).await;
        let t = next.duration_since(started).as_secs();
        let mib = rss_kib(pid) as f64 / 1024.0;
        let done = flows.load(Ordering::Relaxed);
        samples.push((t, mib));
        let _ = writeln!(csv, "{t},{mib:.2},{done}");
        println!("  t={t:>5} s  RSS {mib:>7.1} MiB  flows {done}");
        next += Duration::from_secs(sample);
    }
    for w in workers {
        let _ = w.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total = flows.load(Ordering::Relaxed);
    let cpu_us = (cpu_secs(pid) - cpu_before) * 1e6 / total.max(1) as f64;
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(&config_path);

    let after: Vec<f64> = samples
        .iter()
        .filter(|s| s.0 >= WARM_UP_SECS)
        .map(|s| s.1)
        .collect();
    let reference = after.first().copied();
    let summary = match reference {
        Some(r) => {
            let min = after.iter().copied().fold(f64::MAX, f64::min);
            let max = after.iter().copied().fold(0.0, f64::max);
            let end = after.last().copied().unwrap_or(r);
            let pass = after.iter().all(|m| (m - r).abs() <= BAND_MIB);
            format!(
                "after {WARM_UP_SECS} s: start {r:.1} MiB, end {end:.1} MiB, min {min:.1} MiB, max {max:.1} MiB (band ±{BAND_MIB} MiB: {})",
                if pass { "PASS" } else { "FAIL" }
            )
        }
        None => format!("shorter than the {WARM_UP_SECS} s warm-up: no verdict"),
    };
    let line = format!(
        "soak: {total} flows in {elapsed:.0} s ({:.0} flows/s, {}), {} errors, server CPU {cpu_us:.0} µs/flow; idle {idle:.1} MiB; {summary}",
        total as f64 / elapsed,
        pacing(rate),
        errors.load(Ordering::Relaxed)
    );
    println!("{line}");
    let title = format!(
        "mock-idp RSS, {} min of login+refresh+revoke at concurrency {CONCURRENCY} ({}), lifetimes 60 s",
        secs / 60,
        pacing(rate)
    );
    std::fs::write(out_dir.join("soak.csv"), &csv).expect("write csv");
    std::fs::write(out_dir.join("soak.svg"), svg(&samples, reference, &title)).expect("write svg");
    std::fs::write(out_dir.join("soak.txt"), format!("{line}\n")).expect("write summary");
    println!("soak: wrote {}/soak.{{csv,svg,txt}}", out_dir.display());
}
