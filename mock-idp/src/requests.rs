//! The request log: every request the provider received, as a typed [`RequestRecord`], with secrets,
//! codes, tokens and verifiers masked, the client and user it concerned, and its outcome. A bounded ring:
//! the oldest records go first. [`crate::verdict`] judges the client from it.
//!
//! One middleware ([`record`]) writes every record; handlers only attach a [`Note`] to their response
//! with what they alone know (the user, the error, the code they issued, the faults they applied).

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::{
    http::{HeaderMap, header},
    response::Response,
};
use base64::{Engine, engine::general_purpose::STANDARD};
use serde::Serialize;

/// Parameters whose values are secrets: logged as `***` followed by a short fingerprint where telling two
/// values apart matters (the verdict counts redemptions of one code), never in clear.
const FINGERPRINTED: &[&str] = &[
    "code",
    "refresh_token",
    "access_token",
    "token",
    "id_token",
    "id_token_hint",
    "logout_token",
];
/// Parameters logged as `***` alone.
/// (`secret` is the WeChat persona's name for the app secret.)
const HIDDEN: &[&str] = &[
    "client_secret",
    "secret",
    "code_verifier",
    "password",
    "csrf",
];
/// The largest form body the log reads (the token endpoint's requests are far smaller).
pub(crate) const MAX_LOGGED_BODY: u64 = 64 * 1024;
/// The most bytes of logged text (paths, parameters, headers) kept, whatever the record count: requests are
/// logged before anyone is authenticated, so a stranger sending large ones must not make the log hold
/// `capacity` times 64 KiB. The oldest records go first, as when the count is reached.
pub const MAX_LOG_BYTES: usize = 4 << 20;

/// `***:` and the first 8 hex digits of SHA-256: enough to see that two requests carried the same code,
/// far too little to recover a 256-bit code.
pub fn fingerprint(value: &str) -> String {
    let digest = crate::keys::sha256(value.as_bytes());
    format!(
        "***:{:02x}{:02x}{:02x}{:02x}",
        digest[0], digest[1], digest[2], digest[3]
    )
}

/// A value as the log keeps it.
pub(crate) fn mask(name: &str, value: &str) -> String {
    if FINGERPRINTED.contains(&name) {
        fingerprint(value)
    } else if HIDDEN.contains(&name) {
        "***".to_owned()
    } else {
        value.to_owned()
    }
}

/// What a handler adds to the record of its request (a response extension).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Note {
    /// The user the request concerned (username).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The client, when the handler established it (e.g. from a code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The protocol error answered, if any (`invalid_grant`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Faults applied to the response, by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<String>,
    /// The fingerprint of the code this response issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_code: Option<String>,
    /// The fingerprint of the access token this token response issued (as the log shows the `Bearer`
    /// credentials of a later request made with it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_access_token: Option<String>,
    /// The redirect URI the response sent the browser to (without its query).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// The kid in the header of the id_token this response carried, if any (`""` for none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_kid: Option<String>,
    /// The kids a JWKS response published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_kids: Option<Vec<String>>,
    /// Back-channel logout deliveries this response waited for, e.g. `web: 200` or `web: timed out`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backchannel: Vec<String>,
    /// Abort the connection instead of answering (`token.close_connection`).
    #[serde(skip)]
    pub abort: bool,
}

impl Note {
    /// Attaches the note to a response, merging with one already there.
    pub fn attach(self, response: &mut Response) {
        let merged = match response.extensions_mut().remove::<Note>() {
            Some(mut old) => {
                old.merge(self);
                old
            }
            None => self,
        };
        response.extensions_mut().insert(merged);
    }

    fn merge(&mut self, other: Note) {
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f; } )* };
        }
        take!(
            username,
            client_id,
            error,
            issued_code,
            issued_access_token,
            redirect_uri,
            id_token_kid,
            jwks_kids
        );
        self.faults.extend(other.faults);
        self.backchannel.extend(other.backchannel);
        self.abort |= other.abort;
    }
}

/// One request as the provider received it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RequestRecord {
    /// Position in the log, from 1; a cursor for "what came since".
    pub seq: u64,
    /// The provider's clock when the request arrived, in ms since the epoch.
    pub time_ms: u64,
    /// The HTTP method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Query parameters, then form-body parameters, in order, masked.
    pub params: Vec<(String, String)>,
    /// Request headers, masked (`Authorization` keeps its scheme and Basic user, `Cookie` its names).
    pub headers: Vec<(String, String)>,
    /// The peer's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<SocketAddr>,
    /// The client the request named or authenticated as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// How the request authenticated its client, at the token, revocation and introspection endpoints:
    /// `client_secret_basic`, `client_secret_post` or `none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_auth: Option<&'static str>,
    /// The HTTP status answered (0 when the connection was aborted without an answer).
    pub status: u16,
    /// What the handler added: user, error, issued code, applied faults.
    pub note: Note,
}

