Feature: A client registered for ES256 or HS256 id_tokens gets them, and its backend verifies them so
  A client may register how its id_tokens are signed (`id_token_signed_response_alg`, Dynamic Client
  Registration 1.0 §2): ES256 by the provider's P-256 key, or HS256 MACed with the UTF-8 octets of its own
  client secret (OIDC Core §10.1). The provider signs as each client registered (TK-HS256); the backend
  checks the signature the way it registered and refuses a broken one or one of another algorithm
  (ID-SIG-ES256, ID-SIG-HS256). A backend that cannot be set up for the algorithm is not judged by those
  rows.

  @TK-HS256
  Scenario: An HS256 client gets id_tokens MACed with its secret
    Given the provider has a confidential client "hs-app" with secret "an-hs256-secret-of-32-octets-!!!" and HS256 id_tokens
    And "alice" has signed in to client "hs-app"
    When client "hs-app" redeems the code
    Then the token endpoint returns tokens
    And its id_token is MACed with HS256, keyed by client "hs-app"'s secret
    When the discovery document is fetched
    Then it lists the id_token signing alg "HS256"
    And it lists the id_token signing alg "RS256"

  @TK-HS256
  Scenario: Every other client keeps RS256 beside an HS256 client
    Given the provider has a confidential client "hs-app" with secret "an-hs256-secret-of-32-octets-!!!" and HS256 id_tokens
    And "alice" has signed in to client "web"
    When client "web" redeems the code
    Then the token endpoint returns tokens
    And its id_token is signed with RS256 by a key of the provider's JWKS

  @TK-HS256
  Scenario: An HS256 client with a secret shorter than 32 octets cannot register
    When a client "hs-short" with secret "31-octets-is-one-octet-too-few!" registers for HS256 id_tokens
    Then the registration is refused, naming "client_secret"

  @ID-SIG-ES256
  Scenario: An ES256 provider's valid id_token logs the user in
    Given the app is registered for ES256 id_tokens
    And the app has a user "alice"
    And the browser has signed in at the provider as "alice" after opening the app's login
    When the frontend hands the callback to the backend
    Then the backend issues an app token

  @ID-SIG-ES256 @JWT-LAST
  Scenario: An ES256 provider's forged signature is rejected
    Given the app is registered for ES256 id_tokens
    And the app has a user "alice"
    And the browser has signed in at the provider as "alice" after opening the app's login
    And the provider signs the next id_token with a bad signature
    When the frontend hands the callback to the backend
    Then the backend refuses with "invalid_id_token"
    And the provider's userinfo endpoint was not called for that callback
    And no app token was issued

  @ID-SIG-HS256
  Scenario: An id_token MACed with the app's own secret logs the user in
    Given the app is registered for HS256 id_tokens
    And the app has a user "alice"
    And the browser has signed in at the provider as "alice" after opening the app's login
    When the frontend hands the callback to the backend
    Then the backend issues an app token

  @ID-SIG-HS256 @JWT-LAST @mutant-id-token-alg-unpinned
  Scenario: An RS256 id_token to the app registered for HS256 is rejected
    Given the app is registered for HS256 id_tokens
    And the app has a user "alice"
    And the browser has signed in at the provider as "alice" after opening the app's login
    And the provider injects "id_token.other_alg" once
    When the frontend hands the callback to the backend
    Then the backend refuses with "invalid_id_token"
    And the provider's userinfo endpoint was not called for that callback
    And no app token was issued

  @ID-SIG-HS256 @JWT-LAST
  Scenario Outline: A broken HS256 MAC, or an alg the app did not register, is rejected (<fault>)
    Given the app is registered for HS256 id_tokens
    And the app has a user "alice"
    And the browser has signed in at the provider as "alice" after opening the app's login
    And the provider injects "<fault>" once
    When the frontend hands the callback to the backend
    Then the backend refuses with "invalid_id_token"
    And the provider's userinfo endpoint was not called for that callback
    And no app token was issued

    Examples:
      | fault                     |
      | id_token.bad_signature    |
      | id_token.alg_none         |
      | id_token.hs256_public_key |
