//! Signing keys, JWS compact serialization and the JWKS.
//!
//! Tokens are signed here with a key parsed once at start and held for the life of the server, rather than
//! through `jsonwebtoken::encode`, which re-parses the DER key on every call: measured on a 2-core machine,
//! that parse is most of the ≈1.0–1.5 ms per RS256 signature, and the token endpoint signs twice per flow.
//! The JWS format itself (RFC 7515 §7.1) is three base64url parts joined by dots.

use std::sync::{Arc, RwLock};

use aws_lc_rs::{
    encoding::{AsDer, PublicKeyX509Der},
    rand::SystemRandom,
    rsa::KeySize,
    signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair, UnparsedPublicKey},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use serde::Serialize;
use serde_json::{Value, json};

use crate::{config::Config, error::ConfigError, model::SigningAlg};

/// The test-only RSA key in `fixtures/keys`; public, so never for production.
const TEST_RSA_PEM: &str = include_str!("../fixtures/keys/test-only-rsa.pem");
/// The test-only P-256 key in `fixtures/keys`; public, so never for production.
const TEST_EC_PEM: &str = include_str!("../fixtures/keys/test-only-ec.pem");

/// The private half of the key pair.
enum Private {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A parsed private key with its `kid`, ready to sign.
pub struct SigningKey {
    /// Key id, published in the JWKS and in every JWS header.
    kid: String,
    /// The parsed key.
    private: Private,
    /// The JWK of the public half, built once.
    public_jwk: Value,
    /// `{"alg":…,"kid":…,"typ":"JWT"}` base64url-encoded once, for the common header.
    header_b64: String,
    /// Needed by ECDSA signing in aws-lc-rs.
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg())
            .finish_non_exhaustive()
    }
}

/// The key could not be used.
#[derive(Debug, thiserror::Error)]
#[error("signing key: {0}")]
pub struct KeyError(String);

impl KeyError {
    /// A key error with this reason.
    pub(crate) fn new(reason: String) -> KeyError {
        KeyError(reason)
    }
}

fn pem_der(pem_text: &str) -> Result<(String, Vec<u8>), KeyError> {
    let pem = pem::parse(pem_text).map_err(|e| KeyError(format!("not PEM: {e}")))?;
    Ok((pem.tag().to_owned(), pem.into_contents()))
}

