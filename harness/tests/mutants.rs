//! The features catch what they target: the replay, bad-state, unknown-user and id_token scenarios are run against a
//! deliberately weakened reference client (`tests/support/weak.rs`) and must fail there, while passing against the
//! same weakened router with every weakness switched off (so the failure is the weakness's doing).
//!
//! Scenarios declare which weakness they catch with a tag: `@mutant-no-state-check`, `@mutant-code-reuse`,
//! `@mutant-admit-unknown`, `@mutant-exchange-first`, `@mutant-logout-replay` (a back-channel endpoint
//! without single-use `jti`), `@mutant-logout-ends-all` (a logout token ends every user's sessions),
//! `@mutant-logout-sid-ends-all` (so does one that names only a `sid`), `@mutant-github-login-key`,
//! `@mutant-wechat-ignores-unionid` and `@mutant-wechat-openid-unscoped` (the personas' identity keys), `@mutant-no-form-post-callback` (a
//! redirect URI that takes no POST, for an app asking for form_post), `@mutant-logout-alg-unchecked` (a
//! back-channel endpoint that trusts a logout token's own `alg`), `@mutant-logout-event-unchecked` (one
//! that ignores `events`), `@mutant-kid-required` (an id_token without `kid` refused whatever the JWKS
//! holds), `@mutant-jwks-all-or-nothing` (one unparseable JWK spoils the JWKS), `@mutant-scope-openid-only`
//! (a login asking only for `openid`), `@mutant-userinfo-signature-unchecked` (a signed userinfo read
//! without checking its signature), `@mutant-id-token-alg-unpinned` (an id_token checked the way its own
//! `alg` says, HS256 with the client secret, whatever the client registered), and for the ★ rows of
//! section G (id_token checks)
//! `@mutant-no-signature-check`, `@mutant-no-iss-check`, `@mutant-no-aud-check`, `@mutant-no-exp-check`,
//! `@mutant-no-nonce-check`, `@mutant-no-jwks-refetch`, `@mutant-code-injection` (no PKCE and no nonce check),
//! and for RF-ID-TOKEN `@mutant-no-refresh-iss-check`, `@mutant-no-refresh-sub-check` (a refreshed id_token's
//! `iss` or `sub` not held to the login's: caught by the userinfo call made with the refreshed access token),
//! and for the Google persona `@mutant-google-plain-oidc` (Google checked as plain OpenID: its scheme-less
//! issuer and a listed sibling `azp` refused), `@mutant-schemeless-iss-everywhere` (another provider's
//! scheme-less issuer accepted), `@mutant-google-hd-unchecked` (the `hd=` hint trusted, the claim
//! unchecked), `@mutant-google-hd-from-email` (the email's domain for `hd`), `@mutant-google-links-by-email`,
//! `@mutant-google-refresh-required` (a login without a new refresh token refused) and
//! `@mutant-google-forgets-refresh-token` (the kept refresh token overwritten by a login without one);
//! and for Sign in with Apple `@mutant-apple-user-blob-trusted` (identity and email from the unsigned `user`
//! field), `@mutant-apple-false-string-true` (`"false"` read as true) and `@mutant-apple-links-by-email` (a
//! relay address links to the account with that email), `@mutant-apple-secret-signed-once` (one client secret
//! kept for good: refused once it expires);
//! and for section M's Entra rows `@mutant-entra-links-by-email` (an Entra login whose email is an earlier
//! login's links to that account: nOAuth), `@mutant-entra-any-tenant` (no tenant allow-list) and
//! `@mutant-entra-issuer-prefix` (an `iss` taken by prefix, without putting `tid` into the template).
//! Two are caught only by what the provider saw:
//! `@mutant-exchange-first` by the token-request count (that backend still refuses every bad callback with
//! the right error and issues nothing) and `@mutant-no-jwks-refetch` by the JWKS requests (it refuses an
//! unknown `kid` too, but never looks at the JWKS again).

use std::sync::Arc;

use mock_idp_harness::{Report, RunOptions};

mod support;

use support::{ReferenceFactory, weak::Weaknesses};

