Feature: The token endpoint takes one form-encoded POST per grant
  RFC 6749 §3.2 and §5.2: an unknown grant type, a missing or made-up code, and requests that are not a
  form POST are refused with the error the RFC names.

  Background:
    Given "alice" has signed in to client "web"

  @TK-GRANT
  Scenario: An unknown grant_type is unsupported
    When client "web" redeems the code with form field grant_type set to "password"
    Then the token endpoint refuses with 400 "unsupported_grant_type"

  @TK-GRANT
  Scenario: A request without grant_type is invalid
    When client "web" redeems the code without form field grant_type
    Then the token endpoint refuses with 400 "invalid_request"

  @TK-GRANT
  Scenario: A redemption without a code is invalid
    When client "web" redeems the code without form field code
    Then the token endpoint refuses with 400 "invalid_request"

  @TK-GRANT @TK-ERROR-SHAPE
  Scenario: A made-up code is an invalid grant
    When client "web" redeems the code with form field code set to "not-a-code-the-provider-issued"
    Then the token endpoint refuses with 400 "invalid_grant"
    And the refusal is not cacheable

  @TK-GRANT
  Scenario: A redemption sent with GET is refused and leaves the code usable
    When client "web" sends the redemption with GET
    Then the token endpoint refuses with 405 "invalid_request"
    When client "web" redeems the code
    Then the token endpoint returns tokens

  @TK-GRANT
  Scenario: A redemption with a JSON body is refused
    When client "web" sends the redemption as JSON
    Then the token endpoint refuses with 400 "invalid_request"
