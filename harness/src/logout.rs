//! Logout, both ways (CONFORMANCE section K): the actions and checks of `steps/logout.rs`. The backend is
//! reached only through [`crate::target::Target`]; the provider's logout tokens are minted with the
//! provider's own key ([`mock_idp::Handle::logout_token`]), so a flawed one differs from a real one only
//! where the scenario says.

use std::str::FromStr;

use anyhow::{Context, anyhow, bail, ensure};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use serde_json::{Value, json};
use url::Url;

use crate::{
    browser::{HttpResponse, query_param},
    target::unsupported,
    world::{MAIN, OTHER, World},
};

/// What the logout steps observed in one scenario.
#[derive(Debug, Default)]
pub struct LogoutState {
    /// Where the backend's logout answer sent the browser (the provider's end-session URL).
    pub end_session_url: Option<Url>,
    /// The provider's answer to the browser at the end-session endpoint.
    pub at_provider: Option<HttpResponse>,
    /// What each back-channel delivery of a provider-side logout came to (`client: status`).
    pub deliveries: Vec<String>,
    /// The last logout token sent to the backend, for a replay.
    pub last_token: Option<String>,
    /// The backend's status for the last logout token.
    pub backchannel_status: Option<u16>,
    /// An app token put aside before a logout, to present afterwards.
    pub kept_token: Option<String>,
    /// The app's answer to the browser coming back from the provider's end-session endpoint.
    pub returned: Option<HttpResponse>,
    /// The session of another user in [`OTHER`]: their name and the app token that browser holds
    /// ([`crate::world::COOKIE_SESSION`] for a cookie session), so a logout of one user can be seen to
    /// leave the other's session alone.
    pub other_session: Option<(String, String)>,
}

/// The provider's logout token `claims` under another algorithm than the provider's (LO-BACKCHANNEL-ALG):
/// `none` with no signature, HS256 keyed with the provider's public key, or ES256 by a key of its own;
/// `typ` and the provider's `kid` kept.
fn other_alg(
    idp: &mock_idp::Handle,
    header_b64: &str,
    claims: &Value,
    flaw: LogoutFlaw,
) -> anyhow::Result<String> {
    let header: Value = serde_json::from_slice(&B64.decode(header_b64)?)?;
    let kid = header["kid"].as_str().unwrap_or_default().to_owned();
    let encode = |h: &Value| B64.encode(h.to_string());
    match flaw {
        LogoutFlaw::AlgNone => Ok(format!(
            "{}.{}.",
            encode(&json!({"alg": "none", "typ": "logout+jwt"})),
            B64.encode(claims.to_string())
        )),
        LogoutFlaw::Hs256PublicKey => {
            let pem = idp
                .signing_key_public_pem()
                .map_err(|e| anyhow!("the provider's public key: {e}"))?;
            let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
            h.typ = Some("logout+jwt".into());
            h.kid = Some(kid);
            jsonwebtoken::encode(
                &h,
                claims,
                &jsonwebtoken::EncodingKey::from_secret(pem.as_bytes()),
            )
            .map_err(|e| anyhow!("HS256: {e}"))
        }
        _ => {
            let key = mock_idp::SigningKey::generate(mock_idp::SigningAlg::ES256, &kid)
                .map_err(|e| anyhow!("an ES256 key: {e}"))?;
            key.sign_with_header(
                &encode(&json!({"alg": "ES256", "typ": "logout+jwt", "kid": kid})),
                claims,
            )
            .map_err(|e| anyhow!("ES256: {e}"))
        }
    }
}

