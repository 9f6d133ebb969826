//! Sign in with Apple scenarios (CONFORMANCE APPLE-*): the key a backend of the run's own signs its client
//! secrets with, the persona's users (hidden or unverified emails), what the authorization response's
//! `user` field held, the profile's email, and the persona's own client-secret checks with the harness as
//! the client.

use anyhow::{anyhow, ensure};
use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use mock_idp::{ClientConfig, ClientSecretKey, GrantType, SigningAlg, SigningKey};
use serde_json::{Value, json};
use url::Url;

use crate::{
    browser::query_param,
    personas::PersonaProvider,
    target::{AppleKeys, ExtraKind, ProfileField},
    world::World,
};

/// The team id the runner gives a backend it configures.
pub const HARNESS_TEAM_ID: &str = "HARNESSTM1";

/// A fresh P-256 key pair for a backend the runner configures: `key_id`, the public half as PEM, the
/// private half as PKCS#8 PEM.
pub fn generate_keys(team_id: &str, key_id: &str) -> anyhow::Result<AppleKeys> {
    use aws_lc_rs::{rand::SystemRandom, signature};
    let pkcs8 = signature::EcdsaKeyPair::generate_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &SystemRandom::new(),
    )
    .map_err(|_| anyhow!("generating a P-256 key"))?;
    let body = STANDARD.encode(pkcs8.as_ref());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    let private_key_pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    let public_key_pem =
        SigningKey::from_pem(SigningAlg::ES256, &private_key_pem, key_id)?.public_pem()?;
    Ok(AppleKeys {
        team_id: team_id.to_owned(),
        key_id: key_id.to_owned(),
        public_key_pem,
        private_key_pem: Some(private_key_pem),
    })
}

/// The client the backend has at an Apple persona: its Services ID, its redirect URI, the key it signs
/// client secrets with.
pub fn registration(client_id: &str, redirect_uri: &str, keys: &AppleKeys) -> ClientConfig {
    ClientConfig {
        client_id: client_id.to_owned(),
        redirect_uris: vec![redirect_uri.to_owned()],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        token_endpoint_auth_method: mock_idp::AuthMethod::ClientSecretPost,
        team_id: Some(keys.team_id.clone()),
        client_secret_keys: vec![ClientSecretKey {
            kid: keys.key_id.clone(),
            public_key_pem: keys.public_key_pem.clone(),
        }],
        ..ClientConfig::default()
    }
}

/// A client secret signed by `key` (header `alg` ES256, `kid` the key's) with these claims.
fn signed(key: &SigningKey, claims: &Value) -> anyhow::Result<String> {
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "kid": key.kid()}).to_string());
    Ok(key.sign_with_header(&header, claims)?)
}

impl World {
    fn apple_persona(&self, provider: &str) -> anyhow::Result<PersonaProvider> {
        let p = self.persona(provider)?;
        ensure!(
            p.kind == ExtraKind::Apple,
            "{provider} is not a Sign in with Apple provider"
        );
        Ok(p)
    }

    /// The user hides their email at the Apple persona ("Hide My Email"): a private relay address.
    pub fn hide_persona_email(&mut self, provider: &str, username: &str) -> anyhow::Result<()> {
        self.apple_persona(provider)?;
        self.change_persona_user(provider, username, |u| u.apple_hide_email = true)
    }

    /// The user's email at the persona is not verified (`email_verified` `"false"`).
    pub fn unverify_persona_email(&mut self, provider: &str, username: &str) -> anyhow::Result<()> {
        self.change_persona_user(provider, username, |u| u.email_verified = Some(false))
    }

    /// The private relay address the Apple persona gives `username` for the backend's team.
    pub fn persona_relay_email(
        &mut self,
        provider: &str,
        username: &str,
    ) -> anyhow::Result<String> {
        let p = self.apple_persona(provider)?;
        let team = p
            .apple
            .as_ref()
            .map(|k| k.team_id.clone())
            .ok_or_else(|| anyhow!("{provider} has no Apple keys"))?;
        let login = self.persona_login_name(&p, username)?;
        let user = p
            .handle
            .user(&login)
            .ok_or_else(|| anyhow!("{provider} has no user {login:?}"))?;
        Ok(mock_idp::apple_relay_email(&team, &user))
    }

    /// Seeds an app user `username` with `owner`'s relay address at the Apple persona as its email (an
    /// app that links by email would link on it).
    pub async fn seed_app_user_with_relay_email(
        &mut self,
        role: crate::parameters::Role,
        username: &str,
        owner: &str,
        provider: &str,
    ) -> anyhow::Result<()> {
        let relay = self.persona_relay_email(provider, owner)?;
        let seed = crate::world::Seed {
            role,
            email: Some(&relay),
            ..crate::world::Seed::default()
        };
        self.seed_app_user(username, seed).await
    }

    /// The user revokes the app at the Apple persona: their next authorization is a first one again.
    pub fn forget_persona_consent(&mut self, provider: &str, username: &str) -> anyhow::Result<()> {
        let p = self.apple_persona(provider)?;
        let login = self.persona_login_name(&p, username)?;
        p.handle.forget_consent(&p.client_id, &login);
        Ok(())
    }

    /// The `user` field of the last authorization response, if it had one.
    fn last_user_field(&self) -> anyhow::Result<Option<Value>> {
        let response = self
            .auth_response
            .as_ref()
            .ok_or_else(|| anyhow!("the provider has not answered yet"))?;
        query_param(response, "user")
            .map(|u| serde_json::from_str(&u).map_err(|e| anyhow!("the user field {u:?}: {e}")))
            .transpose()
    }

