//! What went over the wire in one scenario: the requests the browsers, the frontend and the backend made, in
//! order, for the report's sequence diagram ([`crate::report`]).
//!
//! A [`Trace`] is shared by everything one scenario drives (cheap to clone); it keeps at most
//! [`Trace::CAPACITY`] exchanges and counts the ones it dropped. Parameter values are masked with [`mask`]
//! so that a report never shows a secret, only a short fingerprint of it (equal values, equal fingerprints:
//! a replayed code is still recognisable).

use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest, Sha256};

/// One participant of the authorization code flow: a lifeline of the sequence diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Lane {
    /// The user agent: follows redirects, submits the provider's login form.
    Browser,
    /// The client's frontend (JavaScript on the redirect URI page): posts code and state to the backend.
    Frontend,
    /// The client backend under test.
    Backend,
    /// The authorization server (mock-idp).
    Provider,
}

impl Lane {
    /// All lanes, left to right as the diagram draws them.
    pub const ALL: [Lane; 4] = [Lane::Browser, Lane::Frontend, Lane::Backend, Lane::Provider];

    /// The lane's position from the left, 0 to 3.
    pub fn index(self) -> usize {
        match self {
            Lane::Browser => 0,
            Lane::Frontend => 1,
            Lane::Backend => 2,
            Lane::Provider => 3,
        }
    }

    /// The lane's name as the diagram shows it.
    pub fn name(self) -> &'static str {
        match self {
            Lane::Browser => "Browser",
            Lane::Frontend => "Frontend",
            Lane::Backend => "Backend",
            Lane::Provider => "Provider",
        }
    }
}

/// One request and its answer.
///
/// An exchange whose `from` and `to` are the same lane is a local step (for example the backend's database
/// lookup, method `SQL`): the diagram draws it as a note on that lane, and its `status` 0 then means "not
/// HTTP" rather than "no answer".
#[derive(Debug, Clone, serde::Serialize)]
pub struct Exchange {
    /// Wall-clock milliseconds since the epoch when the request was sent or received; the diagram orders by
    /// (`at_ms`, order of insertion).
    pub at_ms: u64,
    /// Who sent the request.
    pub from: Lane,
    /// Who answered it.
    pub to: Lane,
    /// The HTTP method (`GET`, `POST`, …).
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The answer's status; 0 = no answer (connection closed, timeout).
    pub status: u16,
    /// The query, form and JSON-body parameters that matter, masked already or to be masked by [`mask`]
    /// (which leaves a masked value as it is).
    pub params: Vec<(String, String)>,
    /// A remark such as "redirect to /authorize", "error=invalid_grant", or the fault applied.
    pub note: Option<String>,
}

/// The prefix of a masked value.
const MASKED: &str = "•••";

/// Values longer than this (in characters) are cut, with an ellipsis.
const MAX_VALUE_CHARS: usize = 80;

/// Parameter names whose values are secrets (compared without regard to case).
const SECRET_NAMES: &[&str] = &[
    "client_secret",
    "password",
    "code",
    "code_verifier",
    "access_token",
    "refresh_token",
    "id_token",
    "logout_token",
    "assertion",
    "client_assertion",
    "token",
    "ticket",
    "binding_ticket",
    "jwt",
    "app_token",
];

/// A short fingerprint of a secret: `•••` and the first 8 hex digits of its SHA-256, the same digits the
/// provider's request log keeps (`***:` and 8 hex digits), so one code reads the same in every lane.
fn fingerprint(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    format!(
        "{MASKED}{:02x}{:02x}{:02x}{:02x}",
        digest[0], digest[1], digest[2], digest[3]
    )
}

/// A value from the provider's request log as the diagram shows it: its `***:` fingerprint written the
/// way [`mask`] writes the browser's, so the same code carries the same fingerprint in every lane.
pub fn from_provider_log(value: &str) -> String {
    match value.strip_prefix("***:") {
        Some(hex) => format!("{MASKED}{hex}"),
        None => value.to_owned(),
    }
}

fn is_secret_name(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    SECRET_NAMES.contains(&name.as_str())
        || name.ends_with("_token")
        || name.ends_with("_secret")
        || name.contains("password")
}

