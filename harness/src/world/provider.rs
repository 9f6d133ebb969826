//! What the provider saw and answered: token-endpoint calls, the verdict, codes obtained straight from
//! it, revocations.

use anyhow::{anyhow, ensure};
use serde_json::Value;

use super::World;
use crate::{
    browser::HttpResponse,
    provider::{ClientAuth, Grant, TokenRequest},
};

/// A delay that a scenario words relative to the backend's own timeout towards the provider.
const BEYOND_TIMEOUT: &str = "token.delay=beyond-timeout";
const WITHIN_TIMEOUT: &str = "token.delay=within-timeout";

impl World {
    /// Arms a provider fault for `times` answers (all, when `None`), as the scenario words it:
    /// - `token.delay=beyond-timeout` / `=within-timeout`: two seconds past, or half of, the backend's own
    ///   timeout ([`crate::target::Target::provider_timeout`]), so a slow provider is judged against the
    ///   timeout the backend chose, not ours;
    /// - an id_token nonce fault does not apply to a login that sent no `nonce` (ID-NONCE "Applies when").
    pub async fn inject(&mut self, fault: &str, times: Option<u32>) -> anyhow::Result<()> {
        let fault = if fault == BEYOND_TIMEOUT || fault == WITHIN_TIMEOUT {
            let timeout = self.app().await?.provider_timeout().ok_or_else(|| {
                crate::target::skip(
                    "judges a slow provider against the backend's own timeout: give it as \
                     [backend] provider_timeout_seconds",
                )
            })?;
            let ms = if fault == BEYOND_TIMEOUT {
                timeout.as_millis() + 2000
            } else {
                timeout.as_millis() / 2
            };
            format!("token.delay={ms}")
        } else {
            fault.to_owned()
        };
        if fault.starts_with("id_token.") && fault.contains("nonce") {
            self.require_sent_by_login("nonce", "ID-NONCE")?;
        }
        if fault.starts_with("authorize.") && fault.contains("state") {
            self.require_sent_by_login("state", "ST-MISMATCH")?;
        }
        self.provider.inject(&fault, times).map(drop)
    }

    /// As [`World::require_sent`], for the scenario's login whether it has started or starts later.
    pub fn require_sent_by_login(
        &mut self,
        param: &'static str,
        row: &'static str,
    ) -> anyhow::Result<()> {
        if self.login_redirect.is_none() {
            self.conditions.push((param, row));
            return Ok(());
        }
        self.require_sent(param, row)
    }

    /// The scenario's login sent `param` (`state`, `nonce`) to the provider; otherwise `row`, whose
    /// "Applies when" names it, does not apply, and ST-CODE-INJECTION judges the client's defence.
    pub fn require_sent(&self, param: &str, row: &str) -> anyhow::Result<()> {
        let Some(login) = &self.login_redirect else {
            return Ok(());
        };
        if crate::browser::query_param(login, param).is_some() {
            return Ok(());
        }
        Err(crate::target::not_applicable(&format!(
            "{row} applies when the client sends a `{param}`; this one sent none and relies on PKCE \
             (RFC 9700 §2.1): ST-CODE-INJECTION judges its defence instead"
        )))
    }

    /// ID-JWKS-URI-MOVED's "Applies when": the backend fetched the provider's discovery document during the
    /// scenario (a backend that does not configure itself from discovery cannot find a moved JWKS).
    pub fn check_fetched_discovery(&self) -> anyhow::Result<()> {
        let idp = self.provider.global("reading the request log")?;
        let fetched = idp
            .requests_since(self.provider.log_start())
            .iter()
            .any(|r| {
                r.path.ends_with("/.well-known/openid-configuration")
                    || r.path.ends_with("/.well-known/oauth-authorization-server")
            });
        if fetched {
            return Ok(());
        }
        Err(crate::target::not_applicable(
            "ID-JWKS-URI-MOVED applies when the RP configures itself from discovery; this backend \
             fetched no discovery document",
        ))
    }

