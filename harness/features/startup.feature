Feature: The app checks its configuration before it starts
  A startup property: the app is started through its configuration, as a deployment starts it, and stopped
  again.

  @JWT-KEY
  Scenario: A 128-bit app-JWT key refuses to start
    When the app is started with a 16-byte JWT signing key
    Then the app refuses to start, naming "jwt_key"

  @JWT-KEY
  Scenario: A 256-bit app-JWT key starts
    When the app is started with a 32-byte JWT signing key
    Then the app starts
