Feature: A logged-in user links another provider to the same account, and unlinks it

  Background:
    Given the app also offers "GitHub" through a github provider
    And the app also offers "WeChat" through a wechat provider
    And the app has an admin "alice"

  @NP-IDENTITY-KEY
  Scenario: A linked second identity logs in the same user
    Given "alice" has logged in through the browser
    When "alice" links "GitHub" through the browser
    Then the backend issues an app token
    And the app lists 2 linked identities
    When "alice" logs in with "GitHub" through the browser
    Then the backend issues an app token
    And the profile shows role "admin"
    And the app database has 1 user in total

  @NP-IDENTITY-KEY
  Scenario: An unlinked identity no longer logs in, and the last one stays
    Given "alice" has logged in through the browser
    And "alice" has linked "WeChat" through the browser
    When the browser unlinks its "WeChat" identity
    Then the app accepts
    And the app lists 1 linked identities
    When the browser tries to unlink its last identity
    Then the backend refuses with "last_identity"
    When "alice" logs in with "WeChat" through the browser
    Then the browser holds no admin session

  @NP-IDENTITY-KEY
  Scenario: An identity that belongs to another user is not linked
    Given the app has a user "bob"
    And "bob" has logged in through the browser
    And "bob" has linked "GitHub" through the browser
    And "alice" has logged in through the browser
    When the browser links "GitHub" signing in there as "bob"
    Then the backend refuses with "identity_in_use"
