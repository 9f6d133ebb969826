//! What a real provider rarely does, played by a wiremock fake: every fault fails closed, issues no JWT, and
//! the token endpoint is called exactly once (`expect(1)`, verified at the end of each test).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::ResponseTemplate;
use wiremock::matchers::{header_exists, method, path};

use crate::helpers::{
    FAKE_KID, FakeProvider, assert_error, browser, fake_callback, rsa_key, sign,
    spawn_app_for_issuer, start_login_at_fake, token_response, unknown_rsa_key,
};
use reference_client::UnknownUserPolicy;

/// Starts a login at a fake provider whose token endpoint answers `respond(nonce, issuer)`, posts the
/// callback, checks the error, then checks the token endpoint was called exactly once.
async fn callback_fails_with(
    respond: impl FnOnce(&FakeProvider, &str) -> ResponseTemplate,
    status: StatusCode,
    code: &str,
) -> FakeProvider {
    let fake = FakeProvider::start().await;
    let (app, b, state, nonce) = start_login_at_fake(&fake, |s| {
        s.unknown_user_policy = UnknownUserPolicy::AutoCreate;
        s.http_timeout = Duration::from_millis(300);
    })
    .await;
    fake.token_endpoint_responds(respond(&fake, &nonce)).await;

    let response = app.post_callback(&b, &fake_callback(&fake, &state)).await;

    assert_error(response, status, code).await;
    // Replaying the callback does not retry the code.
    assert_error(
        app.post_callback(&b, &fake_callback(&fake, &state)).await,
        StatusCode::BAD_REQUEST,
        "invalid_state",
    )
    .await;
    fake.server.verify().await;
    assert_eq!(
        app.user_count(),
        2,
        "no user created on failure (2 are seeded)"
    );
    fake
}

fn id_token_with(fake: &FakeProvider, nonce: &str, change: impl FnOnce(&mut Value)) -> String {
    let mut claims = fake.claims(nonce);
    change(&mut claims);
    sign(&claims, &rsa_key(), Some(FAKE_KID))
}

// PK-VALID, ID-TOKEN-RESP (case-insensitive bearer), CA-ENCODING, ST-SINGLE-USE
#[tokio::test]
async fn a_well_behaved_provider_logs_the_user_in_and_a_replay_never_reaches_it_again() {
    let fake = FakeProvider::start().await;
    let (app, b, state, nonce) = start_login_at_fake(&fake, |s| {
        s.unknown_user_policy = UnknownUserPolicy::AutoCreate
    })
    .await;
    wiremock::Mock::given(method("POST"))
        .and(path("/token"))
        .and(header_exists("authorization"))
        .respond_with(token_response(
            &id_token_with(&fake, &nonce, |_| {}),
            "bearer",
        ))
        .expect(1)
        .mount(&fake.server)
        .await;

    let response = app.post_callback(&b, &fake_callback(&fake, &state)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["user"]["display_name"], "Fake Person");
    assert_error(
        app.post_callback(&b, &fake_callback(&fake, &state)).await,
        StatusCode::BAD_REQUEST,
        "invalid_state",
    )
    .await;

    fake.server.verify().await;
    let requests = fake.server.received_requests().await.expect("recording on");
    let token_request = requests
        .iter()
        .find(|r| r.url.path() == "/token")
        .expect("one token request");
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&token_request.body)
            .into_owned()
            .collect();
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["code"], "fake-code");
    assert_eq!(form["redirect_uri"], format!("{}/callback", app.address));
    assert!(
        form["code_verifier"].len() >= 43,
        "PKCE verifier carries at least 256 bits"
    );
    assert!(
        !form.contains_key("client_secret"),
        "client_secret_basic, not post"
    );
    let basic = token_request.headers["authorization"]
        .to_str()
        .expect("ascii");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic.trim_start_matches("Basic "))
        .expect("base64");
    assert_eq!(
        String::from_utf8(decoded).expect("utf8"),
        "rc-test:rc%3Atest%2Bsecret%25"
    );
}

