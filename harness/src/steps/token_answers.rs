//! What the provider's token endpoint answered to requests sent straight at it.

use anyhow::{anyhow, ensure};
use cucumber::then;

use serde_json::Value;

use crate::{browser::HttpResponse, parameters::OAuthError, world::World};

fn no_store(response: &HttpResponse) -> bool {
    response
        .header("cache-control")
        .is_some_and(|v| v.contains("no-store"))
}

/// 200 with access_token, Bearer, expires_in and id_token, not cacheable (RFC 6749 §5.1).
#[then(expr = "the token endpoint returns tokens")]
async fn returns_tokens(w: &mut World) -> anyhow::Result<()> {
    let r = w.last_token_response()?;
    ensure!(r.status == 200, "the token endpoint answered {}", r.brief());
    let body = r.json();
    for field in ["access_token", "expires_in", "id_token"] {
        ensure!(body.get(field).is_some(), "no {field} in {body}");
    }
    let token_type = body["token_type"].as_str().unwrap_or_default();
    ensure!(
        token_type.eq_ignore_ascii_case("bearer"),
        "token_type is {token_type:?}"
    );
    ensure!(
        no_store(r),
        "the token response lacks Cache-Control: no-store"
    );
    Ok(())
}

/// The last token answer has this status and error code in a JSON body (RFC 6749 §5.2).
#[then(expr = "the token endpoint refuses with {int} \"{oauth_error}\"")]
async fn refuses_with_status(w: &mut World, status: u16, error: OAuthError) -> anyhow::Result<()> {
    let r = w.last_token_response()?;
    ensure!(
        r.status == status && r.json()["error"] == error.to_string(),
        "expected {status} {error}, got {}",
        r.brief()
    );
    Ok(())
}

/// The last token answer is a 400 or 401 with this error code.
#[then(expr = "the token endpoint refuses with \"{oauth_error}\"")]
async fn refuses(w: &mut World, error: OAuthError) -> anyhow::Result<()> {
    let r = w.last_token_response()?;
    ensure!(
        (r.status == 400 || r.status == 401) && r.json()["error"] == error.to_string(),
        "expected 400/401 {error}, got {}",
        r.brief()
    );
    Ok(())
}

/// `WWW-Authenticate: Basic …` on the last token answer (RFC 6749 §5.2).
#[then(expr = "the refusal carries a Basic challenge")]
async fn basic_challenge(w: &mut World) -> anyhow::Result<()> {
    let r = w.last_token_response()?;
    let challenge = r.header("www-authenticate").unwrap_or_default();
    ensure!(
        challenge.starts_with("Basic"),
        "WWW-Authenticate is {challenge:?}"
    );
    Ok(())
}

/// `Cache-Control: no-store` on the last token answer.
#[then(expr = "the refusal is not cacheable")]
async fn refusal_no_store(w: &mut World) -> anyhow::Result<()> {
    ensure!(
        no_store(w.last_token_response()?),
        "the refusal lacks Cache-Control: no-store"
    );
    Ok(())
}

/// Of all token answers, exactly `n` succeeded and every other one is this error.
#[then(
    expr = "exactly {int} redemption(s) succeed(s) and the others are refused with \"{oauth_error}\""
)]
async fn exactly_n_succeed(w: &mut World, n: usize, error: OAuthError) -> anyhow::Result<()> {
    let ok = w.token_responses.iter().filter(|r| r.is_success()).count();
    ensure!(ok == n, "{ok} redemptions succeeded, expected {n}");
    for r in w.token_responses.iter().filter(|r| !r.is_success()) {
        ensure!(
            r.json()["error"] == error.to_string(),
            "a redemption answered {}",
            r.brief()
        );
    }
    Ok(())
}

/// Every code obtained is distinct and carries at least 128 bits (RFC 6749 §10.10).
#[then(expr = "the codes are all different and each carries at least 128 bits")]
async fn codes_unguessable(w: &mut World) -> anyhow::Result<()> {
    w.check_codes_unguessable()
}

/// A successful refresh with a new access token and a refresh token never issued before (rotation).
#[then(expr = "the refresh returns a new access token and another refresh token")]
async fn refresh_rotated(w: &mut World) -> anyhow::Result<()> {
    w.check_refresh_rotated()
}

/// The last token answer's id_token (it succeeded), with its header.
fn last_id_token(w: &World) -> anyhow::Result<(String, Value)> {
    let r = w.last_token_response()?;
    ensure!(r.status == 200, "the token endpoint answered {}", r.brief());
    let token = r.json()["id_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no id_token in {}", r.json()))?;
    let header = jsonwebtoken::decode_header(&token)
        .map(|h| serde_json::to_value(h).unwrap_or_default())
        .map_err(|e| anyhow!("the id_token's header: {e}"))?;
    Ok((token, header))
}

fn signature_only(alg: jsonwebtoken::Algorithm) -> jsonwebtoken::Validation {
    let mut v = jsonwebtoken::Validation::new(alg);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    v.validate_aud = false;
    v
}

/// TK-HS256: the id_token is HS256 and its MAC checks with the UTF-8 octets of the client's secret
/// (Core §10.1).
#[then(expr = "its id_token is MACed with HS256, keyed by client {string}'s secret")]
async fn id_token_hs256(w: &mut World, id: String) -> anyhow::Result<()> {
    let (token, header) = last_id_token(w)?;
    ensure!(
        header["alg"] == "HS256",
        "the id_token's header is {header}"
    );
    let secret = w
        .provider
        .client(&id)?
        .secret
        .ok_or_else(|| anyhow!("client {id:?} has no secret"))?;
    jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
        &signature_only(jsonwebtoken::Algorithm::HS256),
    )
    .map_err(|e| anyhow!("the MAC does not check with {id:?}'s secret: {e}"))?;
    Ok(())
}

/// TK-HAPPY, TK-HS256: the id_token is RS256 and verifies with the key of the provider's JWKS its `kid`
/// names.
#[then(expr = "its id_token is signed with RS256 by a key of the provider's JWKS")]
async fn id_token_rs256(w: &mut World) -> anyhow::Result<()> {
    let (token, header) = last_id_token(w)?;
    ensure!(
        header["alg"] == "RS256",
        "the id_token's header is {header}"
    );
    let url = url::Url::parse(&w.provider.idp.jwks_uri())?;
    let jwks = w.provider.get(&url).await?.json();
    let key = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == header["kid"]))
        .ok_or_else(|| anyhow!("no JWK has the id_token's kid: {header}"))?;
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.clone())?;
    jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_jwk(&jwk)?,
        &signature_only(jsonwebtoken::Algorithm::RS256),
    )
    .map_err(|e| anyhow!("the signature does not verify with the provider's key: {e}"))?;
    Ok(())
}
