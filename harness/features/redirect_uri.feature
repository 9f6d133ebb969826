Feature: Redirect URIs are compared exactly, at both endpoints

  @AZ-NO-REDIRECT
  Scenario: An unregistered redirect_uri gets an error page, never a redirect
    When client "web" asks to authorize with redirect_uri "https://evil.example/callback"
    Then the provider shows an error page and redirects nowhere

  @AZ-NO-REDIRECT
  Scenario: An unknown client_id gets an error page, never a redirect
    When client "ghost" asks to authorize with redirect_uri "http://127.0.0.1:3000/callback"
    Then the provider shows an error page and redirects nowhere

  @AZ-REDIRECT-EXACT
  Scenario Outline: A redirect_uri differing from the registered one by <difference> is rejected
    When client "web" asks to authorize with redirect_uri "<redirect_uri>"
    Then the provider shows an error page and redirects nowhere

    Examples:
      | difference         | redirect_uri                          |
      | a trailing slash   | http://127.0.0.1:3000/callback/       |
      | case               | http://127.0.0.1:3000/Callback        |
      | port               | http://127.0.0.1:3001/callback        |
      | scheme             | https://127.0.0.1:3000/callback       |
      | an added query     | http://127.0.0.1:3000/callback?next=1 |
      | a fragment         | http://127.0.0.1:3000/callback#x      |
      | host               | http://localhost:3000/callback        |

  @AZ-REDIRECT-OMITTED
  Scenario: A missing redirect_uri is refused when the client has several
    When client "spa" asks to authorize without redirect_uri
    Then the provider shows an error page and redirects nowhere

  @TK-REDIRECT-MISMATCH
  Scenario: A different redirect_uri at the token endpoint is rejected
    Given "alice" has signed in to client "web"
    When client "web" redeems the code with redirect_uri "http://127.0.0.1:3000/other"
    Then the token endpoint refuses with 400 "invalid_grant"

  @TK-REDIRECT-MISMATCH
  Scenario: A missing redirect_uri at the token endpoint is rejected
    Given "alice" has signed in to client "web"
    When client "web" redeems the code without redirect_uri
    Then the token endpoint refuses with 400 "invalid_grant"
