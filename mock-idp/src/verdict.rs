//! The provider's verdict on a client, derived from the request log alone: what a certification suite
//! checks on the wire, each item pass / fail / not seen, with the catalogue ID (docs/CONFORMANCE.md).

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::requests::RequestRecord;

/// One item's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The log shows the client doing it right.
    Pass,
    /// The log shows the client doing it wrong.
    Fail,
    /// The log holds nothing to judge by.
    NotSeen,
}

/// One judged behaviour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerdictItem {
    /// A stable name, e.g. `pkce_s256`.
    pub name: &'static str,
    /// The catalogue ID it checks.
    pub catalogue_id: &'static str,
    /// What a correct client does.
    pub rule: &'static str,
    /// The outcome.
    pub outcome: Outcome,
    /// Why, for a failure: the first offending request.
    pub detail: String,
}

/// Every item, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The items.
    pub items: Vec<VerdictItem>,
}

/// The names of the verdict's items, in order.
pub const ITEMS: &[&str] = &[
    "pkce_s256",
    "state",
    "nonce",
    "code_injection_defence",
    "code_redeemed_once",
    "redirect_uri_repeated",
    "client_auth_method",
    "jwks_refetched_after_unknown_kid",
    "jwks_cached",
    "userinfo_bearer_header",
];

/// Estimated bits of a random-looking value: its length times the bits of the smallest usual alphabet
/// its characters fit (hex, base64url, printable ASCII). A value shorter than 128 bits of that estimate
/// cannot hold 128 bits of randomness (RFC 6749 §10.10).
pub fn estimated_bits(value: &str) -> f64 {
    let per_char = if value.bytes().all(|b| b.is_ascii_hexdigit()) {
        4.0
    } else if value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        6.0
    } else {
        6.5
    };
    value.chars().count() as f64 * per_char
}

fn is(record: &RequestRecord, method: &str, endpoint: &str) -> bool {
    record.method == method
        && (record.path.rsplit('/').next() == Some(endpoint)
            // The Google persona's authorization endpoint and JWKS, at Google's paths.
            || match endpoint {
                "authorize" => record.path.ends_with("/o/oauth2/v2/auth"),
                "jwks" => record.path.ends_with("/oauth2/v3/certs"),
                _ => false,
            })
}

fn item(
    name: &'static str,
    catalogue_id: &'static str,
    rule: &'static str,
    failure: Option<String>,
    seen: bool,
) -> VerdictItem {
    let (outcome, detail) = match (failure, seen) {
        (Some(why), _) => (Outcome::Fail, why),
        (None, true) => (Outcome::Pass, String::new()),
        (None, false) => (Outcome::NotSeen, String::new()),
    };
    VerdictItem {
        name,
        catalogue_id,
        rule,
        outcome,
        detail,
    }
}

/// Whether an authorization request carries an S256 PKCE challenge.
fn has_s256(r: &RequestRecord) -> bool {
    r.param("code_challenge").is_some() && r.param("code_challenge_method") == Some("S256")
}

/// Checks a fresh random value on the authorization requests that carry it: ≥128 bits, never repeated.
/// A request without it is judged by `required_unless_pkce`: when true, only a request with an S256 PKCE
/// challenge may leave it out (RFC 9700 §2.1: a client may rely on PKCE for CSRF protection).
fn fresh_values<'a>(
    authorizations: impl Iterator<Item = &'a RequestRecord>,
    param: &str,
    required_unless_pkce: bool,
) -> (Option<String>, bool) {
    let mut seen_values = HashSet::new();
    let mut seen = false;
    for r in authorizations {
        let Some(v) = r.param(param) else {
            if required_unless_pkce && !has_s256(r) {
                return (
                    Some(format!("request {} sent no {param} and no PKCE", r.seq)),
                    true,
                );
            }
            continue;
        };
        seen = true;
        if estimated_bits(v) < 128.0 {
            return (
                Some(format!(
                    "request {} sent a {param} of about {:.0} bits",
                    r.seq,
                    estimated_bits(v)
                )),
                true,
            );
        }
        if !seen_values.insert(v.to_owned()) {
            return (Some(format!("request {} reused a {param}", r.seq)), true);
        }
    }
    (None, seen)
}