/// How a logout token sent to the backend is spoiled (Back-Channel Logout 1.0 §2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, cucumber::Parameter)]
#[param(
    name = "logout_flaw",
    regex = "a tampered signature|another audience|another issuer|a nonce|no back-channel event|neither sub nor sid|no jti|an iat an hour old|the provider's id_token|alg none|an HS256 MAC keyed with the provider's public key|an ES256 signature by another key|only another event|events that are not an object"
)]
pub enum LogoutFlaw {
    /// One character of the signature changed.
    TamperedSignature,
    /// Re-signed for another client.
    OtherAudience,
    /// Re-signed with another `iss`.
    OtherIssuer,
    /// Re-signed with a `nonce` (§2.4 forbids one).
    Nonce,
    /// Re-signed without the back-channel `events` member.
    NoEvent,
    /// Re-signed without `sub` and `sid`.
    NoSubject,
    /// Re-signed without `jti`.
    NoJti,
    /// Re-signed with `iat` an hour in the past.
    OldIat,
    /// The user's id_token from the provider instead of a logout token.
    IdToken,
    /// `alg: none` and no signature (BCL §2.6: "MUST NOT be used for Logout Tokens").
    AlgNone,
    /// `alg: HS256`, MAC'd with the provider's published public key as the secret (RFC 8725 §2.1).
    Hs256PublicKey,
    /// `alg: ES256`, signed by a key the provider never published, under the provider's `kid`.
    Es256,
    /// `events` naming only `http://schemas.openid.net/event/foobar`.
    OtherEvent,
    /// `events` that is a string, not a JSON object.
    EventsNotObject,
}

impl FromStr for LogoutFlaw {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        Ok(match s {
            "a tampered signature" => LogoutFlaw::TamperedSignature,
            "another audience" => LogoutFlaw::OtherAudience,
            "another issuer" => LogoutFlaw::OtherIssuer,
            "a nonce" => LogoutFlaw::Nonce,
            "no back-channel event" => LogoutFlaw::NoEvent,
            "neither sub nor sid" => LogoutFlaw::NoSubject,
            "no jti" => LogoutFlaw::NoJti,
            "an iat an hour old" => LogoutFlaw::OldIat,
            "the provider's id_token" => LogoutFlaw::IdToken,
            "alg none" => LogoutFlaw::AlgNone,
            "an HS256 MAC keyed with the provider's public key" => LogoutFlaw::Hs256PublicKey,
            "an ES256 signature by another key" => LogoutFlaw::Es256,
            "only another event" => LogoutFlaw::OtherEvent,
            "events that are not an object" => LogoutFlaw::EventsNotObject,
            _ => bail!("unknown logout token flaw {s}"),
        })
    }
}

impl World {
    /// The browser logs out of the backend with its session; the answer must name where to go next.
    pub async fn log_out_of_app(&mut self) -> anyhow::Result<()> {
        let app = self.app().await?;
        let url = app
            .logout_url()
            .ok_or_else(|| unsupported("[backend] logout"))?;
        let by_get = app.logout_by_get();
        let token = self
            .app_token
            .clone()
            .filter(|t| t != crate::world::COOKIE_SESSION);
        let b = self.browser(MAIN)?;
        let response = match (by_get, token.as_deref()) {
            (true, Some(t)) => b.get_with_bearer(&url, t).await?,
            (true, None) => b.get(&url).await?,
            (false, t) => b.post_with_bearer(&url, t).await?,
        };
        ensure!(
            response.is_success() || response.is_redirect(),
            "logout answered {}",
            response.brief()
        );
        // A server-side app redirects the browser; an API answers where to send it.
        self.logout.end_session_url = if response.is_redirect() {
            Some(response.location()?)
        } else {
            self.app().await?.end_session_url(&response.json())
        };
        Ok(())
    }

