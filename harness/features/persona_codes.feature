Feature: WeChat and GitHub personas keep the code rules
  Straight at the personas, as a client: the authorization endpoint redirects only to a registered
  redirect URI (WeChat exactly; GitHub, as it documents, also to a subdirectory of the callback URL, a
  subdomain of its host and, for a loopback callback, any port, but never another path or host), and a code
  works once, for the app it was issued to and (GitHub, whose token request names
  one) with the redirect URI it was issued for (CONFORMANCE NP-CODE-RULES). Each persona here is the
  scenario's own, so these scenarios need no backend.

  Background:
    Given a wechat provider "WeChat" with the clients "site" and "mobile"
    And a github provider "GitHub" with the clients "site" and "mobile"

  @NP-CODE-RULES
  Scenario Outline: <provider> shows an error page for an unregistered redirect_uri (<difference>)
    When client "site" asks "<provider>" to authorize with redirect_uri "<redirect_uri>"
    Then the provider shows an error page and redirects nowhere

    Examples:
      | provider | difference       | redirect_uri                               |
      | WeChat   | another site     | https://attacker.example/callback          |
      | WeChat   | a longer path    | http://127.0.0.1:7000/callback/attacker    |
      | WeChat   | a trailing slash | http://127.0.0.1:7000/callback/            |
      | GitHub   | another site     | https://attacker.example/callback          |
      | GitHub   | another path     | http://127.0.0.1:7000/elsewhere            |
      | GitHub   | the parent path  | http://127.0.0.1:7000/                     |
      | GitHub   | another host     | http://127.0.0.2:7000/callback             |

  @NP-CODE-RULES
  Scenario: GitHub binds a code to the redirect URI it was issued for
    Given "alice" has signed in to client "site" at "GitHub"
    When client "site" redeems the persona's code naming its other redirect URI
    Then the persona answers "redirect_uri_mismatch" with HTTP 200 and no access token

  @NP-CODE-RULES
  Scenario Outline: <provider> binds a code to the app it was issued to
    Given "alice" has signed in to client "site" at "<provider>"
    When client "mobile" redeems the persona's code
    Then the persona answers "<error>" with HTTP 200 and no access token
    When client "site" redeems the persona's code
    Then the persona answers with an access token

    Examples:
      | provider | error                 |
      | WeChat   | 40029                 |
      | GitHub   | bad_verification_code |

  @NP-CODE-RULES
  Scenario Outline: A <provider> code works once
    Given "alice" has signed in to client "site" at "<provider>"
    When client "site" redeems the persona's code
    Then the persona answers with an access token
    When client "site" redeems the persona's code
    Then the persona answers "<error>" with HTTP 200 and no access token

    Examples:
      | provider | error                 |
      | WeChat   | 40163                 |
      | GitHub   | bad_verification_code |
