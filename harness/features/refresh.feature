Feature: Refresh tokens: the provider's rules, and a backend that refreshes
  Straight at the provider's token endpoint: each refresh answers a new refresh token and spends the one
  presented; a spent one presented again is refused and revokes every token of its grant (RFC 6749 §6,
  RFC 9700 §4.14.2); another client's, an unknown, an expired or a revoked refresh token is refused.
  Then a backend that uses the provider's tokens after the login: once its access token has expired it
  redeems its refresh token and uses the new access token at userinfo, but only after the refreshed id_token
  named the login's issuer and subject (OIDC Core §12.1–12.2).

  @RF-ROTATION
  Scenario Outline: A spent refresh token is refused and its replay revokes the family (<client>)
    Given "alice" has signed in to client "<client>" with PKCE
    And client "<client>" has redeemed the code
    When client "<client>" refreshes with the first refresh token
    Then the refresh returns a new access token and another refresh token
    And the refreshed access token works at userinfo
    When client "<client>" refreshes with the first refresh token
    Then the token endpoint refuses with 400 "invalid_grant"
    And the refreshed access token is refused at userinfo
    And the first access token is refused at userinfo
    When client "<client>" refreshes with the refreshed refresh token
    Then the token endpoint refuses with 400 "invalid_grant"

    Examples:
      | client |
      | spa    |
      | web    |

  @RF-HAPPY
  Scenario: A refresh token issued to the client gets a new access token that works at userinfo
    Given "alice" has signed in to client "web"
    And client "web" has redeemed the code
    When client "web" refreshes with the first refresh token
    Then the refresh returns a new access token and another refresh token
    And the refreshed access token works at userinfo

  @RF-HAPPY
  Scenario: Another client's refresh token is refused and stays usable by its own client
    Given the provider has a confidential client "other-app" with secret "other-app-secret"
    And "alice" has signed in to client "web"
    And client "web" has redeemed the code
    When client "other-app" refreshes with the first refresh token
    Then the token endpoint refuses with 400 "invalid_grant"
    When client "web" refreshes with the first refresh token
    Then the refresh returns a new access token and another refresh token

  @RF-HAPPY
  Scenario: An unknown refresh token is refused
    Given "alice" has signed in to client "web"
    And client "web" has redeemed the code
    When client "web" refreshes with the refresh token "never-issued-refresh-token"
    Then the token endpoint refuses with 400 "invalid_grant"

  @RF-HAPPY
  Scenario: An expired refresh token is refused
    Given "alice" has signed in to client "web"
    And client "web" has redeemed the code
    When the provider's clock moves forward 86401 seconds
    And client "web" refreshes with the first refresh token
    Then the token endpoint refuses with 400 "invalid_grant"

  @RF-HAPPY
  Scenario: A revoked refresh token is refused
    Given "alice" has signed in to client "web"
    And client "web" has redeemed the code
    When client "web" revokes the first refresh token
    Then the revocation succeeds
    When client "web" refreshes with the first refresh token
    Then the token endpoint refuses with 400 "invalid_grant"

  @RF-HAPPY
  Scenario: The backend refreshes its expired access token and uses the new one at userinfo
    Given the app's unknown-user policy is "auto-create"
    And the backend uses the provider's tokens again after the login
    And the provider's access tokens for the backend live 60 seconds
    And "alice" has logged in through the browser
    When the provider's clock, and the app's if it has a clock hook, move past the access token's life
    And the browser asks the backend for the provider profile
    Then the provider saw the backend refresh its tokens
    And the provider saw userinfo called with the refreshed access token
    And the backend's answer carries "alice"'s userinfo

  @RF-ID-TOKEN @mutant-no-refresh-iss-check
  Scenario: A refreshed id_token from another issuer is refused
    Given the app's unknown-user policy is "auto-create"
    And the backend uses the provider's tokens again after the login
    And the provider's access tokens for the backend live 60 seconds
    And "alice" has logged in through the browser
    And the provider injects "refresh.id_token_other_iss" once
    When the provider's clock, and the app's if it has a clock hook, move past the access token's life
    And the browser asks the backend for the provider profile
    Then the provider saw the backend refresh its tokens
    And the provider saw no userinfo call with the refreshed access token
    And the browser's session is unchanged or ended

  @RF-ID-TOKEN @mutant-no-refresh-sub-check
  Scenario: A refreshed id_token for another subject is refused
    Given the app's unknown-user policy is "auto-create"
    And the backend uses the provider's tokens again after the login
    And the provider's access tokens for the backend live 60 seconds
    And "alice" has logged in through the browser
    And the provider injects "refresh.id_token_other_sub" once
    When the provider's clock, and the app's if it has a clock hook, move past the access token's life
    And the browser asks the backend for the provider profile
    Then the provider saw the backend refresh its tokens
    And the provider saw no userinfo call with the refreshed access token
    And the browser's session is unchanged or ended