    /// The browser goes where the logout sent it, with `post_logout_redirect_uri` replaced when given.
    pub async fn follow_logout(&mut self, redirect_uri: Option<&str>) -> anyhow::Result<()> {
        let mut url = self
            .logout
            .end_session_url
            .clone()
            .ok_or_else(|| anyhow!("the logout sent the browser nowhere"))?;
        if let Some(uri) = redirect_uri {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k == "post_logout_redirect_uri" {
                        uri.into()
                    } else {
                        v
                    };
                    (k.into_owned(), v.into_owned())
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        let params = url
            .query_pairs()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let response = self.browser(MAIN)?.get(&url).await?;
        // Also the last authorization-side answer, so the page checks of the authorization steps apply.
        self.authorization = Some((params, response.clone()));
        self.logout.at_provider = Some(response);
        Ok(())
    }

    /// The browser follows the provider's redirect after logout back to the app's post-logout URI, a
    /// navigation from the provider's site.
    pub async fn follow_return_from_logout(&mut self) -> anyhow::Result<()> {
        let at = self.logout.at_provider.as_ref().ok_or_else(|| {
            anyhow!("the browser has not been to the provider's end-session endpoint")
        })?;
        ensure!(
            at.is_redirect(),
            "the provider did not send the browser back: {}",
            at.brief()
        );
        let back = at.location()?;
        let answer = self
            .browser(MAIN)?
            .navigate_from_other_site(&back, None)
            .await?;
        self.logout.returned = Some(answer);
        Ok(())
    }

    /// LO-RP-STATE-RETURN: the app answered the return from logout without a server error, started no
    /// login and followed no return address off its own site. Applies when the app sent a `state` to the
    /// end-session endpoint.
    pub async fn check_return_taken_calmly(&mut self) -> anyhow::Result<()> {
        let sent_state = self
            .logout
            .end_session_url
            .as_ref()
            .and_then(|u| query_param(u, "state"));
        if sent_state.is_none() {
            return Err(crate::target::not_applicable(
                "LO-RP-STATE-RETURN applies when the app sends a state to the end-session endpoint; \
                 this one sent none",
            ));
        }
        let answer = self
            .logout
            .returned
            .clone()
            .ok_or_else(|| anyhow!("the browser did not come back to the app"))?;
        ensure!(
            answer.status < 500,
            "the app answered the return from logout with {}",
            answer.brief()
        );
        if answer.is_redirect() {
            let to = answer.location()?;
            let authorize = self.provider.idp.authorization_endpoint();
            ensure!(
                !to.as_str().starts_with(&authorize),
                "the app started a login on the return from logout: {to}"
            );
            let app = answer.url.as_ref().map(Url::origin);
            ensure!(
                app.as_ref() == Some(&to.origin()),
                "the app sent the browser off its own site on the return from logout: {to}"
            );
        }
        Ok(())
    }

    /// The browser follows the logout with the registered `post_logout_redirect_uri` extended by `suffix`:
    /// a URI that only starts with the registered one (RP-Initiated Logout 1.0 §3 compares exactly).
    pub async fn follow_logout_with_extended_uri(&mut self, suffix: &str) -> anyhow::Result<()> {
        let registered = self
            .app()
            .await?
            .post_logout_redirect_uri()
            .ok_or_else(|| unsupported("[provider] post_logout_redirect_uri"))?;
        self.follow_logout(Some(&format!("{registered}{suffix}")))
            .await
    }

    /// The browser follows the logout with its `id_token_hint` replaced by an id_token of the same user
    /// issued to another client of the provider, and `client_id` naming the app (RP-Initiated Logout 1.0
    /// §2: the hint's audience must be the client).
    pub async fn follow_logout_with_foreign_hint(&mut self) -> anyhow::Result<()> {
        let app_client = self.provider_setup().client_id;
        let username = self.signed_in_as.clone().unwrap_or_else(|| "alice".into());
        let login = self.provider.login_name(&username)?;
        let idp = &self.provider.idp;
        let other = ["web", "web-post"]
            .into_iter()
            .find(|id| *id != app_client && idp.client(id).is_some())
            .ok_or_else(|| anyhow!("the provider has no other client to mint a hint for"))?;
        let minted = idp
            .mint_tokens(&openid_only(&login, other))
            .map_err(|e| anyhow!("minting another client's id_token: {e}"))?;
        let hint = minted["id_token"]
            .as_str()
            .ok_or_else(|| anyhow!("no id_token minted"))?
            .to_owned();
        let url = self
            .logout
            .end_session_url
            .as_mut()
            .ok_or_else(|| anyhow!("the logout sent the browser nowhere"))?;
        let mut pairs: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "id_token_hint" && k != "client_id")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        pairs.push(("id_token_hint".into(), hint));
        pairs.push(("client_id".into(), app_client));
        url.query_pairs_mut().clear().extend_pairs(pairs);
        self.follow_logout(None).await
    }

