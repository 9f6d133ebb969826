Feature: Discovery, userinfo and introspection

  @MD-DOC
  Scenario: The discovery document is consistent
    When the discovery document is fetched
    Then its issuer is the provider's issuer
    And it advertises S256 and the iss authorization response parameter

  @RS-BEARER @TK-HAPPY
  Scenario: A live access token works at userinfo and introspects as active
    Given "alice" has signed in to client "web"
    And client "web" has redeemed the code
    Then the first access token still works at userinfo
    And the first access token introspects as active

  @RS-BEARER-BODY
  Scenario: Userinfo takes the access token in a POST body, but one way only and never in the URL
    Given "alice" has signed in to client "web"
    And client "web" has redeemed the code
    Then the first access token works at userinfo sent in the form body
    And the first access token sent "in the header and the form body" is refused at userinfo as invalid_request
    And the first access token sent "in the URL query" is refused at userinfo as invalid_request

  @RS-BEARER @IN-INTROSPECT
  Scenario: A made-up token is refused at userinfo and introspects as inactive
    Then the access token "made-up-token" is refused at userinfo
    And the access token "made-up-token" introspects as inactive
