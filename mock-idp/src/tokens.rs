//! What the token endpoint issues: access tokens (RFC 9068 JWTs), id_tokens (OIDC Core §2) and refresh
//! tokens, and the user claims each scope releases (Core §5.4).

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::{
    error::OAuthError,
    faults::{Context as FaultContext, Point, spoil},
    keys::{SigningKey, half_hash},
    model::UserConfig,
    state::{AppState, RegisteredClient, random_token},
    store::{AccessRecord, Holder, RefreshGrant},
};

/// The claims of an access token this server issues.
#[derive(Debug, Serialize)]
struct AccessClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    client_id: &'a str,
    scope: String,
    iat: u64,
    exp: u64,
    jti: String,
}

/// A URL of the user's profile as published: one starting with `/` is on this provider (the generated
/// avatars), so it is made absolute with the issuer.
pub fn published_url(issuer: &str, url: &str) -> String {
    if url.starts_with('/') {
        format!("{issuer}{url}")
    } else {
        url.to_owned()
    }
}

/// The user's claims released by `scope` (Core §5.4); `extra_claims` are always released. `issuer` makes a
/// relative `picture` absolute.
pub fn user_claims(user: &UserConfig, scope: &[String], issuer: &str) -> Map<String, Value> {
    let has = |s: &str| scope.iter().any(|x| x == s);
    let mut claims = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            claims.insert(k.to_owned(), v);
        }
    };
    if has("profile") {
        put("preferred_username", Some(json!(user.username)));
        put("name", user.name.as_ref().map(|v| json!(v)));
        put("given_name", user.given_name.as_ref().map(|v| json!(v)));
        put("family_name", user.family_name.as_ref().map(|v| json!(v)));
        put(
            "picture",
            user.picture
                .as_ref()
                .map(|v| json!(published_url(issuer, v))),
        );
    }
    if has("email") {
        put("email", user.email.as_ref().map(|v| json!(v)));
        put("email_verified", user.email_verified.map(|v| json!(v)));
    }
    if has("phone") {
        put("phone_number", user.phone_number.as_ref().map(|v| json!(v)));
    }
    for (k, v) in &user.extra_claims {
        claims.insert(k.clone(), v.clone());
    }
    claims
}

/// What a successful grant hands to [`issue`].
#[derive(Debug)]
pub struct Issue<'a> {
    /// The grant the tokens belong to (revoked together); `None` for client credentials.
    pub grant_id: Option<&'a str>,
    /// The client the tokens are issued to.
    pub client: &'a RegisteredClient,
    /// The subject: a user's `sub`, or the client id for client credentials.
    pub sub: &'a str,
    /// Granted scopes.
    pub scope: &'a [String],
    /// The user, when there is one (authorization code and refresh grants).
    pub user: Option<&'a UserConfig>,
    /// The nonce to echo in the id_token.
    pub nonce: Option<&'a str>,
    /// When the user authenticated.
    pub auth_time: u64,
    /// Whether to issue a refresh token.
    pub refresh: bool,
    /// Whether to issue an id_token (only when `openid` was granted).
    pub id_token: bool,
    /// Whether this is a refresh grant's answer (the `refresh.*` faults apply to its id_token).
    pub refreshed: bool,
    /// The access token's format.
    pub access: AccessFormat,
    /// The access token's lifetime when the client sets none (a persona's documented value); `None`:
    /// the provider's `access_token_ttl`.
    pub access_ttl: Option<u64>,
    /// The refresh token's lifetime (a persona's documented value); `None`: `refresh_token_ttl`.
    pub refresh_ttl: Option<u64>,
    /// Tokens minted without a browser ([`mint`]): their extra claims and lifetime.
    pub minted: Option<&'a MintRequest>,
}

/// How an access token looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessFormat {
    /// A signed JWT (RFC 9068), verified without a lookup.
    Jwt,
    /// An opaque string: this prefix and 36 random letters and digits, as GitHub's `gho_…` tokens
    /// (40 characters); the token store remembers whom it stands for. Its refresh token, if any, is
    /// `ghr_` and 76 of them.
    Opaque(&'static str),
}

/// Letters and digits: the alphabet of GitHub's tokens.
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `prefix` and `n` letters and digits from the OS CSPRNG (uniform: bytes past the last whole multiple of
/// 62 are drawn again).
pub fn opaque_token(prefix: &str, n: usize) -> String {
    let mut out = String::with_capacity(prefix.len() + n);
    out.push_str(prefix);
    let mut bytes = [0u8; 64];
    while out.len() < prefix.len() + n {
        // aws-lc's RNG only fails if the OS entropy source is broken, in which case no token is safe.
        #[allow(clippy::expect_used)]
        aws_lc_rs::rand::fill(&mut bytes).expect("operating system CSPRNG");
        for b in bytes {
            if out.len() == prefix.len() + n {
                break;
            }
            if usize::from(b) < 62 * 4 {
                out.push(char::from(ALPHANUMERIC[usize::from(b) % 62]));
            }
        }
    }
    out
}

/// The store key of an opaque token: a digest, so the store never holds the bearer string itself.
fn opaque_jti(token: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crate::keys::sha256(token.as_bytes()))
}

