Feature: Profile claims the id_token lacks come from userinfo, and only for the same subject
  A certified OpenID provider may keep name and picture out of the id_token and release them at userinfo
  (Core 5.4). The backend asks userinfo with the access token and believes it only when its sub is the
  id_token's (Core 5.3.2). A backend registered for signed userinfo believes it only when its signature,
  iss and aud verify (Core 5.3.2, 5.3.4).

  @ID-USERINFO-SUB
  Scenario: Profile claims the id_token lacks come from userinfo (positive control)
    Given the app's unknown-user policy is "auto-create"
    And the provider has a user "carol"
    And the provider injects "id_token.no_profile" until cleared
    When "carol" logs in through the browser
    Then the backend issues an app token
    And the profile shows the name "carol (provider)"

  @ID-USERINFO-SUB
  Scenario: Userinfo naming another subject does not fill the profile
    Given the app's unknown-user policy is "auto-create"
    And the provider has a user "carol"
    And the provider injects "id_token.no_profile" until cleared
    And the provider injects "userinfo.wrong_sub" until cleared
    When "carol" logs in through the browser
    Then the backend issues an app token
    And the profile does not show the name "carol (provider)"

  @RS-BEARER-SEND
  Scenario: The backend sends its access token to userinfo one way, never in the URL
    Given the app's unknown-user policy is "auto-create"
    And the provider has a user "carol"
    And the provider injects "id_token.no_profile" until cleared
    When "carol" logs in through the browser
    Then the backend issues an app token
    And the backend sent its access token to userinfo one way, never in the URL

  @ST-SCOPE-CLAIMS @mutant-scope-openid-only
  Scenario: The backend asks for the scopes of the profile claims it shows
    Given the app's unknown-user policy is "auto-create"
    And the provider has a user "carol"
    When "carol" logs in through the browser
    Then the backend issues an app token
    And the login asked for the scope of every profile claim the app shows

  @RS-USERINFO-JWT
  Scenario: A signed userinfo fills the profile (positive control)
    Given the backend is registered for signed userinfo
    And the app's unknown-user policy is "auto-create"
    And the provider has a user "carol"
    And the provider injects "id_token.no_profile" until cleared
    When "carol" logs in through the browser
    Then the backend issues an app token
    And the profile shows the name "carol (provider)"

  @RS-USERINFO-JWT @mutant-userinfo-signature-unchecked
  Scenario: A signed userinfo with a bad signature is discarded
    Given the backend is registered for signed userinfo
    And the app's unknown-user policy is "auto-create"
    And the provider has a user "carol"
    And the provider injects "id_token.no_profile" until cleared
    And the provider injects "userinfo.bad_signature" until cleared
    When "carol" logs in through the browser
    Then the backend issues an app token
    And the profile does not show the name "carol (provider)"