    /// ID-JWKS-URI-MOVED: the JWKS was fetched, and served, at the path the provider moved it to
    /// (`jwks.moved`), which only discovery's `jwks_uri` names.
    pub fn check_jwks_fetched_at_moved_path(&self) -> anyhow::Result<()> {
        let idp = self.provider.global("reading the request log")?;
        // `/keys/<random>/jwks`, as the request log records it (a tenant's path without its `/t/NAME`).
        let uri = url::Url::parse(&idp.moved_jwks_uri())?;
        let moved = uri
            .path()
            .find("/keys/")
            .map(|i| uri.path()[i..].to_owned())
            .unwrap_or_else(|| uri.path().to_owned());
        let log = idp.requests_since(self.provider.log_start());
        let at_new = log
            .iter()
            .filter(|r| r.method == "GET" && r.status == 200 && r.path.ends_with(&moved))
            .count();
        let at_old = log
            .iter()
            .filter(|r| r.status == 404 && r.path.ends_with("/jwks") && !r.path.ends_with(&moved))
            .count();
        ensure!(
            at_new >= 1,
            "the backend never fetched the JWKS at its moved path (discovery's jwks_uri){}",
            if at_old > 0 {
                format!("; it asked the old path {at_old} time(s) and got 404")
            } else {
                String::new()
            }
        );
        Ok(())
    }

    /// The provider received no request to `/{endpoint}` since the last callback was handed over.
    pub fn check_not_called_since_callback(&self, endpoint: &str) -> anyhow::Result<()> {
        let n = self
            .provider
            .requests_since(self.log_seq_before_callback, endpoint)?;
        ensure!(
            n == 0,
            "the provider's {endpoint} endpoint was called {n} time(s) for the last callback"
        );
        Ok(())
    }

    /// The provider's verdict on the client has no failed item among the items of the scenario's own rows
    /// (another row's item is that row's scenario's to judge, so a weakness is reported once); a failure
    /// is counted at the level of the item's row.
    pub fn check_verdict_clean(&self) -> anyhow::Result<()> {
        let verdict = self.provider.verdict()?;
        let failures: Vec<_> = verdict
            .failures()
            .into_iter()
            .filter(|i| self.tags.is_empty() || self.tags.iter().any(|t| t == i.catalogue_id))
            .collect();
        let Some(first) = failures.first() else {
            return Ok(());
        };
        let all: Vec<String> = failures
            .iter()
            .map(|i| format!("{} ({}): {}", i.name, i.catalogue_id, i.detail))
            .collect();
        Err(crate::target::breaks(
            first.catalogue_id,
            format!("the provider's verdict on the client: {all:?}"),
        ))
    }

    /// One verdict item has this outcome (`pass`, `fail`, `not_seen`).
    pub fn check_verdict_item(&self, name: &str, outcome: &str) -> anyhow::Result<()> {
        let verdict = self.provider.verdict()?;
        let item = verdict
            .item(name)
            .ok_or_else(|| anyhow!("the verdict has no item {name:?}"))?;
        let found = serde_json::to_value(item.outcome)?;
        if found == "not_seen"
            && outcome == "pass"
            && matches!(name, "pkce_s256" | "state" | "nonce")
        {
            // The verdict judges PKCE, `state` and `nonce` only for a client that sends them (a client
            // that relies on PKCE alone leaves out state and nonce, RFC 9700 §2.1), and
            // `code_injection_defence` judges the rest; the scenario's other items still count.
            return Ok(());
        }
        if found != outcome {
            return Err(crate::target::breaks(
                item.catalogue_id,
                format!(
                    "the verdict's {name} is {found} ({}), expected {outcome}",
                    item.detail
                ),
            ));
        }
        Ok(())
    }

    /// RS-BEARER-SEND: the backend's userinfo requests carried the access token one way (header or form
    /// body), never in the URL, as the provider's request log shows. Not applicable when it made none.
    pub fn check_userinfo_token_sent_one_way(&self) -> anyhow::Result<()> {
        let verdict = self.provider.verdict()?;
        let item = verdict
            .item("userinfo_bearer_header")
            .ok_or_else(|| anyhow!("the verdict has no userinfo item"))?;
        match serde_json::to_value(item.outcome)?.as_str() {
            Some("pass") => Ok(()),
            Some("not_seen") => Err(crate::target::not_applicable(
                "RS-BEARER-SEND applies when the backend calls userinfo; it made no userinfo request",
            )),
            _ => Err(crate::target::breaks(
                item.catalogue_id,
                format!("userinfo: {}", item.detail),
            )),
        }
    }