/// A successful grant's answer and what the request log notes about it.
#[derive(Debug)]
pub struct Issued {
    /// The RFC 6749 §5.1 response body.
    pub body: Value,
    /// The client the tokens were issued to.
    pub client_id: String,
    /// The user (username) they were issued for, if any.
    pub username: Option<String>,
    /// The kid the id_token's header names (`Some("")` for an id_token without one).
    pub id_token_kid: Option<String>,
    /// The id_token faults applied.
    pub faults: Vec<String>,
}

/// Signs and records the tokens of a successful grant and returns the RFC 6749 §5.1 response body.
/// Armed `id_token.*` faults for this client and user spoil the id_token here (and only here).
pub fn issue(state: &AppState, what: Issue<'_>) -> Result<Issued, OAuthError> {
    let now = state.clock.now();
    let key = state.keys.active().map_err(internal)?;
    let ttl = what
        .minted
        .and_then(|m| m.lifetime)
        .or(what.client.config.access_token_ttl)
        .or(what.access_ttl)
        .unwrap_or(state.config.access_token_ttl);
    let client_id = what.client.config.client_id.as_str();
    let (jti, access, holder) = match what.access {
        AccessFormat::Jwt => {
            let jti = random_token(16);
            let claims = AccessClaims {
                iss: &state.issuer,
                sub: what.sub,
                aud: client_id,
                client_id,
                scope: what.scope.join(" "),
                iat: now,
                exp: now + ttl,
                jti: jti.clone(),
            };
            let access = match what.minted.filter(|m| !m.claims.is_empty()) {
                None => key.sign_access_token(&claims),
                Some(minted) => {
                    let mut all = match serde_json::to_value(&claims).map_err(internal)? {
                        Value::Object(map) => map,
                        _ => Map::new(),
                    };
                    all.extend(minted.claims.clone());
                    key.sign_access_token(&all)
                }
            }
            .map_err(internal)?;
            (jti, access, None)
        }
        AccessFormat::Opaque(prefix) => {
            let access = opaque_token(prefix, 36);
            let holder = Holder {
                sub: what.sub.to_owned(),
                scope: what.scope.to_vec(),
            };
            (opaque_jti(&access), access, Some(Box::new(holder)))
        }
    };
    state.tokens.record(
        &jti,
        AccessRecord {
            grant_id: what.grant_id.map(str::to_owned),
            client_id: client_id.to_owned(),
            expires_at: now + ttl,
            holder,
        },
        now,
    )?;
    let mut body = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ttl,
        "scope": what.scope.join(" "),
    });
    let username = what.user.map(|u| u.username.clone());
    let mut id_token_kid = None;
    let mut applied = Vec::new();
    if what.id_token {
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(state.issuer));
        claims.insert("sub".into(), json!(what.sub));
        claims.insert("aud".into(), json!(client_id));
        claims.insert("exp".into(), json!(now + state.config.id_token_ttl));
        claims.insert("iat".into(), json!(now));
        claims.insert("auth_time".into(), json!(what.auth_time));
        if let Some(n) = what.nonce {
            claims.insert("nonce".into(), json!(n));
        }
        // The login's session id (Back-Channel Logout 1.0 §2.1; `backchannel_logout_session_supported`).
        if let Some(sid) = what.grant_id {
            claims.insert("sid".into(), json!(sid));
        }
        claims.insert("at_hash".into(), json!(half_hash(&access)));
        if let Some(user) = what.user {
            for (k, v) in user_claims(user, what.scope, &state.issuer) {
                claims.entry(k).or_insert(v);
            }
        }
        let quirky = state.config.persona != crate::model::Persona::Oidc;
        let of = crate::quirks::IdTokenFor {
            client: what.client,
            user: what.user,
            scope: what.scope,
        };
        if quirky {
            applied.extend(
                crate::quirks::id_token_claims(state, of, &mut claims)
                    .into_iter()
                    .map(str::to_owned),
            );
        }
        if let Some(minted) = what.minted {
            claims.extend(minted.claims.clone());
        }
        let context = FaultContext {
            client_id: Some(client_id),
            username: username.as_deref(),
        };
        if what.refreshed {
            let refresh_faults = state.faults.take(Point::Refresh, context);
            if !refresh_faults.is_empty() {
                let other_sub = refresh_faults
                    .contains(&crate::faults::Fault::RefreshIdTokenOtherSub)
                    .then(|| other_subject(state, what.sub))
                    .flatten();
                spoil::refreshed_id_token(&mut claims, &state.issuer, other_sub, &refresh_faults);
                applied.extend(refresh_faults.iter().map(|f| f.name().to_owned()));
            }
        }
        let faults = state.faults.take(Point::IdToken, context);
        if quirky && !faults.is_empty() {
            crate::quirks::id_token_faults(state, of, &faults, &mut claims);
        }
        let macs = spoil::ClientMacs {
            id_token: what.client.id_token_mac(),
            secret: what.client.secret_mac(),
        };
        // The provider's key, unless the client registered the other key type (or HS256: `macs`).
        let registered;
        let key: &SigningKey = match what.client.config.id_token_signed_response_alg {
            None => &key,
            Some(_) => {
                registered = state
                    .id_token_keys(what.client)
                    .active()
                    .map_err(internal)?;
                &registered
            }
        };
        let (token, kid) = if faults.is_empty() && macs.id_token.is_none() {
            (
                key.sign(&claims).map_err(internal)?,
                Some(key.kid().to_owned()),
            )
        } else {
            applied.extend(faults.iter().map(|f| f.name().to_owned()));
            spoil::id_token(
                key,
                macs,
                &state.issuer,
                state.config.id_token_ttl,
                claims,
                &faults,
            )
            .map_err(internal)?
        };
        id_token_kid = Some(kid.unwrap_or_default());
        body["id_token"] = json!(token);
    }
    if let (true, Some(grant_id)) = (what.refresh, what.grant_id) {
        let token = match what.access {
            AccessFormat::Jwt => random_token(32),
            AccessFormat::Opaque(_) => opaque_token("ghr_", 76),
        };
        state.refresh.insert(
            &token,
            RefreshGrant {
                grant_id: grant_id.to_owned(),
                client_id: client_id.to_owned(),
                sub: what.sub.to_owned(),
                scope: what.scope.to_vec(),
                auth_time: what.auth_time,
                expires_at: now + what.refresh_ttl.unwrap_or(state.config.refresh_token_ttl),
            },
            now,
        )?;
        body["refresh_token"] = json!(token);
    }
    Ok(Issued {
        body,
        client_id: client_id.to_owned(),
        username,
        id_token_kid,
        faults: applied,
    })
}

