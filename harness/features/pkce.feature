Feature: PKCE binds the code to the client instance that asked for it (S256 only)

  @PK-VALID
  Scenario: A valid S256 flow succeeds
    Given "alice" has signed in to client "web" with PKCE
    When client "web" redeems the code
    Then the token endpoint returns tokens

  @PK-WRONG
  Scenario: A wrong code verifier is rejected
    Given "alice" has signed in to client "web" with PKCE
    When client "web" redeems the code with a wrong code verifier
    Then the token endpoint refuses with 400 "invalid_grant"

  @PK-MISSING
  Scenario: A missing code verifier is rejected
    Given "alice" has signed in to client "web" with PKCE
    When client "web" redeems the code without a code verifier
    Then the token endpoint refuses with 400 "invalid_grant"

  @PK-DOWNGRADE
  Scenario: A verifier for a code requested without a challenge is rejected
    Given "alice" has signed in to client "web"
    When client "web" redeems the code with a wrong code verifier
    Then the token endpoint refuses with 400 "invalid_grant"

  @PK-FORMAT
  Scenario: A malformed verifier is rejected
    Given "alice" has signed in to client "web" with PKCE
    When client "web" redeems the code with code verifier "short"
    Then the token endpoint refuses with 400 "invalid_grant"

  @PK-REQUIRED
  Scenario: A public client must send a code challenge
    When client "spa" asks to authorize without a code challenge
    Then the provider redirects back with error "invalid_request" and the same state

  @PK-METHOD
  Scenario: The plain method is refused
    When client "web" asks to authorize with code challenge method "plain"
    Then the provider redirects back with error "invalid_request" and the same state
