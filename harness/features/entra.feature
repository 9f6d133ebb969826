Feature: Log in with Microsoft: the token's tenant decides, never its email
  Microsoft Entra ID's multi-tenant endpoints (`common`, `organizations`) publish their issuer as a
  template, `{base}/{tenantid}/v2.0`, and every tenant's tokens are signed with the same keys, so a valid
  signature says nothing about the tenant. The app puts the token's `tid` into the template and compares
  the result exactly with `iss`, admits only the tenants it lists (unless it is multi-tenant by explicit
  policy), keys accounts on (`iss`, `sub`) or (`tid`, `oid`), never on an email any tenant admin can set,
  and refuses a v1 issuer or accepts it only through a second template with the same checks
  (CONFORMANCE section M). mock-idp's Entra persona stands in for login.microsoftonline.com; its v1
  issuer `{base}/{tid}/` stands in for `https://sts.windows.net/{tid}/`.

  Background:
    Given the app's unknown-user policy is "auto-create"

  @ENTRA-ISSUER
  Scenario: An Entra login at the common endpoint logs in with the templated issuer
    Given the app also offers "Microsoft" through an Entra provider admitting its home tenant
    And the app signs in to "Microsoft" at a multi-tenant endpoint
    When "alice" logs in with "Microsoft" through the browser
    Then the backend issues an app token

  @ENTRA-ISSUER @mutant-entra-issuer-prefix
  Scenario: An Entra token's issuer is checked against its tid
    Given the app also offers "Microsoft" through an Entra provider admitting its home tenant
    And "alice"'s next "Microsoft" id_token names the issuer of another tenant than its tid
    When "alice" logs in with "Microsoft" through the browser
    Then the backend refuses with "invalid_id_token"
    And no app token was issued

  @ENTRA-TENANT @mutant-entra-any-tenant
  Scenario: A token from an unlisted tenant does not log in
    Given the app also offers "Microsoft" through an Entra provider admitting its home tenant
    And "alice"'s next "Microsoft" id_token comes from a tenant the app does not admit
    When "alice" logs in with "Microsoft" through the browser
    Then the backend refuses with "invalid_id_token"
    And no app token was issued

  @ENTRA-TENANT @ENTRA-ISSUER
  Scenario: A multi-tenant app admits every tenant and still checks the issuer against the tid
    Given the app also offers "Microsoft" through a multi-tenant Entra provider
    And "alice"'s next "Microsoft" id_token names the issuer of another tenant than its tid
    When "alice" logs in with "Microsoft" through the browser
    Then the backend refuses with "invalid_id_token"
    And no app token was issued

  @ENTRA-IDENTITY-KEY @mutant-entra-links-by-email
  Scenario: An Entra email claim never takes over an account
    Given the app also offers "Microsoft" through an Entra provider that also admits a partner tenant
    And "alice" has an account through "Microsoft"
    And the "Microsoft" provider has a user "mallory" in another admitted tenant with the email of "alice"
    When "mallory" logs in with "Microsoft" through the browser
    Then the login is refused or opens an account other than "alice"'s

  @ENTRA-V1-ISSUER @mutant-entra-issuer-prefix
  Scenario: A v1 Entra issuer is handled or refused explicitly
    Given the app also offers "Microsoft" through an Entra provider admitting its home tenant
    And "alice"'s next "Microsoft" id_token carries a v1 issuer of another tenant than its tid
    When "alice" logs in with "Microsoft" through the browser
    Then the backend refuses with "invalid_id_token"
    And no app token was issued