    /// ST-SCOPE-CLAIMS: the last login asked for the scope of every profile claim the app shows (`profile`
    /// for a name or picture, `email` for an email). Not applicable when the app shows none.
    pub async fn check_scopes_cover_profile(&mut self) -> anyhow::Result<()> {
        use crate::target::ProfileField;
        let mut fields = self.app().await?.profile_fields();
        // An email the profile maps but does not show for this login (the reference client keeps one only
        // from a provider that vouches for it, Apple) needs no scope.
        if fields.contains(&ProfileField::Email) {
            self.fetch_profile(None).await?;
            let body = self
                .profile
                .as_ref()
                .filter(|r| r.is_success())
                .map(|r| r.json());
            let app = self.app().await?;
            let shows_email = body.is_some_and(|b| app.profile(&b).email.is_some());
            if !shows_email {
                fields.retain(|f| *f != ProfileField::Email);
            }
        }
        let needed: Vec<(&str, &str)> = fields
            .iter()
            .filter_map(|f| match f {
                ProfileField::Name => Some(("name", "profile")),
                ProfileField::Picture => Some(("picture", "profile")),
                ProfileField::Email => Some(("email", "email")),
                _ => None,
            })
            .collect();
        if needed.is_empty() {
            return Err(crate::target::not_applicable(
                "ST-SCOPE-CLAIMS applies when the app shows profile claims; the target file maps none \
                 of [profile] name, email, picture",
            ));
        }
        let login = self
            .login_redirect
            .as_ref()
            .ok_or_else(|| anyhow!("no login was started"))?;
        let scope = crate::browser::query_param(login, "scope").unwrap_or_default();
        let asked: Vec<&str> = scope.split(' ').collect();
        let missing: Vec<String> = needed
            .iter()
            .filter(|(_, s)| !asked.contains(s))
            .map(|(claim, s)| format!("{claim} needs scope {s}"))
            .collect();
        ensure!(
            missing.is_empty(),
            "the app shows claims it did not ask for (scope {scope:?}): {}",
            missing.join(", ")
        );
        Ok(())
    }

    /// The provider's token endpoint was called `expected` times since the last callback was handed to the
    /// backend (`since_callback`), or since the provider started.
    pub fn check_token_requests(&self, expected: u64, since_callback: bool) -> anyhow::Result<()> {
        ensure!(
            !since_callback || self.last_callback.is_some(),
            "no callback was handed to the backend yet"
        );
        let (found, what) = if since_callback {
            (
                self.provider
                    .global("counting token requests")?
                    .token_requests()
                    .saturating_sub(self.token_requests_before_callback),
                "for the last callback",
            )
        } else {
            (self.provider.token_requests()?, "in total")
        };
        ensure!(
            found == expected,
            "the provider's token endpoint was called {found} time(s) {what}, expected {expected} \
             (the backend's answer: {})",
            self.backend
                .as_ref()
                .map_or_else(String::new, |r| r.brief())
        );
        Ok(())
    }

    /// `username` signs in to `client` `n` times (headless); every code is kept.
    pub async fn obtain_codes(
        &mut self,
        username: &str,
        client: &str,
        n: usize,
    ) -> anyhow::Result<()> {
        for _ in 0..n {
            let grant = self.provider.obtain_code(username, client, None).await?;
            self.grants.push(grant);
        }
        Ok(())
    }