// UM-IDP-FAILURE
#[tokio::test]
async fn a_token_endpoint_500_fails_closed() {
    callback_fails_with(
        |_, _| ResponseTemplate::new(500).set_body_string("boom"),
        StatusCode::BAD_GATEWAY,
        "provider_error",
    )
    .await;
}

// UM-IDP-FAILURE
#[tokio::test]
async fn a_token_endpoint_error_json_fails_closed() {
    callback_fails_with(
        |_, _| ResponseTemplate::new(400).set_body_json(json!({ "error": "invalid_grant" })),
        StatusCode::BAD_GATEWAY,
        "provider_error",
    )
    .await;
}

// UM-IDP-FAILURE
#[tokio::test]
async fn a_token_endpoint_slower_than_the_timeout_fails_closed() {
    callback_fails_with(
        |fake, nonce| {
            token_response(&id_token_with(fake, nonce, |_| {}), "Bearer")
                .set_delay(Duration::from_secs(2))
        },
        StatusCode::BAD_GATEWAY,
        "provider_error",
    )
    .await;
}

// UM-IDP-FAILURE
#[tokio::test]
async fn a_malformed_token_response_fails_closed() {
    callback_fails_with(
        |_, _| {
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .set_body_string("{\"access_token\": ")
        },
        StatusCode::BAD_GATEWAY,
        "provider_error",
    )
    .await;
}

// ID-TOKEN-RESP
#[tokio::test]
async fn a_token_type_other_than_bearer_fails_closed() {
    callback_fails_with(
        |fake, nonce| token_response(&id_token_with(fake, nonce, |_| {}), "mac"),
        StatusCode::BAD_GATEWAY,
        "provider_error",
    )
    .await;
}

// ID-TOKEN-RESP
#[tokio::test]
async fn a_token_response_without_id_token_fails_closed() {
    callback_fails_with(
        |_, _| {
            ResponseTemplate::new(200)
                .set_body_json(json!({ "access_token": "a", "token_type": "Bearer" }))
        },
        StatusCode::BAD_GATEWAY,
        "provider_error",
    )
    .await;
}

// ID-KID: an unknown kid triggers exactly one JWKS re-fetch, then rejection.
#[tokio::test]
async fn an_id_token_signed_by_an_unknown_key_is_rejected_after_one_jwks_refetch() {
    let fake = callback_fails_with(
        |fake, nonce| {
            token_response(
                &sign(&fake.claims(nonce), &unknown_rsa_key(), Some("test-rsa-2")),
                "Bearer",
            )
        },
        StatusCode::UNAUTHORIZED,
        "invalid_id_token",
    )
    .await;
    let jwks_fetches = fake
        .server
        .received_requests()
        .await
        .expect("recording on")
        .iter()
        .filter(|r| r.url.path() == "/jwks")
        .count();
    assert_eq!(jwks_fetches, 2, "one fetch plus exactly one re-fetch");
}

// ID-SIG: a known kid but the wrong key.
#[tokio::test]
async fn an_id_token_with_a_bad_signature_is_rejected() {
    callback_fails_with(
        |fake, nonce| {
            token_response(
                &sign(&fake.claims(nonce), &unknown_rsa_key(), Some(FAKE_KID)),
                "Bearer",
            )
        },
        StatusCode::UNAUTHORIZED,
        "invalid_id_token",
    )
    .await;
}

// ID-SIG (alg none)
#[tokio::test]
async fn an_unsigned_alg_none_id_token_is_rejected() {
    callback_fails_with(
        |fake, nonce| {
            let header =
                URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "kid": FAKE_KID }).to_string());
            let body = URL_SAFE_NO_PAD.encode(fake.claims(nonce).to_string());
            token_response(&format!("{header}.{body}."), "Bearer")
        },
        StatusCode::UNAUTHORIZED,
        "invalid_id_token",
    )
    .await;
}

