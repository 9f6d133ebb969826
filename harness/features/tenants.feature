Feature: Tenants of one provider server are providers of their own
  A mock-idp server hosts tenants (`/t/NAME`), each an issuer with its own keys, codes, tokens and
  sessions. Another tenant with the same clients, secrets and users refuses whatever this one issued.

  Background:
    Given the provider's server has another tenant
    And "alice" has signed in to client "web"

  @TENANT-ISOLATION
  Scenario: A code of one tenant is refused at another, and still works at its own
    When client "web" redeems the code at the other tenant
    Then the token endpoint refuses with 400 "invalid_grant"
    When client "web" redeems the code
    Then the token endpoint returns tokens

  @TENANT-ISOLATION
  Scenario: An access token of one tenant is refused at another
    Given client "web" has redeemed the code
    Then the first access token is refused at the other tenant's userinfo
    And the first access token introspects as inactive at the other tenant
    And the first access token still works at userinfo

  @TENANT-ISOLATION
  Scenario: A session of one tenant cannot be ended at another
    Given client "web" has redeemed the code
    When the browser ends the session of the first id_token at the other tenant for client "web"
    Then the provider shows an error page and redirects nowhere
