Feature: The backend verifies the provider's id_token and refuses a broken or hostile one
  The provider spoils one thing in an otherwise valid id_token (docs/CONFORMANCE.md section G). The backend
  must refuse the login: an invalid_id_token error, no app token, no session, and no further call to the
  provider for that login (it exchanged the code once and must not call userinfo with what it got).

  Background:
    Given the app has a user "alice"
    And the browser has signed in at the provider as "alice" after opening the app's login

  @ID-SIG @JWT-LAST @mutant-no-signature-check
  Scenario Outline: Forged id_token signature is rejected (<fault>)
    Given the provider injects "<fault>" once
    When the frontend hands the callback to the backend
    Then the backend refuses with "invalid_id_token"
    And the provider's token endpoint was called 1 time for that callback
    And the provider's userinfo endpoint was not called for that callback
    And no app token was issued

    Examples:
      | fault                     |
      | id_token.bad_signature    |
      | id_token.alg_none         |
      | id_token.hs256_public_key |

  @ID-SIG @ID-SIG-HS256 @JWT-LAST @mutant-no-signature-check @mutant-id-token-alg-unpinned
  Scenario: An HS256 id_token MACed with the app's own client secret is rejected
    Given the provider injects "id_token.other_alg" once
    When the frontend hands the callback to the backend
    Then the backend refuses with "invalid_id_token"
    And the provider's userinfo endpoint was not called for that callback
    And no app token was issued

  @ID-SIG @JWT-LAST @mutant-no-signature-check
  Scenario: The named step for a bad signature
    Given the provider signs the next id_token with a bad signature
    When the frontend hands the callback to the backend
    Then the backend refuses with "invalid_id_token"
    And no app token was issued

  @ID-ISS @JWT-LAST @mutant-no-iss-check
  Scenario Outline: Wrong issuer is rejected (<fault>)
    Given the provider injects "<fault>" once
    When the frontend hands the callback to the backend
    Then the backend refuses with "invalid_id_token"
    And the provider's userinfo endpoint was not called for that callback
    And no app token was issued

    Examples:
      | fault                |
      | id_token.wrong_iss   |
      | id_token.missing_iss |

  @ID-AUD @JWT-LAST @mutant-no-aud-check
  Scenario Outline: Wrong audience is rejected (<fault>)
    Given the provider injects "<fault>" once
    When the frontend hands the callback to the backend
    Then the backend refuses with "invalid_id_token"
    And the provider's userinfo endpoint was not called for that callback
    And no app token was issued

    Examples:
      | fault                |
      | id_token.wrong_aud   |
      | id_token.extra_aud   |
      | id_token.missing_aud |

  @ID-EXP @JWT-LAST @mutant-no-exp-check
  Scenario Outline: Expired id_token is rejected (<fault>)
    Given the provider injects "<fault>" once
    When the frontend hands the callback to the backend
    Then the backend refuses with "invalid_id_token"
    And the provider's userinfo endpoint was not called for that callback
    And no app token was issued

    Examples:
      | fault                |
      | id_token.expired     |
      | id_token.missing_exp |

  @ID-IAT-SUB @JWT-LAST
  Scenario Outline: id_token without sub is rejected (<fault>)
    Given the provider injects "<fault>" once
    When the frontend hands the callback to the backend
    Then the backend refuses with "invalid_id_token"
    And the provider's userinfo endpoint was not called for that callback
    And no app token was issued

    Examples:
      | fault                |
      | id_token.missing_sub |
      | id_token.missing_iat |
      | id_token.iat_future  |

  @ID-NONCE @JWT-LAST @mutant-no-nonce-check
  Scenario Outline: Wrong nonce is rejected (<fault>)
    Given the provider injects "<fault>" once
    When the frontend hands the callback to the backend
    Then the backend refuses with "invalid_id_token"
    And the provider's userinfo endpoint was not called for that callback
    And no app token was issued

    Examples:
      | fault                  |
      | id_token.wrong_nonce   |
      | id_token.missing_nonce |

  @ID-KID @mutant-kid-required
  Scenario: An id_token without kid is accepted while the provider has one key
    Given the provider injects "id_token.no_kid" once
    When the frontend hands the callback to the backend
    Then the backend issues an app token
    And the provider's verdict on the client is clean

  @ID-KID @JWT-LAST
  Scenario: An id_token without kid is refused, or checked against each key, while the provider has several
    Given the provider rotates its signing key, keeping the old one
    And the provider injects "id_token.no_kid" once
    When the frontend hands the callback to the backend
    Then the backend refuses with "invalid_id_token" or logs in "alice"

  @ID-KID @JWT-LAST @mutant-no-jwks-refetch
  Scenario: An id_token naming a key the JWKS does not hold is refused after one fresh look at the JWKS
    Given "alice" has logged in through the browser
    And the browser has signed in at the provider as "alice" after opening the app's login
    And the provider injects "id_token.unknown_kid" once
    When the frontend hands the callback to the backend
    Then the backend refuses with "invalid_id_token"
    And the provider's JWKS was fetched again for that callback
    And the provider's userinfo endpoint was not called for that callback
    And no app token was issued

  @ID-KID @fresh-backend
  Scenario: Rotated signing key is picked up
    Given "alice" has logged in through the browser
    And the provider rotates its signing key, retiring the old one
    When "alice" logs in through the browser
    Then the backend issues an app token
    And the provider's JWKS was fetched again for that callback
    And the provider's verdict item "jwks_refetched_after_unknown_kid" is "pass"
    And the provider's verdict on the client is clean

  @ID-KID-ABSENT @fresh-backend @mutant-kid-required
  Scenario: A JWK without kid verifies an id_token without kid
    Given the provider injects "jwks.no_kid" until cleared
    And the provider injects "id_token.no_kid" once
    When the frontend hands the callback to the backend
    Then the backend issues an app token
    And the provider's JWKS was fetched again for that callback

  @ID-KID-ABSENT @fresh-backend @JWT-LAST
  Scenario: With several JWKs without kid, an id_token without kid is refused or checked against each
    Given the provider rotates its signing key, keeping the old one
    And the provider injects "jwks.no_kid" until cleared
    And the provider injects "id_token.no_kid" once
    When the frontend hands the callback to the backend
    Then the backend refuses with "invalid_id_token" or logs in "alice"

  @ID-JWKS-UNUSABLE-KEYS @fresh-backend @mutant-jwks-all-or-nothing
  Scenario: Unusable extra keys in the JWKS are skipped
    Given the provider injects "jwks.unusable_keys" until cleared
    When the frontend hands the callback to the backend
    Then the backend issues an app token
    And the provider's JWKS was fetched again for that callback

  @ID-USERINFO-SUB
  Scenario: Userinfo for another subject is discarded
    Given the provider injects "userinfo.wrong_sub" until cleared
    When the frontend hands the callback to the backend
    Then the backend refuses with "invalid_id_token" or logs in "alice"

  @ID-TOKEN-RESP @JWT-LAST
  Scenario Outline: Malformed token response fails closed (<fault>)
    Given the provider injects "<fault>" once
    When the frontend hands the callback to the backend
    Then the backend refuses with "provider_error"
    And the provider's token endpoint was called 1 time for that callback
    And the provider's userinfo endpoint was not called for that callback
    And no app token was issued

    Examples:
      | fault                      |
      | token.missing_access_token |
      | token.missing_id_token     |
      | token.token_type=mac       |

  @ID-TOKEN-RESP
  Scenario: A lowercase bearer token_type is accepted
    Given the provider injects "token.bearer_lowercase" once
    When the frontend hands the callback to the backend
    Then the backend issues an app token
    And the provider saw the code redeemed once
    And the provider's verdict on the client is clean
