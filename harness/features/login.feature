Feature: Logging in end to end
  The six steps of the flow: the browser starts at the backend (1), signs in at the provider (2), comes back
  to the app's redirect URI with a code (3), the frontend hands the callback to the backend (4), the backend
  exchanges the code, verifies the id_token and finds the user in its own database (5), and only then issues
  its own token, which the profile endpoint accepts (6). Role and avatar come from the app's database, not
  from the provider.

  @ST-REQUEST-SHAPE @PK-VALID @AZ-ISS @AZ-HARDENING @UM-KEY @JWT-CLAIMS @JWT-DELIVERY
  Scenario: An admin logs in and sees the role and avatar from the app database
    Given the app has an admin "alice" with avatar "https://cdn.example.com/app/alice-admin.png"
    When the browser opens the app's login
    Then the browser is sent to the provider with the openid scope, a state, a nonce and an S256 code challenge
    When the user signs in at the provider as "alice"
    Then the provider sends the browser back to the app with a code, the same state and its issuer
    When the frontend hands the callback to the backend
    Then the backend issues an app token
    And the app token carries iss, aud, sub, iat, exp and jti
    And the backend's answer is not cacheable
    And the profile shows role "admin" and avatar "https://cdn.example.com/app/alice-admin.png"

  @UM-KEY @JWT-CLAIMS
  Scenario: An ordinary user logs in and sees the role and avatar from the app database
    Given the app has a user "bob" with avatar "https://cdn.example.com/app/bob.png"
    When the browser opens the app's login
    And the user signs in at the provider as "bob"
    And the frontend hands the callback to the backend
    Then the backend issues an app token
    And the profile shows role "user" and avatar "https://cdn.example.com/app/bob.png"

  @AZ-DENIED @ST-ERROR-CALLBACK @JWT-LAST
  Scenario: The user presses Deny at the provider
    Given the app has a user "alice"
    When the browser opens the app's login
    And the user denies the request at the provider
    Then the provider sends the browser back to the app with error "access_denied" and the same state
    When the frontend hands the callback to the backend
    Then the backend refuses with "access_denied"
    And the provider's token endpoint was not called for that callback
    And no app token was issued

  @ST-OPEN-REDIRECT
  Scenario Outline: A return_to of <return_to> lands the frontend on <landing>
    Given the app has a user "alice"
    When the browser opens the app's login with return_to "<return_to>"
    And the user signs in at the provider as "alice"
    And the frontend hands the callback to the backend
    Then the backend issues an app token
    And the backend sends the frontend on to "<landing>"

    Examples: another origin is dropped
      | return_to             | landing |
      | https://evil.example/ | /       |
      | //evil.example/       | /       |
      | /\\evil.example/      | /       |

    Examples: a relative path is kept
      | return_to        | landing          |
      | /admin?tab=users | /admin?tab=users |
