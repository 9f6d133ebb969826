Feature: Log in with WeChat or GitHub: providers that are not OpenID Connect
  The same six steps through mock-idp's WeChat and GitHub personas: no id_token, errors reported with
  HTTP 200, and the user known only through the provider's own user API.

  Background:
    Given the app also offers "WeChat" through a wechat provider
    And the app also offers "GitHub" through a github provider

  @NP-IDENTITY-KEY @NP-CODE-RULES
  Scenario Outline: Log in with <provider> creates one user with the provider's name and avatar
    Given the app's unknown-user policy is "auto-create"
    When "alice" logs in with "<provider>" through the browser
    Then the backend issues an app token
    And the profile shows role "user"
    And the profile shows the name "Alice Adams" and the "<provider>" avatar of "alice"
    When "alice" logs in with "<provider>" through the browser
    Then the backend issues an app token
    And the app database has 1 user in total

    Examples:
      | provider |
      | WeChat   |
      | GitHub   |

  @NP-IDENTITY-KEY
  Scenario: The same person from two providers is two identities
    Given the app's unknown-user policy is "auto-create"
    When "alice" logs in with "WeChat" through the browser
    And "alice" logs in with "GitHub" through the browser
    And "alice" logs in through the browser
    Then the backend issues an app token
    And the app database has 3 users in total

  @NP-CODE-RULES @NP-ERROR-200
  Scenario: A WeChat code works once
    Given the app's unknown-user policy is "auto-create"
    And "alice" has logged in with "WeChat" through the browser
    When the browser logs in with "WeChat" again but hands the backend the previous code
    Then the backend refuses with "provider_error"
    And the "WeChat" token endpoint answered "40163" with HTTP 200
    And no app token was issued

  @NP-CODE-RULES @NP-ERROR-200
  Scenario: A GitHub code works once
    Given the app's unknown-user policy is "auto-create"
    And "alice" has logged in with "GitHub" through the browser
    When the browser logs in with "GitHub" again but hands the backend the previous code
    Then the backend refuses with "provider_error"
    And the "GitHub" token endpoint answered "bad_verification_code" with HTTP 200
    And no app token was issued

  @NP-ERROR-200
  Scenario Outline: A 200 answer carrying an error fails the login (<provider>)
    Given the app's unknown-user policy is "auto-create"
    And the "<provider>" provider injects "token.error_200" once
    When "alice" logs in with "<provider>" through the browser
    Then the backend refuses with "provider_error"
    And the "<provider>" token endpoint answered "<error>" with HTTP 200
    And no app token was issued
    And the app database has 0 users in total

    Examples:
      | provider | error                 |
      | WeChat   | 40029                 |
      | GitHub   | bad_verification_code |

  @NP-TOKEN-FORMAT
  Scenario: Form-encoded token answer is understood
    Given the app's unknown-user policy is "auto-create"
    When "bob" logs in with "GitHub" through the browser
    Then the app understood the "GitHub" token answer
    And the profile shows the name "Bob Brown" and the "GitHub" avatar of "bob"

  @NP-NO-EMAIL-LINK
  Scenario: Matching email does not link accounts
    Given the app's unknown-user policy is "auto-create"
    And the app has an admin "alice"
    And the "GitHub" provider has a user "mallory" with email "alice@example.com"
    When "mallory" logs in with "GitHub" through the browser
    Then the backend issues an app token
    And the profile shows role "user"
    And the app database has 2 users in total

  @UM-UNKNOWN-USER
  Scenario Outline: Under "reject" an unknown <provider> user gets no account and no token
    Given the app's unknown-user policy is "reject"
    When "alice" logs in with "<provider>" through the browser
    Then the backend refuses with "unknown_user"
    And no app token was issued
    And the app database has 0 users in total

    Examples:
      | provider |
      | WeChat   |
      | GitHub   |

  @UM-UNKNOWN-USER
  Scenario Outline: Under "require-binding" an unknown <provider> user binds with a phone number
    Given the app's unknown-user policy is "require-binding"
    When "alice" logs in with "<provider>" through the browser
    Then the backend asks for a binding
    And no app token was issued
    When the browser completes the binding with phone "+15555550123"
    Then the backend issues an app token
    And the app database has 1 user in total

    Examples:
      | provider |
      | WeChat   |
      | GitHub   |