// ID-SIG (alg confusion): HS256 keyed with the provider's published key, in every form a confused
// verifier might use as the HMAC secret (RFC 8725 §2.1): the SPKI PEM and DER built from the JWKS's
// n and e, and the JWK as published.
#[tokio::test]
async fn an_hs256_id_token_keyed_with_the_published_key_is_rejected() {
    use aws_lc_rs::encoding::AsDer;
    let jwk = crate::helpers::published_jwk(&rsa_key(), Some(FAKE_KID));
    let jsonwebtoken::jwk::AlgorithmParameters::RSA(rsa) = &jwk.algorithm else {
        panic!("an RSA JWK");
    };
    let n = URL_SAFE_NO_PAD.decode(&rsa.n).expect("n");
    let e = URL_SAFE_NO_PAD.decode(&rsa.e).expect("e");
    let spki = aws_lc_rs::rsa::PublicKeyComponents { n, e }
        .as_der()
        .expect("SPKI DER")
        .as_ref()
        .to_vec();
    let pem = pem::encode(&pem::Pem::new("PUBLIC KEY", spki.clone())).into_bytes();
    let published = serde_json::to_vec(&jwk).expect("jwk json");
    for secret in [pem, spki, published] {
        callback_fails_with(
            |fake, nonce| {
                let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
                header.kid = Some(FAKE_KID.into());
                let token = jsonwebtoken::encode(
                    &header,
                    &fake.claims(nonce),
                    &jsonwebtoken::EncodingKey::from_secret(&secret),
                )
                .expect("sign");
                token_response(&token, "Bearer")
            },
            StatusCode::UNAUTHORIZED,
            "invalid_id_token",
        )
        .await;
    }
}

// ID-IAT-SUB, ID-EXP, ID-ISS, ID-AUD, ID-NONCE: each required claim, removed in turn, fails the login.
#[tokio::test]
async fn an_id_token_missing_any_required_claim_is_rejected() {
    for claim in ["iat", "exp", "iss", "aud", "nonce", "sub"] {
        callback_fails_with(
            |fake, nonce| {
                token_response(
                    &id_token_with(fake, nonce, |c| {
                        c.as_object_mut().expect("object").remove(claim);
                    }),
                    "Bearer",
                )
            },
            StatusCode::UNAUTHORIZED,
            "invalid_id_token",
        )
        .await;
    }
}

// ID-IAT-SUB: issued in the future beyond the allowed skew (120 s).
#[tokio::test]
async fn an_id_token_issued_in_the_future_is_rejected() {
    callback_fails_with(
        |fake, nonce| {
            token_response(
                &id_token_with(fake, nonce, |c| {
                    let now = c["iat"].as_u64().expect("iat");
                    c["iat"] = json!(now + 600);
                    c["exp"] = json!(now + 900);
                }),
                "Bearer",
            )
        },
        StatusCode::UNAUTHORIZED,
        "invalid_id_token",
    )
    .await;
}

// ID-AUD: azp, when present, must be our client_id (Core §3.1.3.7 #5).
#[tokio::test]
async fn an_id_token_authorized_for_another_party_is_rejected() {
    callback_fails_with(
        |fake, nonce| {
            token_response(
                &id_token_with(fake, nonce, |c| c["azp"] = json!("someone-else")),
                "Bearer",
            )
        },
        StatusCode::UNAUTHORIZED,
        "invalid_id_token",
    )
    .await;
}

// ID-KID: without a kid, a key is chosen only when exactly one is usable; with several it is refused.
#[tokio::test]
async fn an_id_token_without_kid_is_rejected_when_several_keys_are_published() {
    let fake = FakeProvider::start_with_keys(vec![
        crate::helpers::published_jwk(&rsa_key(), None),
        crate::helpers::published_jwk(&unknown_rsa_key(), None),
    ])
    .await;
    let (app, b, state, nonce) = start_login_at_fake(&fake, |s| {
        s.unknown_user_policy = UnknownUserPolicy::AutoCreate
    })
    .await;
    fake.token_endpoint_responds(token_response(
        &sign(&fake.claims(&nonce), &rsa_key(), None),
        "Bearer",
    ))
    .await;

    let response = app.post_callback(&b, &fake_callback(&fake, &state)).await;

    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_id_token").await;
    fake.server.verify().await;
    assert_eq!(app.user_count(), 2);
}

// ID-AUD
#[tokio::test]
async fn an_id_token_for_another_audience_is_rejected() {
    callback_fails_with(
        |fake, nonce| {
            token_response(
                &id_token_with(fake, nonce, |c| c["aud"] = json!("someone-else")),
                "Bearer",
            )
        },
        StatusCode::UNAUTHORIZED,
        "invalid_id_token",
    )
    .await;
}

