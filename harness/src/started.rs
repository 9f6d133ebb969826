//! Backends started for one scenario each, from a target file's `[start]`: a process of their own with
//! a fresh directory, pointed at a provider of the scenario's own. A shared running backend cannot serve
//! the scenarios that need a first fetch of discovery, another unknown-user policy, a startup check or a
//! client secret of the scenario's choice; with `[start]` they run instead of being skipped.

use std::{
    io::Read,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use anyhow::{Context, anyhow, bail};
use futures::future::BoxFuture;
use url::Url;

use crate::{
    http_target::{HttpTarget, StartSection, TargetFile},
    parameters::Policy,
    target::{ProviderSetup, Startup, Target, TargetFactory, TargetOptions},
};

/// Starts the target file's backend once per scenario.
#[derive(Debug, Clone)]
pub struct StartedFactory {
    /// The target file, whose URLs are moved to each started backend.
    file: TargetFile,
    /// How to start it.
    start: StartSection,
    /// For the hooks.
    http: reqwest::Client,
}

/// A started backend's process and directory: killed and removed when dropped.
#[derive(Debug)]
pub struct Process {
    /// The process.
    child: Child,
    /// Its `{dir}`.
    dir: PathBuf,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What a start attempt came to.
enum Started {
    /// Its port accepts connections.
    Listening(Process, Url),
    /// It exited first, with this status and the end of its output.
    Exited(String),
}

impl StartedFactory {
    /// A factory for `file`'s backend, started as `start` says.
    pub fn new(file: TargetFile, start: StartSection, http: reqwest::Client) -> StartedFactory {
        StartedFactory { file, start, http }
    }

    /// Whether `[start]`'s command or environment uses `placeholder`.
    fn has_placeholder(&self, placeholder: &str) -> bool {
        let has = |t: &String| t.contains(placeholder);
        self.start.command.iter().any(has) || self.start.env.values().any(has)
    }

    /// Starts one backend with these placeholder values and waits until it listens or exits.
    async fn spawn(
        &self,
        provider: &ProviderSetup,
        policy: Policy,
        jwt_key: &str,
        response_mode: &str,
        userinfo_alg: &str,
        id_token_alg: &str,
    ) -> anyhow::Result<Started> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        // A free port: bound and released; the backend binds it a moment later.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("finding a free port for the backend")?
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let dir = std::env::temp_dir().join(format!(
            "conform-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let fill = |text: &str| {
            text.replace("{issuer}", &provider.issuer)
                .replace("{client_id}", &provider.client_id)
                .replace("{client_secret}", &provider.client_secret)
                .replace("{port}", &port.to_string())
                .replace("{base}", &base)
                .replace("{dir}", &dir.to_string_lossy())
                .replace("{policy}", policy.as_str())
                .replace("{jwt_key}", jwt_key)
                .replace("{response_mode}", response_mode)
                .replace("{userinfo_signed_response_alg}", userinfo_alg)
                .replace("{id_token_alg}", id_token_alg)
        };
        let program = fill(&self.start.command[0]);
        let output = dir.join("output.log");
        let log = std::fs::File::create(&output).context("the backend's output file")?;
        let log_err = log.try_clone().context("the backend's output file")?;
        let child = Command::new(&program)
            .args(self.start.command[1..].iter().map(|a| fill(a)))
            .envs(self.start.env.iter().map(|(k, v)| (k.clone(), fill(v))))
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .with_context(|| format!("starting {program} ([start] command)"))?;
        let mut process = Process { child, dir };
        let ready = Duration::from_secs(self.start.ready_seconds.unwrap_or(30));
        let deadline = tokio::time::Instant::now() + ready;
        loop {
            if let Some(status) = process.child.try_wait().context("watching the backend")? {
                let mut text = String::new();
                let _ = std::fs::File::open(&output).and_then(|mut f| f.read_to_string(&mut text));
                // Its first lines: the refusal, before any backtrace.
                let head: String = text.chars().take(1000).collect();
                return Ok(Started::Exited(format!("{status}: {}", head.trim())));
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                let base = Url::parse(&base).context("the started backend's URL")?;
                return Ok(Started::Listening(process, base));
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "the backend started by [start] did not listen on port {port} within {} s \
                     (raise start.ready_seconds, or check that it listens on {{port}})",
                    ready.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The target file with the backend's URLs moved from `backend.base_url` to `base`.
    fn moved_to(&self, base: &Url) -> TargetFile {
        let mut file = self.file.clone();
        let old = file
            .backend
            .base_url
            .as_str()
            .trim_end_matches('/')
            .to_owned();
        let new = base.as_str().trim_end_matches('/').to_owned();
        let move_url = |u: &mut String| {
            if let Some(rest) = u.strip_prefix(&old) {
                *u = format!("{new}{rest}");
            }
        };
        move_url(&mut file.provider.redirect_uri);
        if let Some(u) = &mut file.provider.post_logout_redirect_uri {
            move_url(u);
        }
        if let Some(u) = &mut file.provider.backchannel_logout_uri {
            move_url(u);
        }
        file.backend.base_url = base.clone();
        file
    }
}

impl TargetFactory for StartedFactory {
    fn name(&self) -> String {
        format!("backends started by `{}`", self.start.command.join(" "))
    }

    fn start<'a>(
        &'a self,
        provider: &'a ProviderSetup,
        options: &'a TargetOptions,
    ) -> BoxFuture<'a, anyhow::Result<Box<dyn Target>>> {
        Box::pin(async move {
            if !options.extra_providers.is_empty() {
                return Err(crate::target::skip(
                    "needs the scenario's own WeChat, GitHub or Google provider, which a backend started by \
                     [start] is not told of",
                ));
            }
            let key = crate::random_token(32);
            let mode = if options.form_post {
                "form_post"
            } else {
                "query"
            };
            let userinfo_alg = if options.signed_userinfo {
                mock_idp::SigningAlg::RS256.as_str()
            } else {
                ""
            };
            let alg = options.id_token_alg.unwrap_or(mock_idp::IdTokenAlg::RS256);
            match self
                .spawn(
                    provider,
                    options.unknown_user_policy,
                    &key,
                    mode,
                    userinfo_alg,
                    alg.as_str(),
                )
                .await?
            {
                Started::Listening(process, base) => Ok(Box::new(HttpTarget {
                    file: self.moved_to(&base),
                    http: self.http.clone(),
                    _process: Some(process),
                }) as Box<dyn Target>),
                Started::Exited(why) => Err(anyhow!(
                    "the backend started by [start] exited before it listened: {why}"
                )),
            }
        })
    }

    fn chooses_response_mode(&self) -> bool {
        self.has_placeholder("{response_mode}")
    }

    fn chooses_id_token_alg(&self) -> bool {
        self.has_placeholder("{id_token_alg}")
    }

    fn chooses_userinfo_signing(&self) -> bool {
        let placeholder = |t: &String| t.contains("{userinfo_signed_response_alg}");
        self.start.command.iter().any(placeholder) || self.start.env.values().any(placeholder)
    }

    fn try_start_with_jwt_key<'a>(
        &'a self,
        provider: &'a ProviderSetup,
        key: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<Startup>> {
        Box::pin(async move {
            if !self
                .start
                .command
                .iter()
                .chain(self.start.env.values())
                .any(|v| v.contains("{jwt_key}"))
            {
                return Err(crate::target::skip(
                    "needs {jwt_key} in [start] (the app-JWT key the started backend signs with)",
                ));
            }
            Ok(
                match self
                    .spawn(provider, Policy::default(), key, "query", "", "RS256")
                    .await?
                {
                    Started::Listening(process, _) => {
                        drop(process);
                        Startup::Started
                    }
                    Started::Exited(why) => Startup::Refused(why),
                },
            )
        })
    }
}
