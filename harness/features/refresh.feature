Feature: A refresh token works once, and its replay revokes its family
  Straight at the provider's token endpoint: each refresh answers a new refresh token and spends the one
  presented; a spent one presented again is refused and revokes every token of its grant (RFC 6749 §6,
  RFC 9700 §4.14.2).

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