// ID-AUD (untrusted extra audience)
#[tokio::test]
async fn an_id_token_with_an_extra_untrusted_audience_is_rejected() {
    callback_fails_with(
        |fake, nonce| {
            token_response(
                &id_token_with(fake, nonce, |c| {
                    c["aud"] = json!([crate::helpers::CLIENT_ID, "someone-else"])
                }),
                "Bearer",
            )
        },
        StatusCode::UNAUTHORIZED,
        "invalid_id_token",
    )
    .await;
}

// ID-NONCE
#[tokio::test]
async fn an_id_token_with_the_wrong_nonce_is_rejected() {
    callback_fails_with(
        |fake, nonce| {
            token_response(
                &id_token_with(fake, nonce, |c| c["nonce"] = json!("another-nonce")),
                "Bearer",
            )
        },
        StatusCode::UNAUTHORIZED,
        "invalid_id_token",
    )
    .await;
}

// ID-ISS
#[tokio::test]
async fn an_id_token_from_the_wrong_issuer_is_rejected() {
    callback_fails_with(
        |fake, nonce| {
            let iss = format!("{}/", fake.issuer());
            token_response(
                &id_token_with(fake, nonce, |c| c["iss"] = json!(iss)),
                "Bearer",
            )
        },
        StatusCode::UNAUTHORIZED,
        "invalid_id_token",
    )
    .await;
}

// ID-EXP
#[tokio::test]
async fn an_id_token_expired_beyond_the_skew_is_rejected() {
    callback_fails_with(
        |fake, nonce| {
            token_response(
                &id_token_with(fake, nonce, |c| {
                    let now = c["iat"].as_u64().expect("iat");
                    c["iat"] = json!(now - 3600);
                    c["exp"] = json!(now - 600);
                }),
                "Bearer",
            )
        },
        StatusCode::UNAUTHORIZED,
        "invalid_id_token",
    )
    .await;
}

// ID-IAT-SUB
#[tokio::test]
async fn an_id_token_without_sub_is_rejected() {
    callback_fails_with(
        |fake, nonce| {
            token_response(
                &id_token_with(fake, nonce, |c| {
                    c.as_object_mut().expect("object").remove("sub");
                }),
                "Bearer",
            )
        },
        StatusCode::UNAUTHORIZED,
        "invalid_id_token",
    )
    .await;
}

// ID-DISCOVERY-ISS
#[tokio::test]
async fn a_discovery_document_naming_another_issuer_is_refused() {
    let server = wiremock::MockServer::start().await;
    FakeProvider::mount_discovery(&server, &format!("{}/", server.uri())).await;
    let app = spawn_app_for_issuer(&server.uri(), |_| {});

    assert_error(
        app.get_login_url(&browser()).await,
        StatusCode::BAD_REQUEST,
        "issuer_mismatch",
    )
    .await;
}

// ID-KID: one key in the JWKS and no kid in the header is accepted.
#[tokio::test]
async fn an_id_token_without_kid_is_verified_with_the_single_published_key() {
    let fake = FakeProvider::start().await;
    let (app, b, state, nonce) = start_login_at_fake(&fake, |s| {
        s.unknown_user_policy = UnknownUserPolicy::AutoCreate
    })
    .await;
    fake.token_endpoint_responds(token_response(
        &sign(&fake.claims(&nonce), &rsa_key(), None),
        "Bearer",
    ))
    .await;

    let response = app.post_callback(&b, &fake_callback(&fake, &state)).await;

    assert_eq!(response.status(), StatusCode::OK);
    fake.server.verify().await;
}

