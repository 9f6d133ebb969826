Feature: Google's departures from OpenID Connect are handled as Google documents them
  Through mock-idp's Google persona (docs/CONFORMANCE.md section M): Google's id_tokens may name the issuer
  without its scheme, and only for Google is that the same issuer; a Workspace domain is admitted by the
  id_token's `hd` claim alone, never by the `hd=` hint the user can strip or by the email's domain; another
  client of the app's Google project may be the `azp` only when the app lists it; the account is Google's
  `sub`; and a refresh token comes only with the first consent.

  Background:
    Given the app also offers "Google" through a google provider
    And the app's unknown-user policy is "auto-create"
    And "alice" is a Workspace user of "example.com" at "Google"

  @GOOGLE-ISS @mutant-google-plain-oidc
  Scenario: Google's scheme-less issuer is accepted for Google only
    Given the "Google" provider injects "id_token.iss_without_scheme" once for "alice"
    When "alice" logs in with "Google" through the browser
    Then the backend issues an app token
    When "alice" logs in with "Google" through the browser
    Then the backend issues an app token
    And the app database has 1 user in total

  @GOOGLE-ISS @ID-ISS @mutant-schemeless-iss-everywhere
  Scenario: Another provider's issuer without its scheme is refused
    Given the app has a user "bob"
    And the browser has signed in at the provider as "bob" after opening the app's login
    And the provider injects "id_token.iss_without_scheme" once
    When the frontend hands the callback to the backend
    Then the backend refuses with "invalid_id_token"
    And no app token was issued

  @GOOGLE-HD
  Scenario: Only the hd claim admits a Workspace domain
    Given the app admits only the Workspace domain "example.com" at "Google"
    When "alice" logs in with "Google" through the browser
    Then the backend issues an app token

  @GOOGLE-HD @mutant-google-hd-unchecked @mutant-google-hd-from-email
  Scenario: A consumer account with an address at the Workspace domain is refused
    Given the app admits only the Workspace domain "example.com" at "Google"
    And "bob" is a consumer account at "Google" with the email "bob@example.com"
    When "bob" logs in with "Google" through the browser
    Then the backend refuses with "invalid_id_token"
    And no app token was issued

  @GOOGLE-HD @mutant-google-hd-unchecked @mutant-google-hd-from-email
  Scenario: A Workspace user who strips the hd hint and returns with a consumer token is refused
    Given the app admits only the Workspace domain "example.com" at "Google"
    And the "Google" provider injects "google.hd_stripped" once for "alice"
    When "alice" logs in with "Google" through the browser
    Then the backend refuses with "invalid_id_token"
    And no app token was issued

  @GOOGLE-AZP @mutant-google-plain-oidc
  Scenario: azp of a listed client is accepted
    Given the app accepts "Google" id_tokens of its project's client "conformance-android"
    And the "Google" provider injects "google.azp_sibling" once for "alice"
    When "alice" logs in with "Google" through the browser
    Then the backend issues an app token

  @GOOGLE-AZP
  Scenario: azp of any other client is refused
    Given the app accepts "Google" id_tokens of its project's client "conformance-android"
    And the "Google" provider injects "google.azp_foreign" once for "alice"
    When "alice" logs in with "Google" through the browser
    Then the backend refuses with "invalid_id_token"
    And no app token was issued

  @GOOGLE-SUB-KEY @mutant-google-links-by-email
  Scenario: A Google email under another sub is another identity
    Given the "Google" provider has a user "alice-again" with email "alice@example.com"
    And "alice-again" is a Workspace user of "example.com" at "Google"
    And "alice" has logged in with "Google" through the browser
    When "alice-again" logs in with "Google" through the browser
    Then the backend issues an app token
    And the app database has 2 users in total

  @GOOGLE-REFRESH @mutant-google-refresh-required
  Scenario: A Google login without a new refresh token still works
    Given the app keeps "Google" refresh tokens
    And "alice" has logged in with "Google" through the browser
    When "alice" logs in with "Google" through the browser
    Then the app's last "Google" login asked for offline access without forcing consent
    And the backend issues an app token

  @GOOGLE-REFRESH @mutant-google-forgets-refresh-token
  Scenario: The refresh token of the first consent still refreshes after a login without one
    Given the app keeps "Google" refresh tokens
    And the backend uses the provider's tokens again after the login
    And "alice" has logged in with "Google" through the browser
    And the "Google" provider's access tokens for the backend live 60 seconds
    And "alice" has logged in with "Google" through the browser
    When the "Google" provider's clock, and the app's if it has a clock hook, move past the access token's life
    And the browser asks the backend for the provider profile
    Then the "Google" provider saw the backend refresh its tokens
    And the backend's answer carries "alice"'s userinfo