impl SigningKey {
    /// The key the configuration's `signing_key` names (a PEM file, read and parsed here, the one place
    /// that does), or `None` when it names none: the caller then picks the test-only key (a provider) or a
    /// generated one (a tenant). The error type is the caller's: a file that cannot be read is
    /// `invalid `signing_key`: cannot read PATH: …`, a key that does not parse is the key's error.
    pub fn configured<E>(config: &Config) -> Result<Option<SigningKey>, E>
    where
        E: From<ConfigError> + From<KeyError>,
    {
        let Some(path) = &config.signing_key else {
            return Ok(None);
        };
        let pem = std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
            field: "signing_key".into(),
            reason: format!("cannot read {path}: {e}"),
        })?;
        Ok(Some(SigningKey::from_pem(
            config.signing_alg,
            &pem,
            "key-1",
        )?))
    }

    /// A provider's key: the configured one ([`SigningKey::configured`]), else the test-only key of its
    /// `signing_alg`. A tenant without a configured key gets a generated one instead.
    pub(crate) fn of_provider<E>(config: &Config) -> Result<SigningKey, E>
    where
        E: From<ConfigError> + From<KeyError>,
    {
        match SigningKey::configured::<E>(config)? {
            Some(key) => Ok(key),
            None => Ok(SigningKey::test_only(config.signing_alg)?),
        }
    }

    /// The built-in test-only key for `alg`.
    pub fn test_only(alg: SigningAlg) -> Result<Self, KeyError> {
        match alg {
            SigningAlg::RS256 => SigningKey::from_pem(alg, TEST_RSA_PEM, "test-rsa-1"),
            SigningAlg::ES256 => SigningKey::from_pem(alg, TEST_EC_PEM, "test-ec-1"),
        }
    }

    /// Parses a PEM private key: PKCS#1 or PKCS#8 RSA for RS256, PKCS#8 P-256 for ES256.
    pub fn from_pem(alg: SigningAlg, pem_text: &str, kid: &str) -> Result<Self, KeyError> {
        let (tag, der) = pem_der(pem_text)?;
        let private = match alg {
            SigningAlg::RS256 => Private::Rsa(
                match tag.as_str() {
                    "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
                    _ => RsaKeyPair::from_pkcs8(&der),
                }
                .map_err(|e| KeyError(format!("not an RSA private key: {e}")))?,
            ),
            SigningAlg::ES256 => Private::Ec(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                    .map_err(|e| KeyError(format!("not a PKCS#8 P-256 private key: {e}")))?,
            ),
        };
        SigningKey::from_private(private, kid)
    }

    /// A fresh key pair for `alg` (key rotation): RSA 2048 or P-256 from the OS CSPRNG.
    pub fn generate(alg: SigningAlg, kid: &str) -> Result<Self, KeyError> {
        let private = match alg {
            SigningAlg::RS256 => Private::Rsa(
                RsaKeyPair::generate(KeySize::Rsa2048)
                    .map_err(|_| KeyError("RSA key generation failed".into()))?,
            ),
            SigningAlg::ES256 => Private::Ec(
                EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| KeyError("P-256 key generation failed".into()))?,
            ),
        };
        SigningKey::from_private(private, kid)
    }

    fn from_private(private: Private, kid: &str) -> Result<Self, KeyError> {
        let (alg, public_jwk) = match &private {
            Private::Rsa(pair) => {
                let public = pair.public_key();
                let jwk = json!({
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": kid,
                    "n": B64.encode(public.modulus().big_endian_without_leading_zero()),
                    "e": B64.encode(public.exponent().big_endian_without_leading_zero()),
                });
                (SigningAlg::RS256, jwk)
            }
            Private::Ec(pair) => {
                // Uncompressed point: 0x04 || x (32 bytes) || y (32 bytes).
                let point = pair.public_key().as_ref();
                if point.len() != 65 {
                    return Err(KeyError("unexpected P-256 public key length".into()));
                }
                let jwk = json!({
                    "kty": "EC",
                    "use": "sig",
                    "alg": "ES256",
                    "kid": kid,
                    "crv": "P-256",
                    "x": B64.encode(&point[1..33]),
                    "y": B64.encode(&point[33..65]),
                });
                (SigningAlg::ES256, jwk)
            }
        };
        let header = json!({"alg": alg.as_str(), "kid": kid, "typ": "JWT"});
        Ok(SigningKey {
            kid: kid.to_owned(),
            header_b64: B64.encode(header.to_string()),
            private,
            public_jwk,
            rng: SystemRandom::new(),
        })
    }

    /// The public key as PEM (`-----BEGIN PUBLIC KEY-----`, SubjectPublicKeyInfo): what an attacker finds
    /// published and feeds to HS256 in the algorithm-confusion attack (RFC 8725 §2.1).
    pub fn public_pem(&self) -> Result<String, KeyError> {
        let der: Result<PublicKeyX509Der<'static>, _> = match &self.private {
            Private::Rsa(pair) => pair.public_key().as_der(),
            Private::Ec(pair) => pair.public_key().as_der(),
        };
        let der = der.map_err(|_| KeyError("cannot encode the public key".into()))?;
        Ok(pem::encode(&pem::Pem::new(
            "PUBLIC KEY",
            der.as_ref().to_vec(),
        )))
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm this key signs with.
    pub fn alg(&self) -> SigningAlg {
        match self.private {
            Private::Rsa(_) => SigningAlg::RS256,
            Private::Ec(_) => SigningAlg::ES256,
        }
    }

    /// The public JWK.
    pub fn public_jwk(&self) -> &Value {
        &self.public_jwk
    }

    /// The raw signature of `input` (RFC 7515 §5.1 step 5).
    pub fn sign_bytes(&self, input: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.private {
            Private::Rsa(pair) => {
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &self.rng, input, &mut sig)
                    .map_err(|_| KeyError("RSA signing failed".into()))?;
                Ok(sig)
            }
            Private::Ec(pair) => pair
                .sign(&self.rng, input)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError("ECDSA signing failed".into())),
        }
    }

    /// Signs `claims` as a compact JWS with header `{alg, kid, typ: "JWT"}`.
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String, KeyError> {
        self.sign_with_header(&self.header_b64, claims)
    }

    /// Signs `claims` as a compact JWS with the typed header of an RFC 9068 access token.
    pub fn sign_access_token<C: Serialize>(&self, claims: &C) -> Result<String, KeyError> {
        let header = json!({"alg": self.alg().as_str(), "kid": self.kid, "typ": "at+jwt"});
        self.sign_with_header(&B64.encode(header.to_string()), claims)
    }

    /// Signs `claims` under an arbitrary header (base64url of its JSON), for the faults that spoil headers.
    pub fn sign_with_header<C: Serialize>(
        &self,
        header_b64: &str,
        claims: &C,
    ) -> Result<String, KeyError> {
        let payload = serde_json::to_vec(claims).map_err(|e| KeyError(e.to_string()))?;
        let mut out = String::with_capacity(header_b64.len() + payload.len() * 4 / 3 + 360);
        out.push_str(header_b64);
        out.push('.');
        B64.encode_string(&payload, &mut out);
        let signature = self.sign_bytes(out.as_bytes())?;
        out.push('.');
        B64.encode_string(&signature, &mut out);
        Ok(out)
    }

    /// Verifies a compact JWS made by [`SigningKey::sign`] or [`SigningKey::sign_access_token`] with this key
    /// and returns its header `typ` and its claims. Used for this server's own tokens only.
    pub fn verify(&self, jws: &str) -> Option<(Option<String>, Value)> {
        let (signed, sig) = jws.rsplit_once('.')?;
        let (header, payload) = signed.split_once('.')?;
        if payload.contains('.') {
            return None;
        }
        let header: Value = serde_json::from_slice(&B64.decode(header).ok()?).ok()?;
        if header.get("alg")?.as_str()? != self.alg().as_str()
            || header.get("kid")?.as_str()? != self.kid
        {
            return None;
        }
        let sig = B64.decode(sig).ok()?;
        let public = self.public_key_bytes();
        let ok = match self.private {
            Private::Rsa(_) => {
                UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, public)
                    .verify(signed.as_bytes(), &sig)
            }
            Private::Ec(_) => UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, public)
                .verify(signed.as_bytes(), &sig),
        };
        ok.ok()?;
        let typ = header.get("typ").and_then(Value::as_str).map(str::to_owned);
        Some((
            typ,
            serde_json::from_slice(&B64.decode(payload).ok()?).ok()?,
        ))
    }

    fn public_key_bytes(&self) -> &[u8] {
        match &self.private {
            Private::Rsa(pair) => pair.public_key().as_ref(),
            Private::Ec(pair) => pair.public_key().as_ref(),
        }
    }
}

