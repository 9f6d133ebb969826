//! Reading and spoiling compact JWTs, for the app-token scenarios (RFC 7515 §7.1, RFC 8725).

use anyhow::{Context, anyhow};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::{parameters::TokenFlaw, target::Target};

/// The three parts of a compact JWS.
fn parts(token: &str) -> anyhow::Result<[&str; 3]> {
    let mut it = token.split('.');
    match (it.next(), it.next(), it.next(), it.next()) {
        (Some(h), Some(p), Some(s), None) => Ok([h, p, s]),
        _ => Err(anyhow!("not a compact JWS: {token}")),
    }
}

fn decode(part: &str) -> anyhow::Result<Value> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .context("JWT part is not base64url")?;
    serde_json::from_slice(&bytes).context("JWT part is not JSON")
}

fn encode(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// Whether `token` is a compact JWS whose header is JSON (an app's session may be an opaque string).
pub fn is_compact_jws(token: &str) -> bool {
    parts(token).is_ok_and(|[h, _, _]| decode(h).is_ok())
}

/// The claims of a JWT, unverified.
pub fn claims(token: &str) -> anyhow::Result<Value> {
    decode(parts(token)?[1])
}

/// `token` with `flaw`. Flaws that need a valid signature over other claims use the target's
/// `forge_token` hook, so they test the claim check and not the signature check.
pub async fn spoil(token: &str, flaw: TokenFlaw, target: &dyn Target) -> anyhow::Result<String> {
    let [h, p, s] = parts(token)?;
    let claims = decode(p)?;
    let now = claims.get("iat").and_then(Value::as_u64).unwrap_or(0);
    let resign = |key: &str, value: Value| {
        let mut claims = claims.clone();
        claims[key] = value;
        async move { target.forge_token(&claims).await }
    };
    Ok(match flaw {
        TokenFlaw::TamperedPayload => {
            let mut c = decode(p)?;
            c["sub"] = json!(format!("{}9", c["sub"].as_str().unwrap_or("1")));
            c["role"] = json!("admin");
            format!("{h}.{}.{s}", encode(&c))
        }
        TokenFlaw::TamperedSignature => {
            // Change the first character: the last one may only carry padding bits.
            let mut sig: Vec<char> = s.chars().collect();
            if let Some(first) = sig.first_mut() {
                *first = if *first == 'A' { 'B' } else { 'A' };
            }
            format!("{h}.{p}.{}", sig.into_iter().collect::<String>())
        }
        TokenFlaw::AlgNone => {
            let mut header = decode(h)?;
            header["alg"] = json!("none");
            format!("{}.{p}.", encode(&header))
        }
        TokenFlaw::WrongAudience => resign("aud", json!("someone-else")).await?,
        TokenFlaw::WrongIssuer => resign("iss", json!("https://someone-else.example")).await?,
        TokenFlaw::Expired => resign("exp", json!(now.saturating_sub(3600))).await?,
        TokenFlaw::FutureNbf => resign("nbf", json!(now + 3600)).await?,
    })
}