/// `value` cut to [`MAX_VALUE_CHARS`] characters, with an ellipsis when cut.
fn truncate(value: &str) -> String {
    match value.char_indices().nth(MAX_VALUE_CHARS) {
        Some((at, _)) => format!("{}…", &value[..at]),
        None => value.to_owned(),
    }
}

/// Wall-clock milliseconds since the epoch, the time base of [`Exchange::at_ms`] (the provider's log uses
/// the same base while its clock is not moved).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Masks a parameter value by name.
///
/// Secrets (`client_secret`, `password`, `code`, `code_verifier`, the tokens, `assertion`, `ticket`, …, and
/// any name ending in `_token` or `_secret`) become a short fingerprint like `•••a1b2c3d4` (the first 8
/// hex digits of the value's SHA-256); an `Authorization` header keeps its scheme (`Basic •••a1b2c3d4`); a
/// `Cookie` or `Set-Cookie` value keeps the cookie names and attributes but not the values. Everything else
/// (`state`, `nonce`, `client_id`, `redirect_uri`, `scope`, `error`, …) is kept. Values longer than 80
/// characters are cut. An empty value, or one masked already, is returned as it is.
pub fn mask(name: &str, value: &str) -> String {
    if value.is_empty() || value.starts_with(MASKED) {
        return truncate(value);
    }
    let lower = name.trim().to_ascii_lowercase();
    let masked = match lower.as_str() {
        "authorization" | "proxy-authorization" => match value.split_once(' ') {
            Some((scheme, credentials)) => format!("{scheme} {}", fingerprint(credentials.trim())),
            None => fingerprint(value),
        },
        "cookie" => value
            .split(';')
            .map(|pair| mask_cookie_pair(pair.trim()))
            .collect::<Vec<_>>()
            .join("; "),
        "set-cookie" => {
            // The first pair is the cookie; the rest are attributes (Path, HttpOnly, SameSite, …).
            let mut parts = value.split(';').map(str::trim);
            let first = parts.next().map(mask_cookie_pair).unwrap_or_default();
            std::iter::once(first)
                .chain(parts.map(str::to_owned))
                .collect::<Vec<_>>()
                .join("; ")
        }
        _ if is_secret_name(&lower) => fingerprint(value),
        _ => value.to_owned(),
    };
    truncate(&masked)
}

/// `name=value` with the value masked; a pair without `=` is masked whole.
fn mask_cookie_pair(pair: &str) -> String {
    match pair.split_once('=') {
        Some((name, "")) => format!("{name}="),
        Some((name, v)) => format!("{name}={}", fingerprint(v)),
        None if pair.is_empty() => String::new(),
        None => fingerprint(pair),
    }
}

#[derive(Debug, Default)]
struct Recorded {
    exchanges: Vec<Exchange>,
    dropped: usize,
}

/// A recorder shared by the browsers (and the rest) of one scenario: cheap to clone, every clone records
/// into the same list, which keeps at most [`Trace::CAPACITY`] exchanges and counts the dropped ones.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    inner: Arc<Mutex<Recorded>>,
}

impl Trace {
    /// The most exchanges one trace keeps; later ones are counted in [`Trace::dropped`] only.
    pub const CAPACITY: usize = 500;

    /// An empty trace.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one exchange, with its parameter values masked ([`mask`]); past [`Trace::CAPACITY`], only
    /// counts it.
    pub fn record(&self, mut e: Exchange) {
        for (name, value) in &mut e.params {
            *value = mask(name, value);
        }
        let mut recorded = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if recorded.exchanges.len() < Self::CAPACITY {
            recorded.exchanges.push(e);
        } else {
            recorded.dropped += 1;
        }
    }

    /// The exchanges kept, ordered by (`at_ms`, order of recording).
    pub fn exchanges(&self) -> Vec<Exchange> {
        let mut exchanges = self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .exchanges
            .clone();
        // A stable sort keeps the recording order among equal times.
        exchanges.sort_by_key(|e| e.at_ms);
        exchanges
    }