/// The most keys published at once; rotating past it retires the oldest (a store with a bound).
pub const MAX_PUBLISHED_KEYS: usize = 8;

/// The provider's signing keys: the active one signs, every published one is in the JWKS and verifies.
/// Rotation swaps in a new snapshot under a short write lock; signing takes cheap `Arc` clones. A key set
/// made with [`KeySet::generated`] makes its first key on first use (a tenant that never signs never pays
/// for RSA key generation).
#[derive(Debug)]
pub(crate) struct KeySet {
    /// The algorithm every key signs with.
    alg: SigningAlg,
    /// The current keys; `None` until the first use of a generated set.
    keys: RwLock<Option<Arc<Keys>>>,
    /// How many keys were generated, for their kids.
    generated: std::sync::atomic::AtomicU64,
}

/// The keys a provider signs with and publishes at one moment ([`crate::Handle::keys_snapshot`]), to
/// put back later ([`crate::Handle::restore_keys`]).
#[derive(Debug, Clone)]
pub struct KeySnapshot(pub(crate) Arc<Keys>);

/// One snapshot of the published keys.
#[derive(Debug)]
pub(crate) struct Keys {
    /// Signs every new token.
    pub active: Arc<SigningKey>,
    /// Older keys still in the JWKS, newest first.
    pub older: Vec<Arc<SigningKey>>,
}