impl Verdict {
    /// Judges the client(s) of `log` (oldest first). `registered_auth` gives a client's registered
    /// token-endpoint authentication method (`client_secret_basic`, …), if the client is known.
    pub fn judge(
        log: &[RequestRecord],
        registered_auth: impl Fn(&str) -> Option<String>,
    ) -> Verdict {
        let authorizations: Vec<&RequestRecord> =
            log.iter().filter(|r| is(r, "GET", "authorize")).collect();
        let tokens: Vec<&RequestRecord> = log.iter().filter(|r| is(r, "POST", "token")).collect();
        let code_exchanges: Vec<&RequestRecord> = tokens
            .iter()
            .copied()
            .filter(|r| r.param("grant_type") == Some("authorization_code"))
            .collect();
        let mut items = Vec::new();

        // PKCE, where the client uses it, with S256 (RFC 7636 §4.2, RFC 9700 §2.1.1). A client without
        // PKCE is judged by the code-injection item.
        let with_pkce: Vec<&&RequestRecord> = authorizations
            .iter()
            .filter(|r| r.param("code_challenge").is_some())
            .collect();
        let pkce = with_pkce.iter().find_map(|r| {
            (!has_s256(r))
                .then(|| format!("request {} has a code_challenge that is not S256", r.seq))
        });
        items.push(item(
            "pkce_s256",
            "PK-VALID",
            "an authorization request with a code_challenge uses S256",
            pkce,
            !with_pkce.is_empty(),
        ));

        let (failure, seen) = fresh_values(authorizations.iter().copied(), "state", true);
        items.push(item(
            "state",
            "ST-FRESH-EXPIRY",
            "state, when sent, carries at least 128 bits and is never reused; only a request with S256 PKCE \
             may leave it out",
            failure,
            seen,
        ));
        let oidc: Vec<&RequestRecord> = authorizations
            .iter()
            .copied()
            .filter(|r| {
                r.param("scope")
                    .is_some_and(|s| s.split(' ').any(|x| x == "openid"))
            })
            .collect();
        let (failure, seen) = fresh_values(oidc.iter().copied(), "nonce", false);
        items.push(item(
            "nonce",
            "ST-FRESH-EXPIRY",
            "nonce, when sent, carries at least 128 bits and is never reused",
            failure,
            seen,
        ));
        // Code injection (RFC 9700 §4.5): PKCE stops it at the token endpoint, the nonce at the client.
        let injectable = authorizations.iter().find_map(|r| {
            let nonce = r.param("nonce").is_some()
                && r.param("scope")
                    .is_some_and(|s| s.split(' ').any(|x| x == "openid"));
            (!has_s256(r) && !nonce).then(|| {
                format!(
                    "request {} sent neither an S256 code_challenge nor a nonce",
                    r.seq
                )
            })
        });
        items.push(item(
            "code_injection_defence",
            "ST-CODE-INJECTION",
            "every authorization request carries an S256 code_challenge or a nonce",
            injectable,
            !authorizations.is_empty(),
        ));

        // A code is sent to the token endpoint at most once, even after an error (RFC 6749 §4.1.2).
        let mut by_code: HashMap<&str, Vec<&RequestRecord>> = HashMap::new();
        for r in &code_exchanges {
            if let Some(code) = r.param("code") {
                by_code.entry(code).or_default().push(r);
            }
        }
        let mut replayed: Vec<&Vec<&RequestRecord>> =
            by_code.values().filter(|v| v.len() > 1).collect();
        replayed.sort_by_key(|v| v[0].seq);
        let replay = replayed.first().map(|v| {
            let after_error = if v[0].status >= 400 || v[0].status == 0 {
                " after an error"
            } else {
                ""
            };
            format!(
                "the code of request {} was sent again{after_error} in request {}",
                v[0].seq, v[1].seq
            )
        });
        items.push(item(
            "code_redeemed_once",
            "CODE-REPLAY",
            "a code is redeemed at most once and never retried after an error",
            replay,
            !code_exchanges.is_empty(),
        ));

        // redirect_uri repeated exactly (RFC 6749 §4.1.3).
        let issued: HashMap<&str, Option<&str>> = log
            .iter()
            .filter_map(|r| {
                r.note
                    .issued_code
                    .as_deref()
                    .map(|c| (c, r.note.redirect_uri.as_deref()))
            })
            .collect();
        let mut judged = false;
        let mismatch = code_exchanges.iter().find_map(|r| {
            let sent = issued.get(r.param("code")?)?;
            judged = true;
            (r.param("redirect_uri") != *sent).then(|| {
                format!(
                    "request {} did not repeat the authorization's redirect_uri",
                    r.seq
                )
            })
        });
        items.push(item(
            "redirect_uri_repeated",
            "ST-REQUEST-SHAPE",
            "the token request repeats the authorization request's redirect_uri exactly",
            mismatch,
            judged,
        ));

        // The registered client authentication method (RFC 7591 §2 token_endpoint_auth_method).
        let mut judged = false;
        let wrong = tokens.iter().find_map(|r| {
            let registered = registered_auth(r.client_id.as_deref()?)?;
            let used = r.client_auth?;
            judged = true;
            (used != registered).then(|| {
                format!(
                    "request {} authenticated with {used}, the client is registered for {registered}",
                    r.seq
                )
            })
        });
        items.push(item(
            "client_auth_method",
            "CA-MISUSE",
            "the token request uses the client's registered authentication method",
            wrong,
            judged,
        ));

        // JWKS: re-fetched after an unknown kid (key rotation), not fetched on every login (Core §10.1.1).
        let mut known: Option<HashSet<&str>> = None;
        let mut awaiting: Option<&RequestRecord> = None;
        let mut refetch_failure = None;
        let mut refetch_seen = false;
        let mut jwks_fetches = 0usize;
        let mut logins = 0usize;
        for r in log {
            if is(r, "GET", "jwks") {
                if let Some(kids) = &r.note.jwks_kids {
                    known = Some(kids.iter().map(String::as_str).collect());
                    // A fetch prompted by an unknown kid is what rotation asks for; only the others count
                    // against caching.
                    if awaiting.take().is_some() {
                        refetch_seen = true;
                    } else {
                        jwks_fetches += 1;
                    }
                }
            } else if is(r, "POST", "token")
                && r.status == 200
                && let Some(kid) = r.note.id_token_kid.as_deref()
            {
                logins += 1;
                if let Some(prev) = awaiting.take() {
                    refetch_failure.get_or_insert(format!(
                        "after the id_token of request {} named an unknown kid, the JWKS was not \
                             fetched again before the next login",
                        prev.seq
                    ));
                }
                if known
                    .as_ref()
                    .is_some_and(|k| !kid.is_empty() && !k.contains(kid))
                {
                    awaiting = Some(r);
                }
            }
        }
        if let Some(prev) = awaiting {
            refetch_failure.get_or_insert(format!(
                "after the id_token of request {} named an unknown kid, the JWKS was never fetched again",
                prev.seq
            ));
        }
        items.push(item(
            "jwks_refetched_after_unknown_kid",
            "ID-KID",
            "an id_token with a kid the cached JWKS lacks makes the client fetch the JWKS again",
            refetch_failure,
            refetch_seen,
        ));
        let every_login = (logins >= 2 && jwks_fetches >= logins).then(|| {
            format!("the JWKS was fetched {jwks_fetches} times, unprompted, for {logins} logins")
        });
        items.push(item(
            "jwks_cached",
            "ID-KID",
            "the JWKS is cached, not fetched on every login",
            every_login,
            logins >= 2,
        ));

        // Bearer in the header, never the query (RFC 6750 §2.1, §2.3; BCP §4.3.2).
        let userinfo: Vec<&RequestRecord> = log
            .iter()
            .filter(|r| r.path.rsplit('/').next() == Some("userinfo"))
            .collect();
        // RFC 6750 §2: the header (RECOMMENDED) or a form body, exactly one of them, never the URL.
        let badly_sent = userinfo.iter().find_map(|r| {
            let bearer = r
                .header("authorization")
                .is_some_and(|h| h.len() > 7 && h[..7].eq_ignore_ascii_case("bearer "));
            let param = r.param("access_token").is_some();
            let why = match (bearer, param, r.method.as_str()) {
                (_, true, "GET") => Some("sent the token in the URL query"),
                (true, true, _) => Some("sent the token two ways at once"),
                (false, false, _) => Some("sent no token"),
                _ => None,
            };
            why.map(|why| format!("request {} {why}", r.seq))
        });
        items.push(item(
            "userinfo_bearer_header",
            "RS-BEARER-SEND",
            "userinfo is called with the token in an Authorization: Bearer header or a form body, one way \
             only, never in the URL query",
            badly_sent,
            !userinfo.is_empty(),
        ));
        Verdict { items }
    }

