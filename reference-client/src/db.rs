//! The application's own user database (SQLite through rusqlite).
//!
//! Invariants:
//! - a user is found from a login only by (issuer, subject), never by email or name (CONFORMANCE UM-KEY);
//! - `identities` is unique on (issuer, subject), so [`Database::find_or_create_user`] creates at most one user
//!   per identity even when first logins race (UM-UNKNOWN-USER, auto-create).
//!
//! rusqlite is blocking, so request handlers never call it on an async worker: they go through
//! [`Database::call`], which runs the closure on tokio's blocking pool. There a few connections (WAL: many
//! readers beside one writer) are shared through a small pool guarded by a `std::sync::Mutex` and a `Condvar`
//! — blocking is what those threads are for. A slow write (another process holding the lock, within the
//! 5 s busy timeout) therefore delays only the requests that need the database, never unrelated ones.
//! The synchronous methods remain for the CLI and tests.

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::provider_tokens::ProviderTokens;

/// A user's role in this application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// May use the admin endpoints.
    Admin,
    /// An ordinary user.
    User,
}

impl Role {
    /// `admin` or `user`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::User => "user",
        }
    }

    /// Parses `admin` or `user`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "admin" => Some(Self::Admin),
            "user" => Some(Self::User),
            _ => None,
        }
    }
}

/// A row of `users`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    /// Internal id; the `sub` of app JWTs.
    pub id: i64,
    /// Shown in the UI.
    pub display_name: String,
    /// admin or user.
    pub role: Role,
    /// Picture URL shown in the UI.
    pub avatar_url: Option<String>,
    /// Phone number given when binding (require-binding policy).
    pub phone: Option<String>,
    /// A disabled user gets no JWT and existing JWTs stop working.
    pub disabled: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// A contact email the provider vouches for (Apple); never an identity.
    pub email: Option<String>,
    /// Bumped when the user's sessions end (logout, back-channel logout); every app JWT and cookie session
    /// carries the version it was issued under and is refused once it differs.
    pub session_version: i64,
}

/// The fields of a user to create.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// Shown in the UI.
    pub display_name: String,
    /// admin or user.
    pub role: Role,
    /// Picture URL.
    pub avatar_url: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
}

/// A row of `identities`: which provider account maps to which user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// The row id, which names the identity when unlinking.
    pub id: i64,
    /// The configured provider that linked it (absent on rows from before providers had names).
    pub provider: Option<String>,
    /// The provider's issuer identifier, exactly as in the id_token.
    pub issuer: String,
    /// The id_token `sub`.
    pub subject: String,
    /// The user it belongs to.
    pub user_id: i64,
}

/// Connections a file database opens: enough for readers to proceed beside a writer on two to four cores.
const POOL_SIZE: usize = 4;

/// The SQLite handle shared by all requests.
#[derive(Debug)]
pub struct Database {
    /// Idle connections; see the module docs for why a blocking mutex.
    idle: Mutex<Vec<Connection>>,
    /// Signalled when a connection is returned.
    returned: Condvar,
}

/// A connection borrowed from the pool, returned on drop.
struct Pooled<'a> {
    /// Always `Some` until dropped.
    conn: Option<Connection>,
    /// Where it goes back.
    db: &'a Database,
}

impl Deref for Pooled<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        // Invariant: `conn` is only taken in `drop`.
        #[allow(clippy::expect_used)]
        self.conn
            .as_ref()
            .expect("pooled connection present until drop")
    }
}

impl DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        #[allow(clippy::expect_used)]
        self.conn
            .as_mut()
            .expect("pooled connection present until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            relock(&self.db.idle).push(conn);
            self.db.returned.notify_one();
        }
    }
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means another request panicked mid-call; SQLite itself stays consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE users (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'user')),
        avatar_url TEXT,
        phone TEXT,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE identities (
        issuer TEXT NOT NULL,
        subject TEXT NOT NULL,
        user_id INTEGER NOT NULL REFERENCES users(id),
        created_at INTEGER NOT NULL,
        UNIQUE (issuer, subject)
    );
", "
    -- 2: which configured provider linked an identity (display only: the key stays (issuer, subject),
    -- where issuer is an OpenID issuer or a wechat:/github: namespace).
    ALTER TABLE identities ADD COLUMN provider TEXT;