impl Keys {
    /// Every published key, the active one first.
    pub fn all(&self) -> impl Iterator<Item = &Arc<SigningKey>> {
        std::iter::once(&self.active).chain(&self.older)
    }
}

impl KeySet {
    /// A key set holding one key.
    pub fn new(key: SigningKey) -> KeySet {
        KeySet {
            alg: key.alg(),
            keys: RwLock::new(Some(Arc::new(Keys {
                active: Arc::new(key),
                older: Vec::new(),
            }))),
            generated: Default::default(),
        }
    }

    /// A key set whose first key is generated for `alg` on first use.
    pub fn generated(alg: SigningAlg) -> KeySet {
        KeySet {
            alg,
            keys: RwLock::new(None),
            generated: Default::default(),
        }
    }

    fn fresh_key(&self) -> Result<Arc<SigningKey>, KeyError> {
        let n = self
            .generated
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let kid = format!("gen-{n}-{}", crate::state::random_token(6));
        Ok(Arc::new(SigningKey::generate(self.alg, &kid)?))
    }

    /// The current keys, generating the first one if needed.
    pub fn snapshot(&self) -> Result<Arc<Keys>, KeyError> {
        if let Some(keys) = self.keys.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            return Ok(keys.clone());
        }
        let mut slot = self.keys.write().unwrap_or_else(|p| p.into_inner());
        if let Some(keys) = slot.as_ref() {
            return Ok(keys.clone());
        }
        let keys = Arc::new(Keys {
            active: self.fresh_key()?,
            older: Vec::new(),
        });
        *slot = Some(keys.clone());
        Ok(keys)
    }

    /// Whether the set holds keys yet (a generated set makes its first on first use).
    pub fn is_made(&self) -> bool {
        self.keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// The key that signs now.
    pub fn active(&self) -> Result<Arc<SigningKey>, KeyError> {
        Ok(self.snapshot()?.active.clone())
    }

    /// The algorithm every key of the set signs with.
    pub fn alg(&self) -> SigningAlg {
        self.alg
    }

    /// The kids of the published keys, active first.
    pub fn kids(&self) -> Vec<String> {
        self.snapshot()
            .map(|k| k.all().map(|k| k.kid.clone()).collect())
            .unwrap_or_default()
    }

    /// The JWKS document (RFC 7517 §5): every published key, active first.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = match self.snapshot() {
            Ok(keys) => keys.all().map(|k| k.public_jwk.clone()).collect(),
            Err(e) => {
                tracing::error!("no signing key: {e}");
                Vec::new()
            }
        };
        json!({ "keys": keys })
    }

    /// Publishes a fresh key and signs with it from now on; `retire_old` removes every older key from the
    /// JWKS (tokens they signed stop verifying here too). Returns the new kid.
    pub fn rotate(&self, retire_old: bool) -> Result<String, KeyError> {
        let old = self.snapshot()?;
        let key = self.fresh_key()?;
        let kid = key.kid.clone();
        let mut slot = self.keys.write().unwrap_or_else(|p| p.into_inner());
        // Another rotation may have happened meanwhile: build on what is there now.
        let current = slot.clone().unwrap_or(old);
        let older = if retire_old {
            Vec::new()
        } else {
            let mut older = vec![current.active.clone()];
            older.extend(current.older.iter().cloned());
            older.truncate(MAX_PUBLISHED_KEYS - 1);
            older
        };
        *slot = Some(Arc::new(Keys { active: key, older }));
        Ok(kid)
    }

    /// Puts back keys taken with [`KeySet::snapshot`]: they sign and are published again, and keys rotated
    /// in since are gone (a test that rotated leaves the provider as it found it).
    pub fn restore(&self, keys: Arc<Keys>) {
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Some(keys);
    }

    /// Verifies one of this server's own tokens against the published key its `kid` names.
    pub fn verify(&self, jws: &str) -> Option<(Option<String>, Value)> {
        let header = jws.split_once('.')?.0;
        let header: Value = serde_json::from_slice(&B64.decode(header).ok()?).ok()?;
        let kid = header.get("kid")?.as_str()?;
        let keys = self.snapshot().ok()?;
        let key = keys.all().find(|k| k.kid == kid)?;
        key.verify(jws)
    }
}