    /// How many exchanges were not kept because the trace was full.
    pub fn dropped(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(at_ms: u64, path: &str) -> Exchange {
        Exchange {
            at_ms,
            from: Lane::Browser,
            to: Lane::Provider,
            method: "GET".into(),
            path: path.into(),
            status: 200,
            params: vec![("code".into(), "secret-code".into())],
            note: None,
        }
    }

    #[test]
    fn secrets_are_fingerprinted_and_the_rest_is_kept() {
        for name in [
            "client_secret",
            "password",
            "code",
            "code_verifier",
            "access_token",
            "refresh_token",
            "id_token",
            "logout_token",
            "assertion",
            "token",
            "ticket",
            "Code",
        ] {
            let masked = mask(name, "s3cr3t-value");
            assert!(masked.starts_with("•••"), "{name}: {masked}");
            assert_eq!(masked.chars().count(), 11, "{name}: {masked}");
            assert!(!masked.contains("s3cr3t"), "{name}: {masked}");
        }
        for name in [
            "state",
            "nonce",
            "client_id",
            "redirect_uri",
            "scope",
            "response_type",
            "code_challenge",
            "grant_type",
            "error",
        ] {
            assert_eq!(mask(name, "visible-value"), "visible-value", "{name}");
        }
    }

    #[test]
    fn equal_secrets_have_equal_fingerprints_and_masking_is_idempotent() {
        assert_eq!(mask("code", "abc"), mask("code", "abc"));
        assert_ne!(mask("code", "abc"), mask("code", "abd"));
        let once = mask("code", "abc");
        assert_eq!(mask("code", &once), once);
        assert_eq!(mask("code", ""), "");
    }

    #[test]
    fn headers_and_cookies_keep_their_shape() {
        let auth = mask("Authorization", "Basic Y2xpZW50OnNlY3JldA==");
        assert!(auth.starts_with("Basic •••"), "{auth}");
        assert!(!auth.contains("Y2xp"), "{auth}");
        let cookie = mask("cookie", "session=abc123; tx=def456");
        assert!(
            cookie.starts_with("session=•••") && cookie.contains("; tx=•••"),
            "{cookie}"
        );
        assert!(!cookie.contains("abc123") && !cookie.contains("def456"));
        let set = mask("Set-Cookie", "tx=abc123; Path=/; HttpOnly; SameSite=Lax");
        assert!(set.starts_with("tx=•••") && set.ends_with("; Path=/; HttpOnly; SameSite=Lax"));
    }

    #[test]
    fn long_values_are_cut() {
        let long = "x".repeat(300);
        let kept = mask("redirect_uri", &long);
        assert_eq!(kept.chars().count(), 81);
        assert!(kept.ends_with('…'));
        // Multi-byte characters are cut on a character boundary.
        let wide = "é".repeat(100);
        assert_eq!(mask("state", &wide).chars().count(), 81);
    }

    #[test]
    fn the_trace_is_shared_ordered_masked_and_bounded() {
        let trace = Trace::new();
        let other = trace.clone();
        trace.record(exchange(20, "/b"));
        other.record(exchange(10, "/a"));
        trace.record(exchange(20, "/c"));
        let paths: Vec<String> = trace.exchanges().into_iter().map(|e| e.path).collect();
        assert_eq!(paths, ["/a", "/b", "/c"]);
        assert!(trace.exchanges()[0].params[0].1.starts_with("•••"));
        for i in 0..Trace::CAPACITY {
            other.record(exchange(i as u64, "/x"));
        }
        assert_eq!(trace.exchanges().len(), Trace::CAPACITY);
        assert_eq!(trace.dropped(), 3);
    }

    #[test]
    fn a_code_reads_the_same_in_the_browsers_lane_and_in_the_providers() {
        let code = "ca3izabgYbut_N_iswSkJ0lt71KQddVQ_BSwUDXVwrE";
        let browser = mask("code", code);
        let provider = from_provider_log(&mock_idp::fingerprint(code));
        assert_eq!(browser, provider);
        assert_eq!(from_provider_log("plain"), "plain");
    }
}