// ID-KID: keys come from jwks_uri only; a `jwk` header carrying the attacker's own key is ignored.
#[tokio::test]
async fn an_id_token_bringing_its_own_key_in_the_header_is_rejected() {
    callback_fails_with(
        |fake, nonce| {
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
            header.jwk = Some(
                jsonwebtoken::jwk::Jwk::from_encoding_key(
                    &unknown_rsa_key(),
                    jsonwebtoken::Algorithm::RS256,
                )
                .expect("jwk"),
            );
            header.jku = Some(format!("{}/attacker-jwks", fake.issuer()));
            let token = jsonwebtoken::encode(&header, &fake.claims(nonce), &unknown_rsa_key())
                .expect("sign");
            token_response(&token, "Bearer")
        },
        StatusCode::UNAUTHORIZED,
        "invalid_id_token",
    )
    .await;
}

/// RS-USERINFO-JWT: a login at a fake provider that keeps `name` out of the id_token and answers userinfo
/// with `body` as `content_type`, for an app registered for signed RS256 userinfo; the display name the new
/// user gets ("New user" when the userinfo was discarded).
async fn name_from_signed_userinfo(
    body: impl FnOnce(&str) -> String,
    content_type: &str,
) -> String {
    let server = wiremock::MockServer::start().await;
    let base = server.uri();
    wiremock::Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": format!("{base}/token"),
            "userinfo_endpoint": format!("{base}/userinfo"),
            "jwks_uri": format!("{base}/jwks"),
            "id_token_signing_alg_values_supported": ["RS256"],
            "userinfo_signing_alg_values_supported": ["RS256"],
        })))
        .mount(&server)
        .await;
    wiremock::Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "keys": [crate::helpers::published_jwk(&rsa_key(), Some(FAKE_KID))]
        })))
        .mount(&server)
        .await;
    wiremock::Mock::given(method("GET"))
        .and(path("/userinfo"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(body(&base).into_bytes(), content_type),
        )
        .mount(&server)
        .await;
    let fake = FakeProvider { server };
    let (app, b, state, nonce) = start_login_at_fake(&fake, |s| {
        s.unknown_user_policy = UnknownUserPolicy::AutoCreate;
        s.userinfo_signed_response_alg = Some(jsonwebtoken::Algorithm::RS256);
    })
    .await;
    let id_token = id_token_with(&fake, &nonce, |c| {
        c.as_object_mut().map(|o| o.remove("name"));
    });
    fake.token_endpoint_responds(token_response(&id_token, "Bearer"))
        .await;
    let response = app.post_callback(&b, &fake_callback(&fake, &state)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    body["user"]["display_name"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn userinfo_claims(issuer: &str, change: impl FnOnce(&mut Value)) -> Value {
    let mut claims = json!({
        "iss": issuer,
        "aud": crate::helpers::CLIENT_ID,
        "sub": "fake-subject-1",
        "name": "Signed Name",
    });
    change(&mut claims);
    claims
}

#[tokio::test]
async fn a_signed_userinfo_is_used_only_with_its_signature_iss_aud_and_content_type() {
    let good = |iss: &str| sign(&userinfo_claims(iss, |_| {}), &rsa_key(), Some(FAKE_KID));
    assert_eq!(
        name_from_signed_userinfo(good, "application/jwt").await,
        "Signed Name",
        "positive control"
    );
    let other_aud = |iss: &str| {
        let claims = userinfo_claims(iss, |c| c["aud"] = json!("another-client"));
        sign(&claims, &rsa_key(), Some(FAKE_KID))
    };
    assert_eq!(
        name_from_signed_userinfo(other_aud, "application/jwt").await,
        "New user"
    );
    let other_iss = |iss: &str| {
        let claims = userinfo_claims(iss, |c| c["iss"] = json!(format!("{iss}/other")));
        sign(&claims, &rsa_key(), Some(FAKE_KID))
    };
    assert_eq!(
        name_from_signed_userinfo(other_iss, "application/jwt").await,
        "New user"
    );
    let other_key = |iss: &str| {
        sign(
            &userinfo_claims(iss, |_| {}),
            &unknown_rsa_key(),
            Some(FAKE_KID),
        )
    };
    assert_eq!(
        name_from_signed_userinfo(other_key, "application/jwt").await,
        "New user"
    );
    let as_json = |iss: &str| userinfo_claims(iss, |_| {}).to_string();
    assert_eq!(
        name_from_signed_userinfo(as_json, "application/json").await,
        "New user",
        "a JSON userinfo where a signed one was registered"
    );
}
