Feature: Log in with Apple: Sign in with Apple's departures from OpenID Connect
  Through mock-idp's apple persona: the app authenticates with a client secret it signs itself (an ES256
  JWT), Apple answers by form_post (a POST from another site) whenever name or email is asked, the
  unsigned `user` field carries the name only on a user's first authorization, the email flags come as
  the strings "true" and "false", and a user may hide their email behind a private relay address.

  Background:
    Given the app's unknown-user policy is "auto-create"
    And the app also offers "Apple" through an apple provider

  @APPLE-FORM-POST @APPLE-USER-BLOB @mutant-no-form-post-callback
  Scenario: Sign in with Apple survives the cross-site form_post and keeps the first login's name
    When "alice" logs in with "Apple" through the browser
    Then the backend issues an app token
    And the provider's answer carried the user field
    And the profile shows the name "Alice Adams"
    When "alice" logs in with "Apple" through the browser
    Then the backend issues an app token
    And the provider's answer carried no user field
    And the profile shows the name "Alice Adams"
    And the app database has 1 user in total

  @APPLE-USER-BLOB @mutant-apple-user-blob-trusted
  Scenario: Apple's unsigned user field sets only the display name
    Given "bob" has logged in with "Apple" through the browser
    And the "Apple" provider injects "apple.forged_user" once
    When "alice" logs in with "Apple" through the browser
    Then the backend issues an app token
    And the provider's answer carried a user field naming "bob@example.com"
    And the app database has 2 users in total

  @APPLE-USER-BLOB
  Scenario: Apple sends the user field again after the user revoked the app
    Given "alice" has logged in with "Apple" through the browser
    When "alice" revokes the app at "Apple"
    And "alice" logs in with "Apple" through the browser
    Then the backend issues an app token
    And the provider's answer carried the user field
    And the app database has 1 user in total

  @APPLE-BOOL-STRINGS @mutant-apple-false-string-true
  Scenario: Apple's string "false" is read as false
    Given "alice"'s email is not verified at "Apple"
    When "alice" logs in with "Apple" through the browser
    Then the backend issues an app token
    And the profile shows no email

  @APPLE-BOOL-STRINGS
  Scenario: Apple's string booleans are read correctly, and booleans too
    When "alice" logs in with "Apple" through the browser
    Then the backend issues an app token
    And the profile shows the email "alice@example.com"
    Given the "Apple" provider injects "apple.bool_flags" once
    When "bob" logs in with "Apple" through the browser
    Then the backend issues an app token
    And the profile shows the email "bob@example.com"

  @APPLE-RELAY-EMAIL @mutant-apple-links-by-email
  Scenario: A private relay email neither links nor blocks a login
    Given "bob" hides their email at "Apple"
    And the app has an admin "alice" with "bob"'s "Apple" relay email
    When "bob" logs in with "Apple" through the browser
    Then the backend issues an app token
    And the profile shows role "user"
    And the profile shows "bob"'s "Apple" relay email
    And the app database has 2 users in total

  @APPLE-CLIENT-SECRET @mutant-apple-secret-signed-once
  Scenario: An expired Apple client secret is refused and the app renews it
    Then the "Apple" token endpoint refuses every bad client secret
    When "alice" logs in with "Apple" through the browser
    Then the backend issues an app token
    When the app's clock and the "Apple" provider's clock move forward 200 days
    And "bob" logs in with "Apple" through the browser
    Then the backend issues an app token