/// SHA-256 of `bytes`, from the crypto library that signs, so the embeddable build carries one.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// The left half of SHA-256 of `token`, base64url: `at_hash` / `c_hash` (Core §3.1.3.6).
pub fn half_hash(token: &str) -> String {
    B64.encode(&sha256(token.as_bytes())[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configured_key_is_the_pem_file_or_none_and_an_unreadable_file_names_the_field() {
        let none =
            SigningKey::configured::<crate::StartError>(&Config::default()).expect("no file");
        assert!(none.is_none());
        let dir = std::env::temp_dir().join(format!("mock-idp-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("key.pem");
        std::fs::write(&path, TEST_RSA_PEM).expect("written");
        let config = Config {
            signing_key: Some(path.display().to_string()),
            ..Config::default()
        };
        let key = SigningKey::configured::<crate::StartError>(&config).expect("loads");
        assert_eq!(key.map(|k| k.kid().to_owned()).as_deref(), Some("key-1"));
        let config = Config {
            signing_key: Some(dir.join("absent.pem").display().to_string()),
            ..Config::default()
        };
        let err = SigningKey::configured::<crate::StartError>(&config)
            .expect_err("no such file")
            .to_string();
        assert!(
            err.starts_with("invalid `signing_key`: cannot read "),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rs256_tokens_verify_with_jsonwebtoken_against_the_published_jwk() {
        let key = SigningKey::test_only(SigningAlg::RS256).expect("key");
        let token = key
            .sign(&json!({"sub": "x", "exp": 4_000_000_000u64}))
            .expect("sign");
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(key.public_jwk().clone()).expect("jwk");
        let dk = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("decoding key");
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        v.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Value>(&token, &dk, &v).expect("verifies");
        assert_eq!(data.claims["sub"], "x");
        assert_eq!(data.header.kid.as_deref(), Some("test-rsa-1"));
    }

    #[test]
    fn es256_tokens_verify_with_jsonwebtoken_against_the_published_jwk() {
        let key = SigningKey::test_only(SigningAlg::ES256).expect("key");
        let token = key.sign(&json!({"sub": "y"})).expect("sign");
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(key.public_jwk().clone()).expect("jwk");
        let dk = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("decoding key");
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        v.required_spec_claims.clear();
        jsonwebtoken::decode::<Value>(&token, &dk, &v).expect("verifies");
    }

    #[test]
    fn sha256_is_the_fips_180_test_vector() {
        let hex: String = sha256(b"abc").iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_tampered_token_does_not_verify() {
        let key = SigningKey::test_only(SigningAlg::RS256).expect("key");
        let token = key.sign(&json!({"sub": "x"})).expect("sign");
        assert!(key.verify(&token).is_some());
        let forged = format!(
            "{}.{}.{}",
            token.split('.').next().unwrap_or_default(),
            B64.encode(br#"{"sub":"admin"}"#),
            token.rsplit('.').next().unwrap_or_default()
        );
        assert!(key.verify(&forged).is_none());
    }
}