    /// Judges with no knowledge of registered clients (the client-auth item is then not seen).
    pub fn of(log: &[RequestRecord]) -> Verdict {
        Verdict::judge(log, |_| None)
    }

    /// An item by name.
    pub fn item(&self, name: &str) -> Option<&VerdictItem> {
        self.items.iter().find(|i| i.name == name)
    }

    /// Whether no item failed (not-seen items are not failures).
    pub fn is_clean(&self) -> bool {
        self.items.iter().all(|i| i.outcome != Outcome::Fail)
    }

    /// The failed items.
    pub fn failures(&self) -> Vec<&VerdictItem> {
        self.items
            .iter()
            .filter(|i| i.outcome == Outcome::Fail)
            .collect()
    }
}

impl crate::state::AppState {
    /// The verdict on this provider's clients from its request log, with their registered methods.
    pub fn verdict(&self) -> Verdict {
        self.verdict_since(0)
    }

    /// The verdict over the requests logged after position `seq` only (one test's share of a provider
    /// that many tests use one after another).
    pub fn verdict_since(&self, seq: u64) -> Verdict {
        let log = self.requests.since(seq);
        let clients = crate::state::read(&self.clients);
        Verdict::judge(&log, |id| {
            clients
                .get(id)
                .map(|c| c.config.token_endpoint_auth_method.as_str().to_owned())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_is_estimated_from_the_alphabet() {
        assert!(estimated_bits("abc") < 128.0);
        assert!(estimated_bits(&"a1".repeat(16)) >= 128.0); // 32 hex chars
        assert!(estimated_bits("0123456789abcdef0123456789abcde") < 128.0); // 31 hex chars
        assert!(estimated_bits("R2d2C3poR2d2C3poR2d2C3") >= 128.0); // 22 base64url chars
    }
}