/// Another user's subject (the smallest, so a run is repeatable), for `refresh.id_token_other_sub`.
fn other_subject(state: &AppState, sub: &str) -> Option<String> {
    state
        .usernames()
        .into_iter()
        .map(|u| u.sub)
        .filter(|s| s != sub)
        .min()
}

fn internal(e: impl std::fmt::Display) -> OAuthError {
    tracing::error!("issuing tokens: {e}");
    OAuthError::ServerError
}

/// The claims of a live access token this server issued, or `None` if it is forged, expired, revoked or
/// not an access token (an id_token is not accepted in its place).
pub fn verify_access_token(state: &AppState, token: &str) -> Option<Value> {
    let (typ, claims) = state.keys.verify(token)?;
    if typ.as_deref() != Some("at+jwt") {
        return None;
    }
    let now = state.clock.now();
    let alive = claims.get("exp")?.as_u64()? > now
        && claims.get("iss")?.as_str()? == state.issuer
        && !state.tokens.is_revoked(claims.get("jti")?.as_str()?);
    alive.then_some(claims)
}

/// What a live opaque access token of this server stands for, in the claims' shape (`sub`, `client_id`,
/// `scope`, `exp`, `jti`), or `None` if it is unknown, expired or revoked.
pub fn verify_opaque(state: &AppState, token: &str) -> Option<Value> {
    let jti = opaque_jti(token);
    let record = state.tokens.get(&jti)?;
    let holder = record.holder?;
    let alive = record.expires_at > state.clock.now() && !state.tokens.is_revoked(&jti);
    alive.then(|| {
        json!({
            "sub": holder.sub,
            "client_id": record.client_id,
            "scope": holder.scope.join(" "),
            "exp": record.expires_at,
            "jti": jti,
        })
    })
}

/// Revokes a live opaque access token of `client_id` (GitHub's `DELETE /applications/{client_id}/token`);
/// false when it is unknown, dead or another client's.
pub fn revoke_opaque(state: &AppState, client_id: &str, token: &str) -> Result<bool, OAuthError> {
    let jti = opaque_jti(token);
    let Some(record) = state.tokens.get(&jti) else {
        return Ok(false);
    };
    let now = state.clock.now();
    if record.client_id != client_id
        || record.holder.is_none()
        || record.expires_at <= now
        || state.tokens.is_revoked(&jti)
    {
        return Ok(false);
    }
    state.tokens.revoke_jti(&jti, record.expires_at, now)?;
    Ok(true)
}

