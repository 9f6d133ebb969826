Feature: Clients authenticate at the token endpoint

  @CA-BASIC-BAD @TK-ERROR-SHAPE
  Scenario: A wrong secret over HTTP Basic gets 401 with a Basic challenge
    Given "alice" has signed in to client "web"
    When client "web" redeems the code with secret "not-the-secret"
    Then the token endpoint refuses with 401 "invalid_client"
    And the refusal carries a Basic challenge
    And the refusal is not cacheable

  @CA-BASIC-BAD
  Scenario: An unknown client over HTTP Basic looks exactly like a wrong secret
    Given "alice" has signed in to client "web"
    When an unknown client "ghost" with secret "boo" redeems the code
    Then the token endpoint refuses with 401 "invalid_client"
    And the refusal carries a Basic challenge

  @CA-POST-BAD
  Scenario: A wrong client_secret_post is rejected
    Given "alice" has signed in to client "web-post"
    When client "web-post" redeems the code with secret "not-the-secret"
    Then the token endpoint refuses with "invalid_client"

  @CA-NONE
  Scenario: A confidential client sending no credentials is rejected
    Given "alice" has signed in to client "web"
    When client "web" redeems the code without credentials
    Then the token endpoint refuses with "invalid_client"

  @CA-MISUSE
  Scenario: Basic and body credentials together are refused
    Given "alice" has signed in to client "web"
    When client "web" redeems the code with credentials in both the header and the body
    Then the token endpoint refuses with 400 "invalid_request"

  @CA-POST-BAD @TK-HAPPY
  Scenario: client_secret_post with the right secret works
    Given "alice" has signed in to client "web-post"
    When client "web-post" redeems the code
    Then the token endpoint returns tokens

  @CA-ENCODING @TK-HAPPY
  Scenario: A secret with reserved characters authenticates over HTTP Basic, form-urlencoded
    Given the provider has a confidential client "reserved-chars" with secret "a:b%41+c d/e=f"
    And "alice" has signed in to client "reserved-chars"
    When client "reserved-chars" redeems the code
    Then the token endpoint returns tokens

  @CA-ENCODING @JWT-LAST
  Scenario: The backend's own secret with reserved characters works
    Given the app's client secret is "app:secret%41+with reserved/chars="
    And the app has a user "alice"
    When "alice" logs in through the browser
    Then the backend issues an app token

  @CA-HARDENING @own-provider
  Scenario: After 20 bad secrets even the right one is throttled
    Given "alice" has signed in to client "web"
    When client "web" redeems the code with secret "guess" 20 times
    Then the token endpoint refuses with 401 "invalid_client"
    When client "web" redeems the code
    Then the token endpoint refuses with 429 "invalid_client"
    And the refusal is not cacheable