    /// The browser opens the app's login and follows it to the provider, whose answer is kept.
    pub async fn open_login_at_provider(&mut self) -> anyhow::Result<()> {
        let authorize = self.open_login(MAIN).await?;
        let response = self.browser(MAIN)?.get(&authorize).await?;
        let params = authorize
            .query_pairs()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self.authorization = Some((params, response));
        Ok(())
    }

    /// The provider ends every session of `username` (a logout that starts at the provider).
    pub async fn log_out_at_provider(&mut self, username: &str) -> anyhow::Result<()> {
        self.app().await?;
        let username = &self.provider.login_name(username)?;
        let deliveries = self
            .provider
            .idp
            .logout(username)
            .await
            .ok_or_else(|| anyhow!("no provider user {username}"))?;
        self.logout.deliveries = deliveries.iter().map(ToString::to_string).collect();
        Ok(())
    }

    /// Keeps the current app token aside.
    pub fn keep_app_token(&mut self) -> anyhow::Result<()> {
        let token = self
            .app_token
            .clone()
            .ok_or_else(|| anyhow!("no app token to keep"))?;
        self.logout.kept_token = Some(token);
        Ok(())
    }

    /// Asks for the profile with the token kept aside.
    pub async fn fetch_profile_with_kept_token(&mut self) -> anyhow::Result<()> {
        let token = self.logout.kept_token.clone();
        ensure!(token.is_some(), "no app token was kept");
        self.fetch_profile(token).await
    }

    /// Sends the backend a logout token for `username` signed by the provider, spoiled by `flaw`.
    pub async fn send_logout_token(
        &mut self,
        username: &str,
        flaw: Option<LogoutFlaw>,
    ) -> anyhow::Result<()> {
        let token = self.logout_token(username, flaw).await?;
        self.post_logout_token(token).await
    }

    /// Sends the last logout token again.
    pub async fn resend_logout_token(&mut self) -> anyhow::Result<()> {
        let token = self
            .logout
            .last_token
            .clone()
            .ok_or_else(|| anyhow!("no logout token was sent"))?;
        self.post_logout_token(token).await
    }

    async fn post_logout_token(&mut self, token: String) -> anyhow::Result<()> {
        let app = self.app().await?;
        let uri = app
            .backchannel_logout_uri()
            .ok_or_else(|| unsupported("[provider] backchannel_logout_uri"))?;
        let url = Url::parse(&uri).context("backchannel_logout_uri")?;
        // The provider's POST, from no browser: a fresh client with no cookies.
        let response = crate::browser::Browser::new()?
            .post_form(&url, &[("logout_token", &token)])
            .await?;
        self.logout.backchannel_status = Some(response.status);
        self.logout.last_token = Some(token);
        Ok(())
    }

