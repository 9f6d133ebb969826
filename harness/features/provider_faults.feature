Feature: The backend fails closed when the provider misbehaves
  The provider answers the token endpoint with an error, late, malformed, or not at all; sends the browser
  back from another issuer or with another state; or serves a discovery document or JWKS that cannot be
  trusted. The backend must refuse the login, issue nothing, and never retry the code.

  Background:
    Given the app has a user "alice"

  @UM-IDP-FAILURE @JWT-LAST
  Scenario Outline: IdP failure fails closed (<fault>)
    Given the browser has signed in at the provider as "alice" after opening the app's login
    And the provider injects "<fault>" once
    When the frontend hands the callback to the backend
    Then the backend refuses with "provider_error"
    And the provider's token endpoint was called 1 time for that callback
    And no app token was issued

    Examples:
      | fault                      |
      | token.status=500           |
      | token.status=502:html      |
      | token.status=503           |
      | token.rate_limited         |
      | token.malformed_json       |
      | token.close_connection     |
      | token.invalid_grant        |
      | token.delay=beyond-timeout |

  @UM-IDP-FAILURE
  Scenario: A token endpoint slower than usual but within the backend's own timeout still logs in
    Given the browser has signed in at the provider as "alice" after opening the app's login
    And the provider injects "token.delay=within-timeout" once
    When the frontend hands the callback to the backend
    Then the backend issues an app token
    And the provider's token endpoint was called 1 time for that callback

  @UM-IDP-FAILURE
  Scenario: The named step for a token endpoint error, then a fresh login succeeds
    Given the browser has signed in at the provider as "alice" after opening the app's login
    And the provider's token endpoint answers 503 once
    When the frontend hands the callback to the backend
    Then the backend refuses with "provider_error"
    When "alice" logs in through the browser
    Then the backend issues an app token
    And the provider saw the code redeemed once

  @UM-IDP-FAILURE @JWT-LAST @fresh-backend
  Scenario Outline: An unusable JWKS fails the login closed (<fault>)
    Given the browser has signed in at the provider as "alice" after opening the app's login
    And the provider injects "<fault>" until cleared
    When the frontend hands the callback to the backend
    Then the backend refuses with "<error>"
    And the provider's userinfo endpoint was not called for that callback
    And no app token was issued

    Examples:
      | fault            | error            |
      | jwks.unavailable | provider_error   |
      | jwks.empty       | invalid_id_token |

  @ID-DISCOVERY-ISS @JWT-LAST @fresh-backend
  Scenario: Discovery issuer mismatch is refused
    Given the provider injects "discovery.wrong_issuer" until cleared
    When the browser tries to open the app's login
    Then the backend refuses with "issuer_mismatch"
    And no app token was issued

  @ID-JWKS-URI-MOVED @fresh-backend
  Scenario: A moved jwks_uri is found through discovery
    Given the provider injects "jwks.moved" until cleared
    When "alice" logs in through the browser
    Then the provider saw the backend fetch its discovery document
    And the backend issues an app token
    And the provider saw the JWKS fetched at its moved path

  @UM-IDP-FAILURE @JWT-LAST @fresh-backend
  Scenario: An unavailable discovery document stops the login before the provider
    Given the provider injects "discovery.unavailable" until cleared
    When the browser tries to open the app's login
    Then the backend refuses with "provider_error"
    And no app token was issued

  @ST-ISS-MIXUP @JWT-LAST @mutant-exchange-first
  Scenario Outline: Response from wrong issuer is rejected (<fault>)
    Given the provider injects "<fault>" once
    And the browser has signed in at the provider as "alice" after opening the app's login
    When the frontend hands the callback to the backend
    Then the backend refuses with "issuer_mismatch"
    And the provider's token endpoint was not called for that callback
    And no app token was issued

    Examples:
      | fault                 |
      | authorize.wrong_iss   |
      | authorize.missing_iss |

  @ST-MISMATCH @JWT-LAST @mutant-no-state-check @mutant-exchange-first
  Scenario: A redirect back with another state is rejected
    Given the provider injects "authorize.wrong_state" once
    And the browser has signed in at the provider as "alice" after opening the app's login
    When the frontend hands the callback to the backend
    Then the backend refuses with "invalid_state"
    And the provider's token endpoint was not called for that callback
    And no app token was issued

  @ST-ERROR-CALLBACK @JWT-LAST
  Scenario Outline: IdP error response is handled (<code>)
    Given the provider injects "authorize.error=<code>" once
    And the browser has signed in at the provider as "alice" after opening the app's login
    When the frontend hands the callback to the backend
    Then the backend refuses with "<error>"
    And the provider's token endpoint was not called for that callback
    And no app token was issued

    Examples:
      | code                    | error          |
      | access_denied           | access_denied  |
      | login_required          | provider_error |
      | server_error            | provider_error |
      | temporarily_unavailable | provider_error |

  @PK-VALID @ST-FRESH-EXPIRY @ST-REQUEST-SHAPE @CODE-REPLAY
  Scenario: A correct login leaves the provider a clean verdict
    When "alice" logs in through the browser
    Then the backend issues an app token
    And the provider saw the code redeemed once
    And the provider's verdict item "pkce_s256" is "pass"
    And the provider's verdict item "state" is "pass"
    And the provider's verdict item "nonce" is "pass"
    And the provider's verdict item "redirect_uri_repeated" is "pass"
    And the provider's verdict item "client_auth_method" is "pass"
    And the provider's verdict on the client is clean
