Feature: A provider that is not OpenID Connect is keyed on its stable user id
  GitHub's `login` can be renamed, so its numeric `id` is the identity. WeChat's `openid` differs per app
  and is unique within one app only; the `unionid`, which the apps of one developer share, is the same
  person across them (CONFORMANCE NP-IDENTITY-KEY).

  Background:
    Given the app also offers "WeChat" through a wechat provider
    And the app also offers "WeChat Mobile" through another app of the "WeChat" provider
    And the app also offers "GitHub" through a github provider
    And the app's unknown-user policy is "auto-create"

  @NP-IDENTITY-KEY @mutant-github-login-key
  Scenario: A GitHub user who renames their login keeps one account
    Given "alice" has logged in with "GitHub" through the browser
    When "alice" renames their "GitHub" login to "alice-renamed"
    And "alice" logs in with "GitHub" through the browser
    Then the backend issues an app token
    And the app database has 1 user in total

  @NP-IDENTITY-KEY @mutant-wechat-ignores-unionid
  Scenario: A WeChat user with a unionid is one account through two apps of one developer
    Given "alice" has logged in with "WeChat" through the browser
    When "alice" logs in with "WeChat Mobile" through the browser
    Then the backend issues an app token
    And the app database has 1 user in total

  @NP-IDENTITY-KEY @mutant-wechat-openid-unscoped
  Scenario: Without a unionid, the same openid at two apps of one developer is two users
    Given "alice" has no unionid at "WeChat"
    And "bob" has no unionid at "WeChat"
    And "alice"'s openid at "WeChat" is "oSameStringAtTwoAppsOfOneDev"
    And "bob"'s openid at "WeChat Mobile" is "oSameStringAtTwoAppsOfOneDev"
    And "alice" has logged in with "WeChat" through the browser
    When "bob" logs in with "WeChat Mobile" through the browser
    Then the backend issues an app token
    And the profile shows the name "Bob Brown"
    And the app database has 2 users in total
