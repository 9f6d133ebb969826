Feature: Clients revoke their tokens at the provider
  RFC 7009: the client authenticates, a valid or unknown token is answered 200, and a revoked access token
  stops working.

  Background:
    Given the provider has a confidential client "other-app" with secret "other-app-secret"
    And "alice" has signed in to client "web"
    And client "web" has redeemed the code

  @RV-REVOKE @RS-BEARER @IN-INTROSPECT
  Scenario: A revoked access token stops working
    When client "web" revokes the first access token
    Then the revocation succeeds
    And the first access token is refused at userinfo
    And the first access token introspects as inactive

  @RV-REVOKE
  Scenario: Revoking an unknown token succeeds
    When client "web" revokes the token "never-issued-token"
    Then the revocation succeeds

  @RV-REVOKE
  Scenario: A revocation with a wrong secret is refused and revokes nothing
    When client "web" revokes the first access token with secret "not-the-secret"
    Then the revocation is refused with 401 "invalid_client"
    And the first access token still works at userinfo

  @RV-REVOKE
  Scenario: Another client cannot revoke the token
    When client "other-app" revokes the first access token
    Then the revocation is refused
    And the first access token still works at userinfo

  @RV-REVOKE
  Scenario: An unknown token_type_hint is unsupported
    When client "web" revokes the first access token with token_type_hint "id_token"
    Then the revocation is refused with 400 "unsupported_token_type"
    And the first access token still works at userinfo
