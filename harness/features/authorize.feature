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

  @AZ-FORM-POST
  Scenario: Discovery advertises form_post
    When the discovery document is fetched
    Then it lists the response mode "form_post"

  @AZ-FORM-POST @AZ-ISS
  Scenario: form_post answers with a page that POSTs the code, the exact state and the issuer
    When client "web" asks to authorize by form_post with state "a b&c=d/é?\"<'>"
    Then the provider posts back a code, that exact state and its issuer

  @AZ-FORM-POST
  Scenario: An error after the redirect URI is trusted is posted the same way
    When client "web" asks to authorize by form_post with scope "openid nonsense"
    Then the provider posts back error "invalid_scope" and the same state

  @AZ-FORM-POST
  Scenario: prompt=none where the user would have to log in is login_required, posted
    When client "web" asks to authorize by form_post with prompt "none"
    Then the provider posts back error "login_required" and the same state
