Feature: Provider identities map to app users by issuer and subject, under the unknown-user policy

  Background:
    Given the provider has a user "carol"

  @UM-UNKNOWN-USER @JWT-LAST @mutant-admit-unknown
  Scenario: Under "reject" an unknown user gets no account and no token
    Given the app's unknown-user policy is "reject"
    When "carol" logs in through the browser
    Then the backend refuses with "unknown_user"
    And no app token was issued
    And the app database has 0 users bound to "carol"

  @UM-UNKNOWN-USER @mutant-admit-unknown @default-policy
  Scenario: The default policy is "reject"
    When "carol" logs in through the browser
    Then the backend refuses with "unknown_user"
    And the app database has 0 users in total

  @UM-UNKNOWN-USER
  Scenario: Under "auto-create" an unknown user gets one ordinary account
    Given the app's unknown-user policy is "auto-create"
    When "carol" logs in through the browser
    Then the backend issues an app token
    And the profile shows role "user"
    And the app database has 1 user bound to "carol"
    When "carol" logs in through the browser
    Then the backend issues an app token
    And the app database has 1 user bound to "carol"

  @UM-UNKNOWN-USER
  Scenario: Concurrent first logins under "auto-create" create one account
    Given the app's unknown-user policy is "auto-create"
    When "carol" logs in from 6 browsers at once
    Then the app database has 1 user bound to "carol"
    And the app database has 1 user in total

  @UM-UNKNOWN-USER @JWT-LAST
  Scenario: Under "require-binding" an unknown user binds with a phone number, once
    Given the app's unknown-user policy is "require-binding"
    When "carol" logs in through the browser
    Then the backend asks for a binding
    And no app token was issued
    And the app database has 0 users bound to "carol"
    When the browser completes the binding with phone "+15555550199"
    Then the backend issues an app token
    And the profile shows role "user"
    And the app database has 1 user bound to "carol"
    When the browser completes the binding with phone "+15555550199"
    Then the backend refuses with "invalid_ticket"

  @UM-KEY @UM-EMAIL-LINK @default-policy
  Scenario: A provider user with a known email but another subject is not linked
    Given the provider has a user "alice-twin" with email "alice@example.com"
    And the app has a user "alice" with email "alice@example.com"
    When "alice-twin" logs in through the browser
    Then the backend refuses with "unknown_user"
    And the app database has 0 users bound to "alice-twin"

  @UM-KEY
  Scenario: The same subject at another issuer is another user
    Given the app's unknown-user policy is "reject"
    And the app has a user "alice" at issuer "https://other-idp.example"
    When "alice" logs in through the browser
    Then the backend refuses with "unknown_user"

  @UM-DISABLED @JWT-LAST
  Scenario: A disabled user cannot log in
    Given the app has a disabled user "alice"
    When "alice" logs in through the browser
    Then the backend refuses with "user_disabled"
    And no app token was issued
