Feature: Logging out at the app and at the provider
  A login is not done until the user can leave. Logging out of the app ends the app's session (its tokens
  included) and sends the browser to the provider's end-session endpoint, which ends the provider's session
  and returns the browser only to a registered URI, with the app's state (RP-Initiated Logout 1.0). A
  session ended at the provider reaches the app on its back channel as a signed logout token, which the app
  verifies before ending that user's sessions (Back-Channel Logout 1.0).

  Background:
    Given the app has a user "alice"
    And "alice" has logged in through the browser

  @LO-RP-INITIATED
  Scenario: Logout ends both sessions and returns with state
    When the browser logs out of the app
    Then the browser is sent to the provider's end-session endpoint with the id_token, the client id, the registered post-logout URI and a state
    When the browser asks for its profile
    Then the profile is refused with "invalid_token"
    When the browser follows the logout to the provider
    Then the provider sends the browser back to the post-logout URI with the same state
    When the browser opens the app's login and goes to the provider
    Then the provider shows its login page

  @LO-RP-STATE-RETURN
  Scenario Outline: A return from logout with <change> is taken as nothing
    Given the provider injects "<fault>" once
    When the browser logs out of the app
    And the browser follows the logout to the provider
    And the browser follows the provider back to the app
    Then the app answers the return with a page of its own and starts no login
    When the browser asks for its profile
    Then the profile is refused with "invalid_token"

    Examples:
      | change        | fault                   |
      | another state | end_session.other_state |
      | no state      | end_session.no_state    |

  @LO-RP-INITIATED
  Scenario Outline: An unregistered post_logout_redirect_uri gets an error page, never a redirect
    When the browser logs out of the app
    And the browser follows the logout to the provider with post_logout_redirect_uri "<uri>"
    Then the provider shows an error page and redirects nowhere

    Examples:
      | uri                              |
      | https://attacker.example/        |
      | http://127.0.0.1:1/              |

  @LO-RP-INITIATED
  Scenario Outline: A post_logout_redirect_uri that only starts with the registered one gets an error page
    When the browser logs out of the app
    And the browser follows the logout to the provider with the registered post_logout_redirect_uri followed by "<suffix>"
    Then the provider shows an error page and redirects nowhere

    Examples:
      | suffix                          |
      | attacker/                       |
      | ?next=https://attacker.example/ |

  @LO-RP-INITIATED
  Scenario: An id_token_hint issued to another client gets an error page
    When the browser logs out of the app
    And the browser follows the logout to the provider with an id_token_hint issued to another client
    Then the provider shows an error page and redirects nowhere

  @LO-BACKCHANNEL
  Scenario: Back-channel logout ends the app session
    When "alice" is logged out at the provider
    Then the app accepted the provider's back-channel logout
    When the browser asks for its profile
    Then the profile is refused with "invalid_token"

  @LO-BACKCHANNEL
  Scenario: An app token issued before a back-channel logout is refused afterwards, a new login works
    Given the browser keeps its app token
    When the app is sent a logout token for "alice"
    Then the app accepts the logout token
    When the browser asks for its profile with the kept app token
    Then the profile is refused with "invalid_token"
    Given "alice" has logged in through the browser
    When the browser asks for its profile
    Then the profile shows role "user"

  @LO-BACKCHANNEL @mutant-logout-ends-all
  Scenario: A logout token for one user ends only that user's sessions
    Given the app has a user "bob"
    And "bob" has logged in through another browser
    When the app is sent a logout token for "alice"
    Then the app accepts the logout token
    When the browser asks for its profile
    Then the profile is refused with "invalid_token"
    And the session in another browser still works

  @LO-BACKCHANNEL @mutant-logout-ends-all @mutant-logout-sid-ends-all
  Scenario: A logout token naming only a provider session ends only that user's sessions
    Given the app has a user "bob"
    And "bob" has logged in through another browser
    When the app is sent a logout token naming only the sid of "alice"'s provider session
    Then the app accepts the logout token
    When the browser asks for its profile
    Then the profile is refused with "invalid_token"
    And the session in another browser still works

  @LO-BACKCHANNEL @mutant-logout-replay
  Scenario: A replayed logout token is refused and ends nothing
    When the app is sent a logout token for "alice"
    Then the app accepts the logout token
    Given "alice" has logged in through the browser
    When the same logout token is sent again
    Then the app refuses the logout token
    When the browser asks for its profile
    Then the profile shows role "user"

  @LO-BACKCHANNEL
  Scenario Outline: A forged or malformed logout token is refused and ends nothing
    When the app is sent a logout token for "alice" with <flaw>
    Then the app refuses the logout token
    When the browser asks for its profile
    Then the profile shows role "user"

    Examples:
      | flaw                    |
      | a tampered signature    |
      | another audience        |
      | another issuer          |
      | a nonce                 |
      | no back-channel event   |
      | neither sub nor sid     |
      | no jti                  |
      | an iat an hour old      |
      | the provider's id_token |

  @LO-BACKCHANNEL-ALG @mutant-logout-alg-unchecked
  Scenario Outline: A logout token with <flaw> is refused and ends nothing
    When the app is sent a logout token for "alice" with <flaw>
    Then the app refuses the logout token
    When the browser asks for its profile
    Then the profile shows role "user"

    Examples:
      | flaw                                              |
      | alg none                                          |
      | an HS256 MAC keyed with the provider's public key |
      | an ES256 signature by another key                 |

  @LO-BACKCHANNEL-ALG @mutant-logout-alg-unchecked
  Scenario Outline: The provider's own logout with <fault> is refused and ends nothing
    Given the provider injects "<fault>" once
    When "alice" is logged out at the provider
    Then the app refused the provider's back-channel logout
    When the browser asks for its profile
    Then the profile shows role "user"

    Examples:
      | fault            |
      | logout.alg_none  |
      | logout.wrong_alg |

  @LO-BACKCHANNEL-EVENT @mutant-logout-event-unchecked
  Scenario: The provider's own logout naming another event is refused and ends nothing
    Given the provider injects "logout.wrong_event" once
    When "alice" is logged out at the provider
    Then the app refused the provider's back-channel logout
    When the browser asks for its profile
    Then the profile shows role "user"

  @LO-BACKCHANNEL-EVENT @mutant-logout-event-unchecked
  Scenario Outline: A logout token with <flaw> is refused and ends nothing
    When the app is sent a logout token for "alice" with <flaw>
    Then the app refuses the logout token
    When the browser asks for its profile
    Then the profile shows role "user"

    Examples:
      | flaw                          |
      | only another event            |
      | events that are not an object |