async fn run_tagged(tag: &str, weaknesses: Weaknesses) -> Report {
    let options = RunOptions {
        tags: vec![tag.to_owned()],
        junit: None,
        cucumber_json: None,
        quiet: true,
        ..RunOptions::new(Arc::new(ReferenceFactory::weakened(weaknesses)))
    };
    match mock_idp_harness::run(options).await {
        Ok(report) => report,
        Err(e) => panic!("cannot run the features: {e}"),
    }
}

async fn weakness_is_caught(tag: &str, weaknesses: Weaknesses, at_least: usize) {
    let control = run_tagged(tag, Weaknesses::default()).await;
    assert!(
        control.scenarios.len() >= at_least,
        "expected at least {at_least} scenarios tagged @{tag}, found {}",
        control.scenarios.len()
    );
    assert!(
        control.success(),
        "@{tag} scenarios must pass against the weakened router with no weakness on: {:?}",
        control
            .scenarios
            .iter()
            .filter(|s| !s.passed())
            .collect::<Vec<_>>()
    );
    let weak = run_tagged(tag, weaknesses).await;
    assert_eq!(weak.scenarios.len(), control.scenarios.len());
    let survivors: Vec<_> = weak.scenarios.iter().filter(|s| s.passed()).collect();
    assert!(
        survivors.is_empty(),
        "these @{tag} scenarios passed against a backend with {weaknesses}: {survivors:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_state_scenarios_fail_when_the_state_check_is_off() {
    let weak = Weaknesses {
        skip_state_check: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-no-state-check", weak, 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_post_scenarios_fail_when_the_redirect_uri_takes_no_post() {
    let weak = Weaknesses {
        no_form_post_callback: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-no-form-post-callback", weak, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_token_alg_scenarios_fail_when_the_alg_is_not_pinned() {
    let weak = Weaknesses {
        id_token_alg_unpinned: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-id-token-alg-unpinned", weak, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_alg_scenarios_fail_when_the_token_alg_is_trusted() {
    let weak = Weaknesses {
        logout_alg_unchecked: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-logout-alg-unchecked", weak, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_issuer_scenarios_fail_when_a_refreshed_id_tokens_iss_is_not_checked() {
    let weak = Weaknesses {
        skip_refresh_iss_check: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-no-refresh-iss-check", weak, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_subject_scenarios_fail_when_a_refreshed_id_tokens_sub_is_not_checked() {
    let weak = Weaknesses {
        skip_refresh_sub_check: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-no-refresh-sub-check", weak, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_replay_scenarios_fail_when_codes_are_retried() {
    let weak = Weaknesses {
        reuse_codes: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-code-reuse", weak, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_user_scenarios_fail_when_unknown_users_are_let_in() {
    let weak = Weaknesses {
        admit_unknown_users: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-admit-unknown", weak, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_callback_scenarios_fail_when_the_code_is_exchanged_before_the_checks() {
    let weak = Weaknesses {
        exchange_before_checks: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-exchange-first", weak, 7).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_signature_scenarios_fail_when_the_signature_is_not_checked() {
    let weak = Weaknesses {
        skip_signature_check: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-no-signature-check", weak, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_issuer_scenarios_fail_when_iss_is_not_checked() {
    let weak = Weaknesses {
        skip_iss_check: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-no-iss-check", weak, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_audience_scenarios_fail_when_aud_is_not_checked() {
    let weak = Weaknesses {
        skip_aud_check: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-no-aud-check", weak, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_scenarios_fail_when_exp_is_not_checked() {
    let weak = Weaknesses {
        skip_exp_check: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-no-exp-check", weak, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_injection_scenario_fails_without_pkce_and_nonce_checks() {
    let weak = Weaknesses {
        no_pkce: true,
        skip_nonce_check: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-code-injection", weak, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unknown_kid_scenario_fails_when_the_jwks_is_never_fetched_again() {
    let weak = Weaknesses {
        never_refetch_jwks: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-no-jwks-refetch", weak, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_nonce_scenarios_fail_when_the_nonce_is_not_checked() {
    let weak = Weaknesses {
        skip_nonce_check: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-no-nonce-check", weak, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_replay_scenarios_fail_when_logout_tokens_can_be_replayed() {
    let weak = Weaknesses {
        accept_replayed_logout_tokens: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-logout-replay", weak, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_user_logout_scenarios_fail_when_a_logout_token_ends_every_session() {
    let weak = Weaknesses {
        logout_ends_every_session: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-logout-ends-all", weak, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sid_logout_scenario_fails_when_a_sid_only_token_ends_every_session() {
    let weak = Weaknesses {
        sid_logout_ends_every_session: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-logout-sid-ends-all", weak, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_github_rename_scenario_fails_when_github_is_keyed_on_login() {
    let weak = Weaknesses {
        github_login_key: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-github-login-key", weak, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_two_wechat_apps_scenario_fails_when_the_unionid_is_ignored() {
    let weak = Weaknesses {
        wechat_ignores_unionid: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-wechat-ignores-unionid", weak, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_openid_scenario_fails_when_openids_are_not_namespaced_per_app() {
    let weak = Weaknesses {
        wechat_openid_unscoped: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-wechat-openid-unscoped", weak, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_channel_event_scenarios_fail_when_the_events_claim_is_unchecked() {
    let weak = Weaknesses {
        logout_event_unchecked: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-logout-event-unchecked", weak, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kid_less_scenarios_fail_when_a_kid_is_required() {
    let weak = Weaknesses {
        kid_required: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-kid-required", weak, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_key_scenarios_fail_when_one_bad_key_spoils_the_jwks() {
    let weak = Weaknesses {
        jwks_all_or_nothing: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-jwks-all-or-nothing", weak, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_scenarios_fail_when_the_login_asks_only_for_openid() {
    let weak = Weaknesses {
        scope_openid_only: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-scope-openid-only", weak, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signed_userinfo_scenario_fails_when_its_signature_is_not_checked() {
    let weak = Weaknesses {
        skip_userinfo_signature_check: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-userinfo-signature-unchecked", weak, 1).await;
}

// google persona
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_scenarios_fail_when_google_is_checked_as_plain_openid() {
    let weak = Weaknesses {
        google_plain_oidc: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-google-plain-oidc", weak, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_providers_issuer_scenario_fails_when_every_issuer_may_lose_its_scheme() {
    let weak = Weaknesses {
        schemeless_iss_everywhere: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-schemeless-iss-everywhere", weak, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hd_scenarios_fail_when_the_hd_claim_is_not_checked() {
    let weak = Weaknesses {
        google_hd_unchecked: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-google-hd-unchecked", weak, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hd_scenarios_fail_when_the_emails_domain_stands_in_for_hd() {
    let weak = Weaknesses {
        google_hd_from_email: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-google-hd-from-email", weak, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_google_sub_scenario_fails_when_google_links_by_email() {
    let weak = Weaknesses {
        google_links_by_email: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-google-links-by-email", weak, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_google_refresh_scenario_fails_when_every_login_needs_a_refresh_token() {
    let weak = Weaknesses {
        google_refresh_required: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-google-refresh-required", weak, 1).await;
}

// apple persona
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forged_user_field_scenario_fails_when_apples_user_field_is_trusted() {
    let weak = Weaknesses {
        apple_user_blob_trusted: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-apple-user-blob-trusted", weak, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_string_false_scenario_fails_when_false_is_read_as_true() {
    let weak = Weaknesses {
        apple_false_string_true: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-apple-false-string-true", weak, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_email_scenario_fails_when_apple_logins_link_by_email() {
    let weak = Weaknesses {
        apple_links_by_email: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-apple-links-by-email", weak, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_secret_scenario_fails_when_the_apple_secret_is_signed_once() {
    let weak = Weaknesses {
        apple_secret_signed_once: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-apple-secret-signed-once", weak, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_google_refresh_scenario_fails_when_a_login_without_one_forgets_the_refresh_token() {
    let weak = Weaknesses {
        google_forgets_refresh_token: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-google-forgets-refresh-token", weak, 1).await;
}

// Entra persona (CONFORMANCE section M).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_noauth_scenario_fails_when_entra_logins_are_linked_by_email() {
    let weak = Weaknesses {
        entra_links_by_email: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-entra-links-by-email", weak, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unlisted_entra_tenant_scenario_fails_without_a_tenant_allow_list() {
    let weak = Weaknesses {
        entra_any_tenant: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-entra-any-tenant", weak, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_issuer_scenarios_fail_when_the_issuer_is_taken_by_prefix() {
    let weak = Weaknesses {
        entra_issuer_prefix: true,
        ..Weaknesses::default()
    };
    weakness_is_caught("mutant-entra-issuer-prefix", weak, 2).await;
}
