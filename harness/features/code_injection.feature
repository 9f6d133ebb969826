Feature: A code from another browser's login cannot be injected into this browser's login
  An attacker who got hold of another user's authorization code hands it to the backend in a login of their
  own, with their own valid state (RFC 9700 §4.5). A valid state cannot stop this: PKCE stops it at the
  provider (this browser's verifier does not match the code's challenge, so the one token call fails) or
  the nonce check stops it at the backend (the id_token carries the other browser's nonce). Every client
  must stop it, whether or not it sends a state.

  @ST-CODE-INJECTION @JWT-LAST @mutant-code-injection
  Scenario: A code from another browser's login, handed over with this browser's own state, gives no session
    Given the app has a user "alice"
    And the app has a user "bob"
    And another browser has signed in at the provider as "alice", and the browser as "bob"
    When the browser hands the backend the other browser's code with its own state
    Then no app token was issued
    And the provider's userinfo endpoint was not called for that callback
