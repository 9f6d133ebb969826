Feature: A form_post response logs in and keeps the state check
  With response_mode=form_post the provider's page POSTs the authorization response to the redirect URI
  (OAuth 2.0 Form Post Response Mode §2). That POST comes from another site, so the login's transaction must
  survive it: a transaction cookie that is SameSite=None; Secure, or a same-origin page that re-posts the
  response or hands it to the API, so that a SameSite=Lax cookie goes along. The harness's browser applies
  SameSite and takes the provider for another site. Every check of a query callback holds as well.
  For a backend that asks for query responses these scenarios do not apply.

  Background:
    Given the app asks for authorization responses by form_post
    And the app has a user "alice"

  @ST-FORM-POST @AZ-FORM-POST @mutant-no-form-post-callback
  Scenario: A form_post response logs the user in
    When the browser opens the app's login
    And the user signs in at the provider as "alice"
    Then the provider posts the response to the app with a code, the same state and its issuer
    When the frontend hands the callback to the backend
    Then the backend issues an app token
    And the provider's token endpoint was called 1 time for that callback

  @ST-MISMATCH @ST-FORM-POST @JWT-LAST @mutant-no-state-check @mutant-exchange-first
  Scenario: A form_post response with a tampered state is rejected
    Given the browser has signed in at the provider as "alice" after opening the app's login
    When the frontend hands the callback to the backend with state "tampered-state-value"
    Then the backend refuses with "invalid_state"
    And the provider's token endpoint was not called for that callback
    And no app token was issued

  @ST-BOUND-TO-UA @ST-FORM-POST @JWT-LAST @mutant-no-state-check @mutant-exchange-first
  Scenario: A form_post response posted in another browser is rejected
    Given the browser has signed in at the provider as "alice" after opening the app's login
    When another browser hands the callback to the backend
    Then the backend refuses with "invalid_state"
    And the provider's token endpoint was not called for that callback
    And no app token was issued

  @ST-SINGLE-USE @ST-FORM-POST @JWT-LAST @mutant-no-state-check @mutant-exchange-first
  Scenario: A form_post response posted twice is rejected the second time
    Given the browser has signed in at the provider as "alice" after opening the app's login
    When the frontend hands the callback to the backend
    Then the backend issues an app token
    When the browser replays the last callback
    Then the backend refuses with "invalid_state"
    And the provider's token endpoint was not called for that callback
    And no app token was issued

  @ST-ISS-MIXUP @ST-FORM-POST @JWT-LAST @mutant-exchange-first
  Scenario: A form_post response naming another issuer is rejected
    Given the browser has signed in at the provider as "alice" after opening the app's login
    When the frontend hands the callback to the backend with iss "https://evil.example"
    Then the backend refuses with "issuer_mismatch"
    And the provider's token endpoint was not called for that callback
    And no app token was issued

  @ST-ERROR-CALLBACK @ST-FORM-POST @JWT-LAST
  Scenario: A denial posted by form_post gets an error and no token request
    When the browser opens the app's login
    And the user denies the request at the provider
    Then the provider sends the browser back to the app with error "access_denied" and the same state
    When the frontend hands the callback to the backend
    Then the backend refuses with "access_denied"
    And the provider's token endpoint was not called for that callback
    And no app token was issued