/// The scopes minted tokens carry when none are asked for.
pub const MINT_DEFAULT_SCOPE: &str = "openid profile email";

/// The longest lifetime a minted access token may ask for: a year.
pub const MINT_MAX_LIFETIME: u64 = 365 * 24 * 3600;

/// Claims the provider sets itself, which a minted token cannot be given.
const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "auth_time",
    "nonce",
    "azp",
    "sid",
    "at_hash",
    "c_hash",
    "scope",
    "client_id",
    "typ",
    "cnf",
    "acr",
    "amr",
];

/// Tokens to mint for a user and client without a browser, as if a code flow had just completed: the
/// handle's [`crate::Handle::mint_tokens`], `POST /admin/tenants/TENANT/tokens`, `mock-idp admin token` and
/// the offline `mock-idp token` all take this and call one function.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MintRequest {
    /// The username, e.g. `alice`.
    pub user: String,
    /// The client id the tokens are issued to, e.g. `web`.
    pub client: String,
    /// Space-separated scopes; [`MINT_DEFAULT_SCOPE`] when absent. An id_token comes with `openid`.
    #[serde(default)]
    pub scope: Option<String>,
    /// Claims added to the access token and the id_token (not those the provider sets, such as `sub`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub claims: Map<String, Value>,
    /// The access token's lifetime in seconds (1 to a year); the client's or provider's otherwise.
    #[serde(default)]
    pub lifetime: Option<u64>,
}

/// Why tokens could not be minted: the request's field at fault, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct MintError {
    /// The field: `user`, `client`, `scope`, `claims.NAME`, `lifetime`, or `tenant`.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

fn mint_error(field: impl Into<String>, reason: impl Into<String>) -> MintError {
    MintError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Minting without a server (`mock-idp token`): the tokens are signed with `config`'s key, so a server
/// running the same configuration accepts them. An error names the field at fault.
pub fn mint_offline(config: crate::Config, request: &MintRequest) -> Result<Value, String> {
    let key = crate::keys::SigningKey::of_provider::<crate::StartError>(&config)
        .map_err(|e| e.to_string())?;
    let issuer = config
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.address));
    let state = AppState::new(issuer, config, key, crate::Clock::new());
    mint(&state, request).map_err(|e| e.to_string())
}

/// Signs and records tokens for `request.user` and `request.client` (RFC 9068 access token, and an
/// id_token with `openid`); no refresh token, as there is no grant behind them. They verify against the
/// provider's JWKS and work at its userinfo, like a login's.
pub fn mint(state: &AppState, request: &MintRequest) -> Result<Value, MintError> {
    if !state.config.persona.is_openid() {
        return Err(mint_error(
            "tenant",
            format!(
                "the {:?} persona issues no JWTs; mint tokens at an OpenID Connect provider",
                state.config.persona
            ),
        ));
    }
    let user = state
        .user(&request.user)
        .ok_or_else(|| mint_error("user", format!("no user {:?}", request.user)))?;
    let client = state
        .client(&request.client)
        .ok_or_else(|| mint_error("client", format!("no client {:?}", request.client)))?;
    if !client
        .config
        .grant_types
        .contains(&crate::model::GrantType::AuthorizationCode)
    {
        return Err(mint_error(
            "client",
            format!(
                "{:?} has no authorization_code grant: it logs in no user",
                request.client
            ),
        ));
    }
    let scope: Vec<String> = request
        .scope
        .as_deref()
        .unwrap_or(MINT_DEFAULT_SCOPE)
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if scope.is_empty() {
        return Err(mint_error("scope", "names no scope"));
    }
    if let Some(name) = request
        .claims
        .keys()
        .find(|k| RESERVED_CLAIMS.contains(&k.as_str()))
    {
        return Err(mint_error(
            format!("claims.{name}"),
            "the provider sets this claim itself",
        ));
    }
    if let Some(lifetime) = request.lifetime
        && !(1..=MINT_MAX_LIFETIME).contains(&lifetime)
    {
        return Err(mint_error(
            "lifetime",
            format!("{lifetime} is not between 1 and {MINT_MAX_LIFETIME} seconds"),
        ));
    }
    issue(
        state,
        Issue {
            grant_id: None,
            client: &client,
            sub: &user.sub,
            scope: &scope,
            user: Some(&user),
            nonce: None,
            auth_time: state.clock.now(),
            refresh: false,
            id_token: scope.iter().any(|s| s == "openid"),
            refreshed: false,
            access: AccessFormat::Jwt,
            access_ttl: None,
            refresh_ttl: None,
            minted: Some(request),
        },
    )
    .map(|issued| issued.body)
    .map_err(|e| mint_error("tenant", e.to_string()))
}