impl RequestRecord {
    /// The first value of a (masked) parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A (masked) header value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The bounded log of one provider.
#[derive(Debug)]
pub struct RequestLog {
    /// Newest last, and the approximate bytes they hold. A `std::sync::Mutex` on purpose: pushes are short
    /// and never await.
    records: Mutex<(VecDeque<RequestRecord>, usize)>,
    /// The most records kept; 0 keeps none.
    capacity: usize,
    /// The last sequence number handed out.
    seq: AtomicU64,
}

/// About what a record holds on the heap: its text plus a fixed allowance for the rest.
fn record_bytes(r: &RequestRecord) -> usize {
    let pairs =
        |v: &[(String, String)]| v.iter().map(|(k, v)| k.len() + v.len() + 48).sum::<usize>();
    256 + r.method.len()
        + r.path.len()
        + pairs(&r.params)
        + pairs(&r.headers)
        + r.client_id.as_ref().map_or(0, String::len)
}

impl RequestLog {
    /// A log keeping at most `capacity` records (and at most [`MAX_LOG_BYTES`] of their text).
    pub fn new(capacity: usize) -> RequestLog {
        RequestLog {
            records: Mutex::new((VecDeque::new(), 0)),
            capacity,
            seq: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (VecDeque<RequestRecord>, usize)> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn push(&self, mut record: RequestRecord) {
        if self.capacity == 0 {
            return;
        }
        let size = record_bytes(&record);
        let mut guard = self.lock();
        let (records, bytes) = &mut *guard;
        record.seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        while records.len() >= self.capacity
            || (*bytes + size > MAX_LOG_BYTES && !records.is_empty())
        {
            if let Some(old) = records.pop_front() {
                *bytes = bytes.saturating_sub(record_bytes(&old));
            }
        }
        *bytes += size;
        records.push_back(record);
    }

    /// Every record kept, oldest first.
    pub fn all(&self) -> Vec<RequestRecord> {
        self.lock().0.iter().cloned().collect()
    }

    /// The records after sequence number `seq`, oldest first.
    pub fn since(&self, seq: u64) -> Vec<RequestRecord> {
        self.lock()
            .0
            .iter()
            .filter(|r| r.seq > seq)
            .cloned()
            .collect()
    }

    /// The sequence number of the newest record (0 when none was ever written).
    pub fn last_seq(&self) -> u64 {
        self.seq.load(Ordering::Relaxed)
    }

    /// The most records kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

pub(crate) fn masked_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = value.to_str().unwrap_or("<non-ascii>");
            let shown = if name == header::AUTHORIZATION {
                match value.split_once(' ') {
                    Some((scheme, creds)) if scheme.eq_ignore_ascii_case("basic") => {
                        match basic_user(creds) {
                            Some(user) => format!("{scheme} {user}:***"),
                            None => format!("{scheme} ***"),
                        }
                    }
                    Some((scheme, creds)) => format!("{scheme} {}", fingerprint(creds.trim())),
                    None => "***".to_owned(),
                }
            } else if name == header::COOKIE {
                value
                    .split(';')
                    .filter_map(|c| c.split_once('=').map(|(k, _)| format!("{}=***", k.trim())))
                    .collect::<Vec<_>>()
                    .join("; ")
            } else {
                value.to_owned()
            };
            (name.as_str().to_owned(), shown)
        })
        .collect()
}

/// The (form-decoded) user of HTTP Basic credentials, if they decode.
pub(crate) fn basic_user(creds: &str) -> Option<String> {
    let decoded = STANDARD.decode(creds.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, _) = text.split_once(':')?;
    Some(
        url::form_urlencoded::parse(format!("u={user}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default(),
    )
}

pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_and_codes_fingerprinted() {
        assert_eq!(mask("client_secret", "s3cret"), "***");
        assert_eq!(mask("state", "abc"), "abc");
        let a = mask("code", "code-a");
        assert!(a.starts_with("***:") && !a.contains("code-a"));
        assert_eq!(a, mask("code", "code-a"));
        assert_ne!(a, mask("code", "code-b"));
    }

    #[test]
    fn basic_credentials_keep_only_the_user() {
        let mut headers = HeaderMap::new();
        let creds = STANDARD.encode("web:web-secret");
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {creds}").parse().expect("header"),
        );
        headers.insert(
            header::COOKIE,
            "mockidp_browser=abc; other=def".parse().expect("header"),
        );
        let shown = masked_headers(&headers);
        assert!(shown.contains(&("authorization".into(), "Basic web:***".into())));
        assert!(shown.contains(&("cookie".into(), "mockidp_browser=***; other=***".into())));
    }

    #[test]
    fn the_log_keeps_only_its_capacity() {
        let log = RequestLog::new(3);
        for i in 0..5 {
            log.push(RequestRecord {
                seq: 0,
                time_ms: i,
                method: "GET".into(),
                path: "/".into(),
                params: vec![],
                headers: vec![],
                remote: None,
                client_id: None,
                client_auth: None,
                status: 200,
                note: Note::default(),
            });
        }
        let all = log.all();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].seq, 3);
        assert_eq!(log.since(4).len(), 1);
    }

    #[test]
    fn large_requests_make_the_log_keep_fewer_records_not_more_bytes() {
        let log = RequestLog::new(5_000);
        for i in 0..1_000 {
            log.push(RequestRecord {
                seq: 0,
                time_ms: i,
                method: "POST".into(),
                path: "/token".into(),
                params: vec![("state".into(), "x".repeat(60_000))],
                headers: vec![],
                remote: None,
                client_id: None,
                client_auth: None,
                status: 400,
                note: Note::default(),
            });
        }
        let (records, bytes) = &*log.lock();
        assert!(*bytes <= MAX_LOG_BYTES, "{bytes}");
        assert!(
            records.len() < 75 && records.len() > 50,
            "{}",
            records.len()
        );
        assert_eq!(records.back().map(|r| r.seq), Some(1_000));
    }
}