",
    "
    -- 3: logout: a per-user session version every session carries, and what provider logout needs.
    ALTER TABLE users ADD COLUMN session_version INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN id_token_hint TEXT;
    ALTER TABLE users ADD COLUMN provider_sid TEXT;
    CREATE INDEX users_provider_sid ON users (provider_sid);
",
    "
    -- 4: the provider's tokens of a user's latest OpenID login (RF-HAPPY): one row per user, usable only
    -- with the session version of that login, swept once `keep_until` (the session's end) has passed.
    CREATE TABLE provider_tokens (
        user_id INTEGER PRIMARY KEY REFERENCES users(id),
        session_version INTEGER NOT NULL,
        provider TEXT NOT NULL,
        issuer TEXT NOT NULL,
        subject TEXT NOT NULL,
        azp TEXT,
        access_token TEXT NOT NULL,
        access_expires_at INTEGER,
        refresh_token TEXT,
        keep_until INTEGER NOT NULL
    );
    CREATE INDEX provider_tokens_keep_until ON provider_tokens (keep_until);
",
    "
    -- 5 (apple provider kind): a contact email the provider vouches for (Apple's verified email, a private
    -- relay address included). Shown in the profile; never used to find or link a user.
    ALTER TABLE users ADD COLUMN email TEXT;
",
];

/// What [`Database::link_identity`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkOutcome {
    /// The identity is now the user's.
    Linked,
    /// It was the user's already.
    AlreadyYours,
    /// It belongs to another user; nothing changed.
    OtherUser,
}

/// What [`Database::unlink_identity`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnlinkOutcome {
    /// Removed.
    Unlinked,
    /// The user has no identity with this id.
    NotFound,
    /// It is the user's last identity: without it nobody could log in as them, so it stays.
    LastOne,
}

fn row_to_user(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get(2)?;
    Ok(User {
        id: row.get(0)?,
        display_name: row.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::User),
        avatar_url: row.get(3)?,
        phone: row.get(4)?,
        disabled: row.get(5)?,
        created_at: row.get(6)?,
        session_version: row.get(7)?,
        email: row.get(8)?,
    })
}

