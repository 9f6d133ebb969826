//! What the benches share: one full login flow over HTTP and /proc readings of the server process.

#![allow(dead_code)]

/// The redirect URI of the built-in `web` client.
pub const REDIRECT: &str = "http://127.0.0.1:3000/callback";

/// The value of a hidden input of the login page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// One full flow; returns the token response, or an error string if any step did not do what a correct
/// server does.
pub async fn flow(http: &reqwest::Client, issuer: &str) -> Result<serde_json::Value, String> {
    let page = http
        .get(format!("{issuer}/authorize"))
        .query(&[
            ("client_id", "web"),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "openid profile"),
            ("state", "bench"),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let request_id = hidden(&page, "request_id").ok_or("no request_id")?;
    let csrf = hidden(&page, "csrf").ok_or("no csrf")?;
    let login = http
        .post(format!("{issuer}/authorize/login"))
        .form(&[
            ("request_id", request_id.as_str()),
            ("csrf", &csrf),
            ("username", "alice"),
            ("password", "alice-password"),
            ("action", "login"),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let location = login
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or("no redirect")?;
    let url = url::Url::parse(location).map_err(|e| e.to_string())?;
    let code = url
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or("no code")?;
    let token = http
        .post(format!("{issuer}/token"))
        .basic_auth("web", Some("web-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !token.status().is_success() {
        return Err(format!("token: {}", token.status()));
    }
    let body: serde_json::Value = token.json().await.map_err(|e| e.to_string())?;
    body.get("id_token")
        .and_then(|v| v.as_str())
        .ok_or("no id_token")?;
    Ok(body)
}

/// Resident memory of a process, KiB.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// User + system CPU time the process has used so far, in clock ticks converted to seconds
/// (fields 14 and 15 of `/proc/PID/stat`; the command name in field 2 may hold spaces, so split after `)`).
pub fn cpu_secs(pid: u32) -> f64 {
    let ticks = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.to_owned();
            let fields: Vec<&str> = rest.split_whitespace().collect();
            // After the `)`, field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12.
            let utime: u64 = fields.get(11)?.parse().ok()?;
            let stime: u64 = fields.get(12)?.parse().ok()?;
            Some(utime + stime)
        })
        .unwrap_or(0);
    // USER_HZ is 100 on every Linux this runs on.
    ticks as f64 / 100.0
}