    async fn logout_token(
        &mut self,
        username: &str,
        flaw: Option<LogoutFlaw>,
    ) -> anyhow::Result<String> {
        let client_id = self.provider_setup().client_id;
        let login = self.provider.login_name(username)?;
        let sub = self.provider.subject_of(username)?;
        let idp = &self.provider.idp;
        if flaw == Some(LogoutFlaw::IdToken) {
            let body = idp
                .mint_tokens(&openid_only(&login, &client_id))
                .map_err(|e| anyhow!("minting an id_token: {e}"))?;
            return body["id_token"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("no id_token minted"));
        }
        let sid = crate::random_token(16);
        let real = idp
            .logout_token(&client_id, &sub, &sid)
            .map_err(|e| anyhow!("signing a logout token: {e}"))?;
        let Some(flaw) = flaw else {
            return Ok(real);
        };
        if flaw == LogoutFlaw::TamperedSignature {
            let mut chars: Vec<char> = real.chars().collect();
            // Not the last character, which may carry only padding bits.
            let i = chars.len().saturating_sub(20);
            chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
            return Ok(chars.into_iter().collect());
        }
        let (header, rest) = real.split_once('.').ok_or_else(|| anyhow!("not a JWS"))?;
        let payload = rest.split('.').next().unwrap_or_default();
        let mut claims: Value = serde_json::from_slice(&B64.decode(payload)?)?;
        let obj = claims
            .as_object_mut()
            .ok_or_else(|| anyhow!("claims are not an object"))?;
        match flaw {
            LogoutFlaw::OtherAudience => drop(obj.insert("aud".into(), json!("another-app"))),
            LogoutFlaw::OtherIssuer => {
                drop(obj.insert("iss".into(), json!("https://other-idp.example")))
            }
            LogoutFlaw::Nonce => drop(obj.insert("nonce".into(), json!("n-1"))),
            LogoutFlaw::NoEvent => drop(obj.remove("events")),
            LogoutFlaw::NoSubject => {
                obj.remove("sub");
                obj.remove("sid");
            }
            LogoutFlaw::NoJti => drop(obj.remove("jti")),
            LogoutFlaw::OldIat => {
                let iat = obj.get("iat").and_then(Value::as_u64).unwrap_or_default();
                obj.insert("iat".into(), json!(iat.saturating_sub(3600)));
            }
            LogoutFlaw::OtherEvent => drop(obj.insert(
                "events".into(),
                json!({"http://schemas.openid.net/event/foobar": {}}),
            )),
            LogoutFlaw::EventsNotObject => drop(obj.insert(
                "events".into(),
                json!("http://schemas.openid.net/event/backchannel-logout"),
            )),
            LogoutFlaw::AlgNone | LogoutFlaw::Hs256PublicKey | LogoutFlaw::Es256 => {
                return other_alg(idp, header, &claims, flaw);
            }
            LogoutFlaw::TamperedSignature | LogoutFlaw::IdToken => {}
        }
        idp.sign_with_header(header, &claims)
            .map_err(|e| anyhow!("re-signing: {e}"))
    }

    /// `username` logs in through [`OTHER`], a browser of their own, and keeps that session there; the
    /// main browser's session stays the scenario's current one.
    pub async fn log_in_in_other_browser(&mut self, username: &str) -> anyhow::Result<()> {
        let (token, backend) = (self.app_token.take(), self.backend.take());
        let outcome = match self.log_in(OTHER, username).await {
            Ok(()) => self.check_token_issued(),
            Err(e) => Err(e),
        };
        let other = self.app_token.take();
        (self.app_token, self.backend) = (token, backend);
        outcome.map_err(|e| anyhow!("{username} logging in through another browser: {e:#}"))?;
        let other = other.ok_or_else(|| anyhow!("{username} got no session in another browser"))?;
        self.logout.other_session = Some((username.to_owned(), other));
        Ok(())
    }

