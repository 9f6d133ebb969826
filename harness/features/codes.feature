Feature: Authorization codes are single-use and short-lived
  Straight at the provider's token endpoint, and through the backend.

  @CODE-REPLAY @TK-HAPPY
  Scenario: A replayed code is rejected at the token endpoint
    Given "alice" has signed in to client "web"
    When client "web" redeems the code
    Then the token endpoint returns tokens
    When client "web" redeems the code
    Then the token endpoint refuses with 400 "invalid_grant"

  @CODE-REPLAY @CODE-REPLAY-REVOKE @RS-BEARER @IN-INTROSPECT
  Scenario: A code replayed 30 seconds later revokes the tokens of its first redemption
    Given "alice" has signed in to client "web"
    And client "web" has redeemed the code
    When the provider's clock moves forward 30 seconds
    And client "web" redeems the code
    Then the token endpoint refuses with 400 "invalid_grant"
    And the first access token is refused at userinfo
    And the first access token introspects as inactive

  @CODE-ATOMIC
  Scenario: Many concurrent redemptions of one code succeed exactly once
    Given "alice" has signed in to client "web"
    When client "web" redeems the code 8 times at once
    Then exactly 1 redemption succeeds and the others are refused with "invalid_grant"

  @CODE-EXPIRY
  Scenario: An expired code is rejected
    Given "alice" has signed in to client "web"
    When the provider's clock moves forward 61 seconds
    And client "web" redeems the code
    Then the token endpoint refuses with 400 "invalid_grant"

  @TK-CODE-OTHER-CLIENT @CODE-REVOKE-OWNER
  Scenario: Another client's code is rejected and revokes nothing
    Given the provider has a confidential client "other-app" with secret "other-app-secret"
    And "alice" has signed in to client "web"
    And client "web" has redeemed the code
    When client "other-app" redeems the code
    Then the token endpoint refuses with 400 "invalid_grant"
    And the first access token still works at userinfo

  @CODE-REPLAY @JWT-LAST @mutant-code-reuse
  Scenario: A code replayed through the backend is refused
    Given the app has a user "alice"
    And "alice" has logged in through the browser
    When the browser logs in again but hands the backend the previous code
    Then the backend refuses with "provider_error"
    And no app token was issued

  @CODE-ENTROPY
  Scenario: Codes are unguessable
    When "alice" signs in to client "web" 50 times
    Then the codes are all different and each carries at least 128 bits

  @UM-IDP-FAILURE @JWT-LAST
  Scenario: A code the provider refuses makes the backend fail closed, without a retry
    Given the app has a user "alice"
    And the browser has signed in at the provider as "alice" after opening the app's login
    When the provider's clock moves forward 61 seconds
    And the frontend hands the callback to the backend
    Then the backend refuses with "provider_error"
    And the provider's token endpoint was called 1 time for that callback
    And no app token was issued
