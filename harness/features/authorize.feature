Feature: The authorization endpoint answers in the shape RFC 6749 and RFC 9207 require

  @AZ-STATE-ECHO @AZ-ISS
  Scenario: A long state with reserved characters is echoed exactly
    When client "web" asks to authorize with state "a b&c=d/é?%20+~*()!$;,:@[]-0123456789-0123456789-0123456789"
    Then the provider redirects back with a code, that exact state and its issuer

  @AZ-STATE-ECHO
  Scenario: No state is returned when none was sent
    When client "web" asks to authorize without state
    Then the provider redirects back with a code and no state

  @AZ-RESPONSE-TYPE @AZ-ERROR-SHAPE @AZ-ISS
  Scenario: A missing response_type redirects with invalid_request
    When client "web" asks to authorize without response_type
    Then the provider redirects back with error "invalid_request" and the same state

  @AZ-RESPONSE-TYPE @AZ-ERROR-SHAPE
  Scenario: An unknown response_type redirects with unsupported_response_type
    When client "web" asks to authorize with response_type "token"
    Then the provider redirects back with error "unsupported_response_type" and the same state

  @AZ-LENIENT
  Scenario: A repeated parameter is invalid_request
    When client "web" asks to authorize with the scope parameter repeated
    Then the provider redirects back with error "invalid_request" and the same state

  @AZ-HARDENING
  Scenario: The login page cannot be framed and sends no referrer
    When client "web" asks to authorize
    Then the provider shows its login page
    And the page cannot be framed and sends no referrer