    /// The provider ends every session of `username` with the app and tells the app with a logout token
    /// per session that names only its `sid` (Back-Channel Logout 1.0 §2.4: "sub" OPTIONAL when "sid" is
    /// present), signed by the provider as its own tokens are.
    pub async fn log_out_session_at_provider_by_sid(
        &mut self,
        username: &str,
    ) -> anyhow::Result<()> {
        if self.app().await?.backchannel_logout_uri().is_none() {
            return Err(unsupported("[provider] backchannel_logout_uri"));
        }
        let client_id = self.provider_setup().client_id;
        let sub = self.provider.subject_of(username)?;
        let idp = &self.provider.idp;
        let sids: Vec<String> = idp
            .end_sessions_quietly(&sub)
            .into_iter()
            .filter(|(_, client)| *client == client_id)
            .map(|(sid, _)| sid)
            .collect();
        ensure!(
            !sids.is_empty(),
            "the provider holds no session of {username} with the app: it keeps sessions only for a \
             client that registered a backchannel_logout_uri"
        );
        let mut tokens = Vec::new();
        for sid in sids {
            let token = idp
                .logout_token(&client_id, &sub, &sid)
                .map_err(|e| anyhow!("signing a logout token: {e}"))?;
            tokens.push(self.resigned_without(&token, &["sub"])?);
        }
        let mut refused = None;
        for token in tokens {
            self.post_logout_token(token).await?;
            if self
                .logout
                .backchannel_status
                .is_some_and(|s| s != 200 && s != 204)
            {
                refused = self.logout.backchannel_status;
            }
        }
        // One refusal among several deliveries is what the check sees.
        if refused.is_some() {
            self.logout.backchannel_status = refused;
        }
        Ok(())
    }

    /// `token` (a JWS of the provider) re-signed with the provider's key without these claims.
    fn resigned_without(&self, token: &str, claims: &[&str]) -> anyhow::Result<String> {
        let (header, rest) = token.split_once('.').ok_or_else(|| anyhow!("not a JWS"))?;
        let payload = rest.split('.').next().unwrap_or_default();
        let mut value: Value = serde_json::from_slice(&B64.decode(payload)?)?;
        let obj = value
            .as_object_mut()
            .ok_or_else(|| anyhow!("claims are not an object"))?;
        for name in claims {
            obj.remove(*name);
        }
        self.provider
            .idp
            .sign_with_header(header, &value)
            .map_err(|e| anyhow!("re-signing: {e}"))
    }

    // ----- checks -----

    /// The logout sent the browser to the provider's end-session endpoint with the id_token as hint, the
    /// client id, the registered post-logout redirect URI and a state (RP-Initiated Logout 1.0 §2).
    pub async fn check_sent_to_end_session(&mut self) -> anyhow::Result<()> {
        let expected_uri = self.app().await?.post_logout_redirect_uri();
        let url = self
            .logout
            .end_session_url
            .clone()
            .ok_or_else(|| anyhow!("the logout sent the browser nowhere"))?;
        let endpoint = self.provider.idp.end_session_endpoint();
        ensure!(
            url.as_str().split('?').next() == Some(endpoint.as_str()),
            "sent to {url}, not the end-session endpoint {endpoint}"
        );
        let hint = query_param(&url, "id_token_hint").unwrap_or_default();
        ensure!(hint.split('.').count() == 3, "no id_token_hint in {url}");
        // client_id is OPTIONAL beside an id_token_hint (RP-Initiated Logout 1.0 §2); when sent, it is ours.
        ensure!(
            query_param(&url, "client_id").is_none_or(|id| id == self.provider_setup().client_id),
            "client_id wrong in {url}"
        );
        ensure!(
            query_param(&url, "post_logout_redirect_uri") == expected_uri,
            "post_logout_redirect_uri is not the registered {expected_uri:?}: {url}"
        );
        if query_param(&url, "state").is_none_or(|s| s.is_empty()) {
            // RPL §2 makes the RP's state OPTIONAL: the catalogue's POLICY part of LO-RP-INITIATED.
            return Err(crate::target::breaks_at(
                "LO-RP-INITIATED",
                crate::outcome::Level::Policy,
                format!("no state in {url}"),
            ));
        }
        Ok(())
    }