/// Unix seconds as SQLite stores them.
fn to_i64(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

const USER_COLUMNS: &str =
    "id, display_name, role, avatar_url, phone, disabled, created_at, session_version, email";

impl Database {
    /// Opens (creating if needed) the database file, sets WAL and a busy timeout, and runs migrations.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let open = || {
            Connection::open(path)
                .with_context(|| format!("opening the database {}", path.display()))
        };
        let first = Self::configure(open()?)?;
        let db = Self::with_connections(vec![first]);
        db.migrate()?;
        for _ in 1..POOL_SIZE {
            let conn = Self::configure(open()?)?;
            relock(&db.idle).push(conn);
        }
        Ok(db)
    }

    /// An in-memory database (one connection: each would be a database of its own), for unit tests.
    pub fn open_in_memory() -> anyhow::Result<Self> {
        let conn = Self::configure(
            Connection::open_in_memory().context("opening an in-memory database")?,
        )?;
        let db = Self::with_connections(vec![conn]);
        db.migrate()?;
        Ok(db)
    }

    fn with_connections(conns: Vec<Connection>) -> Self {
        Self {
            idle: Mutex::new(conns),
            returned: Condvar::new(),
        }
    }

    fn configure(conn: Connection) -> anyhow::Result<Connection> {
        // WAL lets readers (other requests, the CLI) proceed while one connection writes; the busy timeout
        // makes a second writer wait instead of failing.
        conn.pragma_update(None, "journal_mode", "WAL")
            .context("enabling WAL")?;
        conn.busy_timeout(Duration::from_secs(5))
            .context("setting busy_timeout")?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .context("enabling foreign keys")?;
        Ok(conn)
    }

    /// Borrows a connection, waiting for one to be returned if all are busy. Blocking: call it from the
    /// CLI, tests, or through [`Database::call`].
    fn lock(&self) -> Pooled<'_> {
        let mut idle = relock(&self.idle);
        loop {
            if let Some(conn) = idle.pop() {
                return Pooled {
                    conn: Some(conn),
                    db: self,
                };
            }
            idle = self.returned.wait(idle).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Runs blocking database work on tokio's blocking pool, so no async worker waits on SQLite.
    pub async fn call<T, F>(self: &Arc<Self>, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> anyhow::Result<T> + Send + 'static,
    {
        let db = Arc::clone(self);
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .context("the database task failed")?
    }

    fn migrate(&self) -> anyhow::Result<()> {
        let mut conn = self.lock();
        let tx = conn.transaction().context("starting migrations")?;
        let version: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .context("reading user_version")?;
        for (i, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(version).unwrap_or(0))
        {
            tx.execute_batch(sql)
                .with_context(|| format!("migration {}", i + 1))?;
            tx.pragma_update(
                None,
                "user_version",
                i64::try_from(i + 1).unwrap_or(i64::MAX),
            )
            .context("writing user_version")?;
        }
        tx.commit().context("committing migrations")
    }

    /// Seeds the demo users when the user table is empty: `alice` (sub 248289761001) as admin and `bob`
    /// (sub 248289761002) as an ordinary user, both at `issuer` (mock-idp's fixtures).
    pub fn seed_demo_users(&self, issuer: &str, now: i64) -> anyhow::Result<bool> {
        if !self.list_users()?.is_empty() {
            return Ok(false);
        }
        // mock-idp serves its built-in users' avatars itself, so the demo shows them offline.
        for (name, sub, role, username) in [
            ("Alice Adams", "248289761001", Role::Admin, "alice"),
            ("Bob Brown", "248289761002", Role::User, "bob"),
        ] {
            let user = self.add_user(
                &NewUser {
                    display_name: name.into(),
                    role,
                    avatar_url: Some(format!(
                        "{}/avatars/{username}.svg",
                        issuer.trim_end_matches('/')
                    )),
                    phone: None,
                },
                now,
            )?;
            self.bind_identity(issuer, sub, user.id, now)?;
        }
        Ok(true)
    }

    /// Inserts a user.
    pub fn add_user(&self, new: &NewUser, now: i64) -> anyhow::Result<User> {
        let conn = self.lock();
        conn.query_row(
            &format!(
                "INSERT INTO users (display_name, role, avatar_url, phone, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) RETURNING {USER_COLUMNS}"
            ),
            params![
                new.display_name,
                new.role.as_str(),
                new.avatar_url,
                new.phone,
                now
            ],
            row_to_user,
        )
        .context("inserting a user")
    }

    /// Binds (issuer, subject) to an existing user. Fails if the identity is already bound.
    pub fn bind_identity(
        &self,
        issuer: &str,
        subject: &str,
        user_id: i64,
        now: i64,
    ) -> anyhow::Result<Identity> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO identities (issuer, subject, user_id, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![issuer, subject, user_id, now],
        )
        .with_context(|| format!("binding ({issuer}, {subject}) to user {user_id}"))?;
        Ok(Identity {
            id: conn.last_insert_rowid(),
            provider: None,
            issuer: issuer.into(),
            subject: subject.into(),
            user_id,
        })
    }

    /// How many distinct users are bound to (issuer, subject): 0 or 1 while the uniqueness holds, so a
    /// test that expects 1 sees a duplicate rather than an existence check.
    pub fn count_users_bound_to(&self, issuer: &str, subject: &str) -> anyhow::Result<usize> {
        let conn = self.lock();
        let n: i64 = conn
            .query_row(
                "SELECT COUNT(DISTINCT user_id) FROM identities WHERE issuer = ?1 AND subject = ?2",
                params![issuer, subject],
                |row| row.get(0),
            )
            .context("counting the users bound to an identity")?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Links (issuer, subject) to `user_id` unless it belongs to someone else; `provider` names the
    /// configured provider. In one immediate transaction, so two links of one identity cannot both win.
    pub fn link_identity(
        &self,
        provider: &str,
        issuer: &str,
        subject: &str,
        user_id: i64,
        now: i64,
    ) -> anyhow::Result<LinkOutcome> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .context("starting link")?;
        let owner: Option<i64> = tx
            .query_row(
                "SELECT user_id FROM identities WHERE issuer = ?1 AND subject = ?2",
                params![issuer, subject],
                |r| r.get(0),
            )
            .optional()
            .context("looking up an identity")?;
        let outcome = match owner {
            Some(id) if id == user_id => LinkOutcome::AlreadyYours,
            Some(_) => LinkOutcome::OtherUser,
            None => {
                tx.execute(
                    "INSERT INTO identities (issuer, subject, user_id, created_at, provider)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![issuer, subject, user_id, now, provider],
                )
                .context("linking an identity")?;
                LinkOutcome::Linked
            }
        };
        tx.commit().context("committing link")?;
        Ok(outcome)
    }

    /// Removes identity `identity_id` of `user_id`, unless it is the user's last one.
    pub fn unlink_identity(&self, user_id: i64, identity_id: i64) -> anyhow::Result<UnlinkOutcome> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .context("starting unlink")?;
        let count: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM identities WHERE user_id = ?1",
                params![user_id],
                |r| r.get(0),
            )
            .context("counting identities")?;
        let mine: bool = tx
            .query_row(
                "SELECT COUNT(*) FROM identities WHERE rowid = ?1 AND user_id = ?2",
                params![identity_id, user_id],
                |r| r.get::<_, i64>(0),
            )
            .context("looking up an identity")?
            == 1;
        let outcome = if !mine {
            UnlinkOutcome::NotFound
        } else if count <= 1 {
            UnlinkOutcome::LastOne
        } else {
            tx.execute(
                "DELETE FROM identities WHERE rowid = ?1 AND user_id = ?2",
                params![identity_id, user_id],
            )
            .context("unlinking an identity")?;
            UnlinkOutcome::Unlinked
        };
        tx.commit().context("committing unlink")?;
        Ok(outcome)
    }

    /// The user bound to (issuer, subject), if any. The only way a login finds its user.
    pub fn find_by_identity(&self, issuer: &str, subject: &str) -> anyhow::Result<Option<User>> {
        let conn = self.lock();
        conn.query_row(
            &format!(
                "SELECT {} FROM users u JOIN identities i ON i.user_id = u.id
                 WHERE i.issuer = ?1 AND i.subject = ?2",
                USER_COLUMNS
                    .split(", ")
                    .map(|c| format!("u.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            params![issuer, subject],
            row_to_user,
        )
        .optional()
        .context("looking up an identity")
    }

    /// Returns the user bound to (issuer, subject), creating the user and the identity in one transaction
    /// if there is none. Concurrent callers for the same identity get the same single user.
    /// The boolean is true when this call created the user.
    pub fn find_or_create_user(
        &self,
        issuer: &str,
        subject: &str,
        new: &NewUser,
        now: i64,
    ) -> anyhow::Result<(User, bool)> {
        self.find_or_create_user_via(None, issuer, subject, new, now)
    }

    /// [`Database::find_or_create_user`], recording which configured provider the identity came from.
    pub fn find_or_create_user_via(
        &self,
        provider: Option<&str>,
        issuer: &str,
        subject: &str,
        new: &NewUser,
        now: i64,
    ) -> anyhow::Result<(User, bool)> {
        let mut conn = self.lock();
        // IMMEDIATE takes the write lock up front, so two connections (or processes) cannot both read "no
        // identity" and then race to write: a deferred transaction would fail with SQLITE_BUSY instead.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .context("starting find-or-create")?;
        let existing: Option<i64> = tx
            .query_row(
                "SELECT user_id FROM identities WHERE issuer = ?1 AND subject = ?2",
                params![issuer, subject],
                |r| r.get(0),
            )
            .optional()
            .context("looking up an identity")?;
        let (user_id, created) = match existing {
            Some(id) => (id, false),
            None => {
                let id: i64 = tx
                    .query_row(
                        "INSERT INTO users (display_name, role, avatar_url, phone, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                        params![
                            new.display_name,
                            new.role.as_str(),
                            new.avatar_url,
                            new.phone,
                            now
                        ],
                        |r| r.get(0),
                    )
                    .context("inserting a user")?;
                // The UNIQUE (issuer, subject) constraint has the last word, named here so the statement
                // refuses to run against a schema without it. Under the immediate transaction it cannot
                // conflict; if it ever does, nothing is created twice.
                let inserted = tx
                    .execute(
                        "INSERT INTO identities (issuer, subject, user_id, created_at, provider)
                         VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT (issuer, subject) DO NOTHING",
                        params![issuer, subject, id, now, provider],
                    )
                    .context("inserting an identity")?;
                if inserted != 1 {
                    anyhow::bail!("identity ({issuer}, {subject}) appeared during find-or-create");
                }
                (id, true)
            }
        };
        let user = tx
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
                params![user_id],
                row_to_user,
            )
            .context("reading the user")?;
        tx.commit().context("committing find-or-create")?;
        Ok((user, created))
    }

    /// A user by internal id.
    pub fn get_user(&self, id: i64) -> anyhow::Result<Option<User>> {
        let conn = self.lock();
        conn.query_row(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
            params![id],
            row_to_user,
        )
        .optional()
        .context("reading a user")
    }

    /// All users, by id.
    pub fn list_users(&self) -> anyhow::Result<Vec<User>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))
            .context("preparing list_users")?;
        let users = stmt
            .query_map([], row_to_user)
            .context("listing users")?
            .collect::<Result<Vec<_>, _>>()
            .context("reading users")?;
        Ok(users)
    }

    /// All identities of a user.
    pub fn identities_of(&self, user_id: i64) -> anyhow::Result<Vec<Identity>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT issuer, subject, user_id, rowid, provider FROM identities WHERE user_id = ?1
                 ORDER BY rowid",
            )
            .context("preparing identities_of")?;
        let rows = stmt
            .query_map(params![user_id], |r| {
                Ok(Identity {
                    issuer: r.get(0)?,
                    subject: r.get(1)?,
                    user_id: r.get(2)?,
                    id: r.get(3)?,
                    provider: r.get(4)?,
                })
            })
            .context("listing identities")?
            .collect::<Result<Vec<_>, _>>()
            .context("reading identities")?;
        Ok(rows)
    }

    /// Sets the user's contact email (a verified one from the provider; never used to find a user).
    /// Returns false when there is no such user.
    pub fn set_email(&self, user_id: i64, email: &str) -> anyhow::Result<bool> {
        let conn = self.lock();
        let n = conn
            .execute(
                "UPDATE users SET email = ?2 WHERE id = ?1",
                params![user_id, email],
            )
            .context("updating email")?;
        Ok(n == 1)
    }

    /// Sets or clears `disabled`. Returns false when there is no such user.
    pub fn set_disabled(&self, user_id: i64, disabled: bool) -> anyhow::Result<bool> {
        let conn = self.lock();
        let n = conn
            .execute(
                "UPDATE users SET disabled = ?2 WHERE id = ?1",
                params![user_id, disabled],
            )
            .context("updating disabled")?;
        Ok(n == 1)
    }

    /// Ends every session of a user: app JWTs and cookie sessions issued before now stop working, and the
    /// provider tokens of their login are forgotten. Returns false when there is no such user.
    pub fn end_sessions(&self, user_id: i64) -> anyhow::Result<bool> {
        let conn = self.lock();
        conn.execute(
            "DELETE FROM provider_tokens WHERE user_id = ?1",
            params![user_id],
        )
        .context("forgetting provider tokens")?;
        let n = conn
            .execute(
                "UPDATE users SET session_version = session_version + 1 WHERE id = ?1",
                params![user_id],
            )
            .context("ending sessions")?;
        Ok(n == 1)
    }

    /// Ends the sessions of the user bound to (issuer, subject), or of the user whose last login was the
    /// provider session `sid` (Back-Channel Logout 1.0 §2.6: a logout token names `sub`, `sid` or both).
    /// Returns how many users' sessions ended.
    pub fn end_sessions_at_provider(
        &self,
        issuer: &str,
        subject: Option<&str>,
        sid: Option<&str>,
    ) -> anyhow::Result<usize> {
        let conn = self.lock();
        let n = match (subject, sid) {
            (Some(sub), _) => conn.execute(
                "UPDATE users SET session_version = session_version + 1 WHERE id IN \
                 (SELECT user_id FROM identities WHERE issuer = ?1 AND subject = ?2)",
                params![issuer, sub],
            ),
            (None, Some(sid)) => conn.execute(
                "UPDATE users SET session_version = session_version + 1 WHERE provider_sid = ?1",
                params![sid],
            ),
            (None, None) => Ok(0),
        }
        .context("ending sessions at the provider's request")?;
        Ok(n)
    }

    /// Remembers the id_token of a user's latest login (the `id_token_hint` of their logout) and the
    /// provider session it names.
    pub fn set_login_hint(
        &self,
        user_id: i64,
        id_token: &str,
        sid: Option<&str>,
    ) -> anyhow::Result<()> {
        let conn = self.lock();
        conn.execute(
            "UPDATE users SET id_token_hint = ?2, provider_sid = ?3 WHERE id = ?1",
            params![user_id, id_token, sid],
        )
        .context("storing the id_token hint")?;
        Ok(())
    }

    /// The id_token of a user's latest login, if any.
    pub fn login_hint(&self, user_id: i64) -> anyhow::Result<Option<String>> {
        let conn = self.lock();
        conn.query_row(
            "SELECT id_token_hint FROM users WHERE id = ?1",
            params![user_id],
            |r| r.get(0),
        )
        .optional()
        .map(Option::flatten)
        .context("reading the id_token hint")
    }

    /// Keeps the provider tokens of a user's login (replacing those of an earlier one; a login that brought
    /// no refresh token keeps the one an earlier login of the same identity at the same provider brought,
    /// as Google sends one only on the first consent: GOOGLE-REFRESH), usable while the
    /// user's session version is `session_version` and until `keep_until`. Rows past their `keep_until`
    /// are swept first: the table holds at most one row per user, none of them dead for long.
    pub fn keep_provider_tokens(
        &self,
        user_id: i64,
        session_version: i64,
        provider: &str,
        tokens: &ProviderTokens,
        keep_until: u64,
        now: u64,
    ) -> anyhow::Result<()> {
        let conn = self.lock();
        conn.execute(
            "DELETE FROM provider_tokens WHERE keep_until <= ?1",
            params![to_i64(now)],
        )
        .context("sweeping provider tokens")?;
        conn.execute(
            "INSERT OR REPLACE INTO provider_tokens (user_id, session_version, provider, issuer, subject, \
             azp, access_token, access_expires_at, refresh_token, keep_until) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, \
             COALESCE(?9, (SELECT refresh_token FROM provider_tokens \
                           WHERE user_id = ?1 AND provider = ?3 AND issuer = ?4 AND subject = ?5)), ?10)",
            params![
                user_id,
                session_version,
                provider,
                tokens.issuer,
                tokens.subject,
                tokens.azp,
                tokens.access_token,
                tokens.access_expires_at.map(to_i64),
                tokens.refresh_token,
                to_i64(keep_until),
            ],
        )
        .context("storing provider tokens")?;
        Ok(())
    }

    /// The provider and tokens kept for a user's session of version `session_version`, if still kept at
    /// `now`.
    pub fn provider_tokens(
        &self,
        user_id: i64,
        session_version: i64,
        now: u64,
    ) -> anyhow::Result<Option<(String, ProviderTokens)>> {
        let conn = self.lock();
        conn.query_row(
            "SELECT provider, issuer, subject, azp, access_token, access_expires_at, refresh_token \
             FROM provider_tokens WHERE user_id = ?1 AND session_version = ?2 AND keep_until > ?3",
            params![user_id, session_version, to_i64(now)],
            |r| {
                let expires: Option<i64> = r.get(5)?;
                Ok((
                    r.get(0)?,
                    ProviderTokens {
                        issuer: r.get(1)?,
                        subject: r.get(2)?,
                        azp: r.get(3)?,
                        access_token: r.get(4)?,
                        access_expires_at: expires.and_then(|e| u64::try_from(e).ok()),
                        refresh_token: r.get(6)?,
                    },
                ))
            },
        )
        .optional()
        .context("reading provider tokens")
    }

    /// Replaces a user's kept tokens by their refreshed ones (the identity columns stay the login's).
    pub fn refreshed_provider_tokens(
        &self,
        user_id: i64,
        tokens: &ProviderTokens,
    ) -> anyhow::Result<()> {
        let conn = self.lock();
        conn.execute(
            "UPDATE provider_tokens SET access_token = ?2, access_expires_at = ?3, refresh_token = ?4 \
             WHERE user_id = ?1",
            params![
                user_id,
                tokens.access_token,
                tokens.access_expires_at.map(to_i64),
                tokens.refresh_token,
            ],
        )
        .context("storing refreshed provider tokens")?;
        Ok(())
    }

    /// Forgets a user's provider tokens (a refresh the provider or our checks refused).
    pub fn forget_provider_tokens(&self, user_id: i64) -> anyhow::Result<()> {
        let conn = self.lock();
        conn.execute(
            "DELETE FROM provider_tokens WHERE user_id = ?1",
            params![user_id],
        )
        .context("forgetting provider tokens")?;
        Ok(())
    }

    /// How many users' provider tokens are kept (tests: the table is swept).
    pub fn provider_token_rows(&self) -> anyhow::Result<usize> {
        let conn = self.lock();
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM provider_tokens", [], |r| r.get(0))
            .context("counting provider tokens")?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Changes a user's role. Returns false when there is no such user.
    pub fn set_role(&self, user_id: i64, role: Role) -> anyhow::Result<bool> {
        let conn = self.lock();
        let n = conn
            .execute(
                "UPDATE users SET role = ?2 WHERE id = ?1",
                params![user_id, role.as_str()],
            )
            .context("updating role")?;
        Ok(n == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_user(name: &str) -> NewUser {
        NewUser {
            display_name: name.into(),
            role: Role::User,
            avatar_url: None,
            phone: None,
        }
    }

    // UM-KEY
    #[test]
    fn the_same_subject_at_another_issuer_is_another_user() {
        let db = Database::open_in_memory().expect("db");
        db.seed_demo_users("http://127.0.0.1:9000", 0)
            .expect("seed");
        assert!(
            db.find_by_identity("http://127.0.0.1:9000", "248289761001")
                .expect("query")
                .is_some()
        );
        assert!(
            db.find_by_identity("http://127.0.0.1:9001", "248289761001")
                .expect("query")
                .is_none()
        );
    }

    /// A database file written before logout existed gains the session version; its users keep working.
    #[test]
    fn an_existing_database_file_is_migrated_to_session_versions() {
        let path =
            std::env::temp_dir().join(format!("rc-migrate-{}.db", crate::store::random_token(9)));
        {
            let conn = Connection::open(&path).expect("open");
            conn.execute_batch(MIGRATIONS[0]).expect("version 1 schema");
            conn.execute(
                "INSERT INTO users (display_name, role, created_at) VALUES ('Old', 'user', 0)",
                [],
            )
            .expect("insert");
            conn.pragma_update(None, "user_version", 1)
                .expect("version");
        }
        let db = Database::open(&path).expect("migrates");
        let user = db.get_user(1).expect("read").expect("kept");
        assert_eq!(
            (user.display_name.as_str(), user.session_version),
            ("Old", 0)
        );
        assert!(db.end_sessions(1).expect("update"));
        assert_eq!(
            db.get_user(1).expect("read").expect("kept").session_version,
            1
        );
        drop(db);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    #[test]
    fn find_or_create_creates_once() {
        let db = Database::open_in_memory().expect("db");
        let (a, created_a) = db
            .find_or_create_user("iss", "sub", &new_user("A"), 0)
            .expect("first");
        let (b, created_b) = db
            .find_or_create_user("iss", "sub", &new_user("B"), 0)
            .expect("second");
        assert!(created_a && !created_b);
        assert_eq!(a.id, b.id);
        assert_eq!(db.list_users().expect("list").len(), 1);
    }

    #[test]
    fn an_identity_links_to_one_user_and_the_last_one_cannot_be_unlinked() {
        let db = Database::open_in_memory().expect("db");
        let (alice, _) = db
            .find_or_create_user_via(Some("oidc"), "iss", "a", &new_user("A"), 0)
            .expect("alice");
        let (bob, _) = db
            .find_or_create_user("iss", "b", &new_user("B"), 0)
            .expect("bob");
        assert_eq!(
            db.link_identity("GitHub", "github:x", "1001", alice.id, 0)
                .expect("link"),
            LinkOutcome::Linked
        );
        assert_eq!(
            db.link_identity("GitHub", "github:x", "1001", alice.id, 0)
                .expect("again"),
            LinkOutcome::AlreadyYours
        );
        assert_eq!(
            db.link_identity("GitHub", "github:x", "1001", bob.id, 0)
                .expect("other"),
            LinkOutcome::OtherUser
        );
        let ids = db.identities_of(alice.id).expect("list");
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0].provider.as_deref(), Some("oidc"));
        assert_eq!(ids[1].provider.as_deref(), Some("GitHub"));
        assert_eq!(
            db.unlink_identity(bob.id, ids[1].id).expect("foreign"),
            UnlinkOutcome::NotFound
        );
        assert_eq!(
            db.unlink_identity(alice.id, ids[1].id).expect("unlink"),
            UnlinkOutcome::Unlinked
        );
        assert_eq!(
            db.unlink_identity(alice.id, ids[0].id).expect("last"),
            UnlinkOutcome::LastOne
        );
        assert!(db.find_by_identity("iss", "a").expect("q").is_some());
    }

    #[test]
    fn a_database_of_the_first_schema_is_migrated_and_keeps_its_identities() {
        let path = std::env::temp_dir().join(format!("rc-migrate-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        {
            let conn = Connection::open(&path).expect("open");
            conn.execute_batch(MIGRATIONS[0]).expect("v1");
            conn.pragma_update(None, "user_version", 1)
                .expect("version");
            conn.execute(
                "INSERT INTO users (display_name, role, created_at) VALUES ('Old', 'user', 0)",
                [],
            )
            .expect("user");
            conn.execute(
                "INSERT INTO identities (issuer, subject, user_id, created_at) VALUES ('iss', 'old', 1, 0)",
                [],
            )
            .expect("identity");
        }
        let db = Database::open(&path).expect("migrates");
        let user = db.find_by_identity("iss", "old").expect("q").expect("kept");
        let ids = db.identities_of(user.id).expect("list");
        assert_eq!(ids[0].provider, None);
        db.link_identity("WeChat", "wechat:x", "u", user.id, 0)
            .expect("new column usable");
        drop(db);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    /// Provider tokens: one row per user, usable only with the login's session version, swept once past
    /// their `keep_until`.
    #[test]
    fn provider_tokens_are_one_per_user_tied_to_the_session_and_swept() {
        let db = Database::open_in_memory().expect("db");
        let (a, _) = db
            .find_or_create_user("iss", "a", &new_user("A"), 0)
            .expect("a");
        let (b, _) = db
            .find_or_create_user("iss", "b", &new_user("B"), 0)
            .expect("b");
        let tokens = |access: &str| ProviderTokens {
            access_token: access.into(),
            access_expires_at: Some(160),
            refresh_token: Some(format!("r-{access}")),
            issuer: "iss".into(),
            subject: "a".into(),
            azp: None,
        };
        db.keep_provider_tokens(a.id, 0, "oidc", &tokens("a1"), 1000, 100)
            .expect("keep");
        db.keep_provider_tokens(a.id, 0, "oidc", &tokens("a2"), 1000, 100)
            .expect("replace");
        assert_eq!(db.provider_token_rows().expect("count"), 1);
        let (provider, kept) = db
            .provider_tokens(a.id, 0, 100)
            .expect("read")
            .expect("kept");
        assert_eq!((provider.as_str(), kept), ("oidc", tokens("a2")));
        assert!(
            db.provider_tokens(a.id, 1, 100).expect("read").is_none(),
            "another session"
        );
        assert!(
            db.provider_tokens(a.id, 0, 1000).expect("read").is_none(),
            "past keep_until"
        );
        // Storing b's sweeps a's dead row.
        db.keep_provider_tokens(b.id, 0, "oidc", &tokens("b1"), 3000, 2000)
            .expect("keep");
        assert_eq!(db.provider_token_rows().expect("count"), 1);
    }

    #[test]
    fn a_login_without_a_refresh_token_keeps_the_one_an_earlier_login_brought() {
        let db = Database::open_in_memory().expect("db");
        let (a, _) = db
            .find_or_create_user("iss", "a", &new_user("A"), 0)
            .expect("a");
        let tokens = |access: &str, refresh: Option<&str>, subject: &str| ProviderTokens {
            access_token: access.into(),
            access_expires_at: Some(160),
            refresh_token: refresh.map(str::to_owned),
            issuer: "iss".into(),
            subject: subject.into(),
            azp: None,
        };
        db.keep_provider_tokens(a.id, 0, "google", &tokens("a1", Some("r1"), "a"), 1000, 100)
            .expect("keep");
        db.keep_provider_tokens(a.id, 1, "google", &tokens("a2", None, "a"), 1000, 100)
            .expect("keep");
        let (_, kept) = db
            .provider_tokens(a.id, 1, 100)
            .expect("read")
            .expect("kept");
        assert_eq!(
            (kept.access_token.as_str(), kept.refresh_token.as_deref()),
            ("a2", Some("r1"))
        );
        // A new one replaces it.
        db.keep_provider_tokens(a.id, 2, "google", &tokens("a3", Some("r3"), "a"), 1000, 100)
            .expect("keep");
        let (_, kept) = db
            .provider_tokens(a.id, 2, 100)
            .expect("read")
            .expect("kept");
        assert_eq!(kept.refresh_token.as_deref(), Some("r3"));
        // Another identity's login keeps nothing of it.
        db.keep_provider_tokens(a.id, 3, "google", &tokens("a4", None, "other"), 1000, 100)
            .expect("keep");
        let (_, kept) = db
            .provider_tokens(a.id, 3, 100)
            .expect("read")
            .expect("kept");
        assert_eq!(kept.refresh_token, None);
    }

    #[test]
    fn seeding_happens_only_on_an_empty_database() {
        let db = Database::open_in_memory().expect("db");
        assert!(db.seed_demo_users("i", 0).expect("seed"));
        assert!(!db.seed_demo_users("i", 0).expect("seed again"));
        assert_eq!(db.list_users().expect("list").len(), 2);
    }
}