    /// The last authorization response carried the `user` field (`Some`, naming `email` if given), or
    /// not (`None`).
    pub fn check_user_field(&self, expected: Option<Option<&str>>) -> anyhow::Result<()> {
        let user = self.last_user_field()?;
        match (expected, &user) {
            (None, None) | (Some(None), Some(_)) => Ok(()),
            (Some(Some(email)), Some(u)) if u["email"] == json!(email) => Ok(()),
            _ => Err(anyhow!(
                "the authorization response's user field was {user:?}; expected {}",
                match expected {
                    None => "none".to_owned(),
                    Some(None) => "one".to_owned(),
                    Some(Some(e)) => format!("one naming {e}"),
                }
            )),
        }
    }

    /// The profile shows this email (`Some`) or none (`None`); not applicable where the profile shows no
    /// email at all (`[profile] email` of the target file).
    pub async fn check_profile_email(&mut self, expected: Option<&str>) -> anyhow::Result<()> {
        self.require_profile_field(ProfileField::Email).await?;
        self.fetch_profile(None).await?;
        let body = self
            .profile
            .as_ref()
            .filter(|r| r.is_success())
            .map(|r| r.json())
            .ok_or_else(|| anyhow!("no profile answer"))?;
        let profile = self.app().await?.profile(&body);
        ensure!(
            profile.email.as_deref() == expected,
            "the profile shows the email {:?}, not {expected:?}",
            profile.email
        );
        Ok(())
    }

    /// The profile shows `owner`'s relay address at the Apple persona.
    pub async fn check_profile_relay_email(
        &mut self,
        owner: &str,
        provider: &str,
    ) -> anyhow::Result<()> {
        let relay = self.persona_relay_email(provider, owner)?;
        ensure!(
            relay.ends_with("@privaterelay.appleid.com"),
            "not a relay address: {relay}"
        );
        self.check_profile_email(Some(&relay)).await
    }

    /// Moves the backend's clock and the Apple persona's clock forward together.
    pub async fn advance_app_and_persona_clocks(
        &mut self,
        provider: &str,
        by: std::time::Duration,
    ) -> anyhow::Result<()> {
        let p = self.apple_persona(provider)?;
        self.advance_app_clock(by).await?;
        p.handle.clock().advance(by);
        self.personas.moved_clocks.push(p.handle);
        Ok(())
    }

    /// APPLE-CLIENT-SECRET (provider half), with the harness as the client: the persona's token endpoint
    /// refuses, with HTTP 400 `invalid_client`, an expired, a too long-lived, a mis-addressed, an
    /// unknown-key and a badly signed client secret, and authenticates a good one (the bogus code is then
    /// `invalid_grant`).
    pub async fn check_apple_client_secrets(&mut self, provider: &str) -> anyhow::Result<()> {
        let p = self.apple_persona(provider)?;
        let key_id = format!("HK{}", crate::random_token(6).to_uppercase());
        let keys = generate_keys(HARNESS_TEAM_ID, &key_id)?;
        let client_id = format!("harness.apple.{}", crate::random_token(8).to_lowercase());
        p.handle
            .add_client(registration(
                &client_id,
                "https://harness.example/apple-callback",
                &keys,
            ))
            .map_err(|e| anyhow!("registering the harness's client at {provider}: {e}"))?;
        let pem = keys.private_key_pem.clone().unwrap_or_default();
        let key = SigningKey::from_pem(SigningAlg::ES256, &pem, &key_id)?;
        let stranger = SigningKey::generate(SigningAlg::ES256, &key_id)?;
        let unknown = SigningKey::generate(SigningAlg::ES256, "UNKNOWNKID")?;
        let now = p.handle.clock().now();
        let issuer = p.handle.issuer().to_owned();
        let good = json!({"iss": HARNESS_TEAM_ID, "sub": client_id, "aud": issuer, "iat": now, "exp": now + 300});
        let with = |k: &str, v: Value| {
            let mut c = good.clone();
            c[k] = v;
            c
        };
        let cases = [
            ("expired", signed(&key, &with("exp", json!(now - 1)))?),
            (
                "longer-lived than six months",
                signed(&key, &with("exp", json!(now + 15_777_001)))?,
            ),
            (
                "addressed to another audience",
                signed(
                    &key,
                    &with("aud", json!("https://appleid.apple.com.example")),
                )?,
            ),
            (
                "issued by another team",
                signed(&key, &with("iss", json!("OTHERTEAM1")))?,
            ),
            (
                "naming another client",
                signed(&key, &with("sub", json!("com.example.other")))?,
            ),
            ("of an unknown key", signed(&unknown, &good)?),
            ("badly signed", signed(&stranger, &good)?),
        ];
        let b = self.fresh_client()?;
        let token = Url::parse(&p.handle.url("/auth/token"))?;
        let ask = |secret: String| {
            let form = vec![
                ("grant_type".to_owned(), "authorization_code".to_owned()),
                ("code".to_owned(), "not-a-code".to_owned()),
                (
                    "redirect_uri".to_owned(),
                    "https://harness.example/apple-callback".to_owned(),
                ),
                ("client_id".to_owned(), client_id.clone()),
                ("client_secret".to_owned(), secret),
            ];
            form
        };
        for (what, secret) in cases {
            let form = ask(secret);
            let pairs: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let answer = b.post_form(&token, &pairs).await?;
            ensure!(
                answer.status == 400 && answer.json()["error"] == json!("invalid_client"),
                "{provider}'s token endpoint answered a client secret {what} with {}, not 400 \
                 invalid_client",
                answer.brief()
            );
        }
        let form = ask(signed(&key, &good)?);
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let answer = b.post_form(&token, &pairs).await?;
        ensure!(
            answer.json()["error"] == json!("invalid_grant"),
            "{provider}'s token endpoint did not authenticate a good client secret: {}",
            answer.brief()
        );
        Ok(())
    }
}