    /// The provider sent the browser back to the registered post-logout URI with the same state (§3).
    pub async fn check_returned_after_logout(&mut self) -> anyhow::Result<()> {
        let expected_uri = self
            .app()
            .await?
            .post_logout_redirect_uri()
            .ok_or_else(|| unsupported("[provider] post_logout_redirect_uri"))?;
        let sent_state = self
            .logout
            .end_session_url
            .as_ref()
            .and_then(|u| query_param(u, "state"));
        let answer = self.logout.at_provider.as_ref().ok_or_else(|| {
            anyhow!("the browser has not been to the provider's end-session endpoint")
        })?;
        let back = answer.location()?;
        ensure!(
            back.as_str().split('?').next() == Some(expected_uri.as_str()),
            "sent to {back}, expected {expected_uri}"
        );
        ensure!(
            query_param(&back, "state") == sent_state,
            "state {:?} came back as {:?}",
            sent_state,
            query_param(&back, "state")
        );
        Ok(())
    }

    /// Every back-channel delivery of the provider-side logout was accepted, and there was one: 200 or 204
    /// (Back-Channel Logout 1.0 §2.8: "the response SHOULD use 200 OK"; a 204 carries the same acceptance).
    pub fn check_deliveries_succeeded(&self) -> anyhow::Result<()> {
        self.check_deliveries(&[": 200", ": 204"])
    }

    /// Every back-channel delivery of the provider's logout was refused with 400 (Back-Channel Logout 1.0
    /// §2.8: "If the logout request fails … the RP MUST respond with 400 Bad Request").
    pub fn check_deliveries_refused(&self) -> anyhow::Result<()> {
        self.check_deliveries(&[": 400"])
    }

    /// There was a back-channel delivery, and each came to one of these outcomes (`": 200"`).
    fn check_deliveries(&self, outcomes: &[&str]) -> anyhow::Result<()> {
        if self
            .app_if_started()
            .is_some_and(|a| a.backchannel_logout_uri().is_none())
        {
            return Err(unsupported("[provider] backchannel_logout_uri"));
        }
        let d = &self.logout.deliveries;
        ensure!(
            !d.is_empty(),
            "the provider notified no back-channel endpoint"
        );
        ensure!(
            d.iter().all(|x| outcomes.iter().any(|o| x.ends_with(o))),
            "deliveries: {d:?}"
        );
        Ok(())
    }

    /// The backend answered the last logout token with `expected` (200 accepted, 400 refused, §2.8).
    pub fn check_backchannel_status(&self, expected: u16) -> anyhow::Result<()> {
        let got = self
            .logout
            .backchannel_status
            .ok_or_else(|| anyhow!("no logout token was sent"))?;
        let accepted = |s: u16| s == 200 || s == 204;
        ensure!(
            got == expected || (accepted(expected) && accepted(got)),
            "the back-channel endpoint answered {got}, expected {expected}"
        );
        Ok(())
    }

    /// The other browser's session ([`World::log_in_in_other_browser`]) still opens the profile.
    pub async fn check_other_session_works(&mut self) -> anyhow::Result<()> {
        let (username, token) = self
            .logout
            .other_session
            .clone()
            .ok_or_else(|| anyhow!("nobody has logged in through another browser"))?;
        let url = self.app().await?.profile_url();
        let b = self.browser(OTHER)?.as_frontend();
        let response = if token == crate::world::COOKIE_SESSION {
            b.get(&url).await?
        } else {
            b.get_with_bearer(&url, &token).await?
        };
        ensure!(
            response.is_success(),
            "{username}'s session in another browser no longer opens the profile: {}",
            response.brief()
        );
        Ok(())
    }
}

/// A mint of tokens for `user` at `client` with scope `openid` alone: an id_token to use as a hint.
fn openid_only(user: &str, client: &str) -> mock_idp::MintRequest {
    mock_idp::MintRequest {
        user: user.to_owned(),
        client: client.to_owned(),
        scope: Some("openid".to_owned()),
        ..Default::default()
    }
}
