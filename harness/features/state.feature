Feature: The callback's state ties it to one login in one browser
  The backend keeps a single-use login transaction per state, bound to the browser by an HttpOnly cookie.
  Every refusal here must come before the backend calls the token endpoint (the conformance suite counts a
  rejection only when the client makes no further call), and no app token may be issued.

  Background:
    Given the app has a user "alice"
    And the browser has signed in at the provider as "alice" after opening the app's login

  @ST-MISMATCH @JWT-LAST @mutant-no-state-check @mutant-exchange-first
  Scenario: A callback without state is rejected
    When the frontend hands the callback to the backend without its state
    Then the backend refuses with "invalid_state"
    And the provider's token endpoint was not called for that callback
    And no app token was issued

  @ST-MISMATCH @JWT-LAST @mutant-no-state-check @mutant-exchange-first
  Scenario: A callback with a tampered state is rejected
    When the frontend hands the callback to the backend with state "tampered-state-value"
    Then the backend refuses with "invalid_state"
    And the provider's token endpoint was not called for that callback
    And no app token was issued

  @ST-BOUND-TO-UA @JWT-LAST @mutant-no-state-check @mutant-exchange-first
  Scenario: A valid state arriving from another browser is rejected
    When another browser hands the callback to the backend
    Then the backend refuses with "invalid_state"
    And the provider's token endpoint was not called for that callback
    And no app token was issued

  @ST-SINGLE-USE @JWT-LAST @mutant-no-state-check @mutant-exchange-first
  Scenario: A replayed callback is rejected before the code is sent again
    When the frontend hands the callback to the backend
    Then the backend issues an app token
    And the provider's token endpoint was called 1 time for that callback
    When the browser replays the last callback
    Then the backend refuses with "invalid_state"
    And the provider's token endpoint was not called for that callback
    And the provider's token endpoint was called 1 time in total
    And no app token was issued

  @ST-FRESH-EXPIRY @JWT-LAST @mutant-no-state-check @mutant-exchange-first
  Scenario: A callback for an expired login transaction is rejected
    When the app's clock moves forward 11 minutes
    And the frontend hands the callback to the backend
    Then the backend refuses with "invalid_state"
    And the provider's token endpoint was not called for that callback
    And no app token was issued

  @ST-ISS-MIXUP @JWT-LAST @mutant-exchange-first
  Scenario: A callback naming another issuer is rejected
    When the frontend hands the callback to the backend with iss "https://evil.example"
    Then the backend refuses with "issuer_mismatch"
    And the provider's token endpoint was not called for that callback
    And no app token was issued

  @ST-ISS-MIXUP @JWT-LAST @mutant-exchange-first
  Scenario: A callback without iss is rejected when the provider advertises it
    When the frontend hands the callback to the backend without its iss
    Then the backend refuses with "issuer_mismatch"
    And the provider's token endpoint was not called for that callback
    And no app token was issued
