Feature: The app's own token is accepted only as issued

  Background:
    Given the app has a user "alice"
    And "alice" has logged in through the browser

  @JWT-VERIFY
  Scenario: The token as issued is accepted
    When the browser asks for its profile
    Then the profile shows role "user"

  @JWT-VERIFY
  Scenario Outline: An app token with <flaw> is refused
    When the browser asks for its profile with the app token altered to have <flaw>
    Then the profile is refused with "invalid_token"

    Examples:
      | flaw                 |
      | a tampered payload   |
      | a tampered signature |
      | alg none             |
      | a wrong audience     |
      | a wrong issuer       |
      | an expired exp       |
      | a future nbf         |

  @JWT-VERIFY
  Scenario: An app token expires on the app's clock
    When the app's clock moves forward 16 minutes
    And the browser asks for its profile
    Then the profile is refused with "invalid_token"

  @JWT-TYPE
  Scenario: The provider's id_token is not an app token
    Given "alice" has signed in to client "web"
    And client "web" has redeemed the code
    When the browser asks for its profile with the provider's "id_token"
    Then the profile is refused with "invalid_token"

  @JWT-TYPE
  Scenario: The provider's access token is not an app token
    Given "alice" has signed in to client "web"
    And client "web" has redeemed the code
    When the browser asks for its profile with the provider's "access_token"
    Then the profile is refused with "invalid_token"