    /// Every code obtained is distinct and carries at least 128 bits (CONFORMANCE CODE-ENTROPY): base64url
    /// carries 6 bits a character, hex 4; anything else is not counted as random.
    pub fn check_codes_unguessable(&self) -> anyhow::Result<()> {
        ensure!(self.grants.len() >= 2, "obtain several codes first");
        let distinct: std::collections::HashSet<&str> =
            self.grants.iter().map(|g| g.code.as_str()).collect();
        ensure!(
            distinct.len() == self.grants.len(),
            "{} of {} codes repeat",
            self.grants.len() - distinct.len(),
            self.grants.len()
        );
        for code in self.grants.iter().map(|g| g.code.as_str()) {
            let bits_per_char = if code.bytes().all(|b| b.is_ascii_hexdigit()) {
                4
            } else if code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                6
            } else {
                0
            };
            ensure!(
                code.len() * bits_per_char >= 128,
                "the code {code:?} carries fewer than 128 bits"
            );
        }
        Ok(())
    }

    /// `client` revokes `token` (as its registered self, or as `auth` says) with an optional type hint.
    pub async fn revoke(
        &mut self,
        client: &str,
        auth: ClientAuth,
        token: &str,
        hint: Option<&str>,
    ) -> anyhow::Result<()> {
        let creds = self.provider.client(client)?;
        self.revocation = Some(self.provider.revoke(&creds, &auth, token, hint).await?);
        Ok(())
    }

    /// The last revocation answer.
    pub fn last_revocation(&self) -> anyhow::Result<&HttpResponse> {
        self.revocation
            .as_ref()
            .ok_or_else(|| anyhow!("nothing was revoked yet"))
    }

    /// The last token-endpoint answer.
    pub fn last_token_response(&self) -> anyhow::Result<&HttpResponse> {
        self.token_responses
            .last()
            .ok_or_else(|| anyhow!("the token endpoint was not called"))
    }

    /// The newest code obtained from the provider.
    pub fn last_grant(&self) -> anyhow::Result<&Grant> {
        self.grants
            .last()
            .ok_or_else(|| anyhow!("no code was obtained from the provider"))
    }

    /// Sends a token request and records the answer.
    pub async fn send_token_request(&mut self, request: &TokenRequest) -> anyhow::Result<()> {
        let response = self.provider.token(request).await?;
        self.token_responses.push(response);
        Ok(())
    }

    /// The first successful token answer's field (e.g. `access_token`).
    pub fn first_token(&self, field: &str) -> anyhow::Result<String> {
        self.token_responses
            .iter()
            .find(|r| r.is_success())
            .and_then(|r| {
                r.json()
                    .get(field)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .ok_or_else(|| anyhow!("no successful token response with {field}"))
    }
}

/// Refresh tokens straight at the provider (RFC 6749 §6; CONFORMANCE RF-ROTATION).
impl World {
    /// The field of the newest successful token answer (after refreshes: the refreshed tokens).
    pub fn latest_token(&self, field: &str) -> anyhow::Result<String> {
        self.token_responses
            .iter()
            .rev()
            .find(|r| r.is_success())
            .and_then(|r| {
                r.json()
                    .get(field)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .ok_or_else(|| anyhow!("no successful token response with {field}"))
    }

    /// `client` sends `grant_type=refresh_token` with `refresh_token`, authenticated as registered.
    pub async fn refresh(&mut self, client: &str, refresh_token: &str) -> anyhow::Result<()> {
        let request = TokenRequest {
            client: self.provider.client(client)?,
            auth: ClientAuth::Registered,
            fields: vec![
                ("grant_type".to_owned(), "refresh_token".to_owned()),
                ("refresh_token".to_owned(), refresh_token.to_owned()),
            ],
            transport: crate::provider::Transport::Form,
        };
        self.send_token_request(&request).await
    }

    /// The last token answer is a successful refresh: a new access token, and a refresh token other than
    /// every one issued before (rotation, RFC 9700 §4.14.2).
    pub fn check_refresh_rotated(&self) -> anyhow::Result<()> {
        let (last, earlier) = self
            .token_responses
            .split_last()
            .ok_or_else(|| anyhow!("the token endpoint was not called"))?;
        ensure!(last.is_success(), "the refresh answered {}", last.brief());
        let body = last.json();
        let field = |b: &Value, f: &str| b.get(f).and_then(Value::as_str).map(str::to_owned);
        let access = field(&body, "access_token");
        let refresh = field(&body, "refresh_token")
            .ok_or_else(|| anyhow!("the refresh answer has no new refresh token: {body}"))?;
        ensure!(access.is_some(), "the refresh answer has no access token");
        for r in earlier.iter().filter(|r| r.is_success()) {
            let before = r.json();
            ensure!(
                field(&before, "refresh_token").as_deref() != Some(refresh.as_str()),
                "the refresh answered the same refresh token again: it was not rotated"
            );
            ensure!(
                field(&before, "access_token") != access,
                "the refresh answered an access token issued before"
            );
        }
        Ok(())
    }
}
