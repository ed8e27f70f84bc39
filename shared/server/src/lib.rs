//! The `keiyaku` binary's library: its CLI (`cli`), its listener (`listen`) and the local
//! shape's composition root. The all-in-one local server opens (creating on first start) the data dir — SQLite
//! database, blob folder, key file, maildir — wires the ports into the API router, and
//! serves it.

pub mod cli;
pub mod listen;
pub mod step_functions;
pub mod web;

use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use keiyaku_workflow::{Runner, TaskFailure, TaskHandlers};

use axum::Router;
use keiyaku_core::Services;
use keiyaku_core::clock::Clock;
use keiyaku_core::config::Config;
use keiyaku_core::ports::{Mailer, Tsa};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use keiyaku_local::{FolderBlobStore, KeyFile, Maildir, SqliteItemStore};

/// How to run the server.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Where to listen.
    pub addr: SocketAddr,
    /// Where everything is kept.
    pub data_dir: PathBuf,
    /// The URL written into mails; default `http://<addr>`.
    pub public_url: Option<String>,
    /// Optional SMTP relay.
    pub smtp_url: Option<String>,
    /// Largest document, in bytes.
    pub max_document_bytes: u64,
    /// A folder with `contract.asl.json` and `tasks.json` to run instead of the ones built
    /// into the binary (the same files from `statemachines/`).
    pub statemachines: Option<PathBuf>,
    /// Whether `POST /api/v1/tsa` answers anyone, and how many timestamps one client address
    /// gets in 15 minutes.
    pub public_tsa: Option<u64>,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Serve https with this certificate chain and key (PEM files).
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// Why the server could not start: each a clear message, never a panic.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data dir could not be made or used.
    #[error("data dir {0}: {1}")]
    DataDir(String, String),
    /// A setting is wrong.
    #[error("{0}")]
    Config(String),
    /// The address could not be bound.
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
}

/// A running server.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its public URL.
    pub url: String,
    /// Its data dir.
    pub data_dir: PathBuf,
    /// The services it serves with.
    pub services: Arc<Services>,
    /// The workflow executor it runs.
    pub runner: Runner,
    /// The timer table of reminders it runs.
    pub scheduler: Arc<keiyaku_local::scheduler::TimerTable>,
    shutdown: Option<oneshot::Sender<()>>,
    stop_runner: Option<oneshot::Sender<()>>,
    stop_scheduler: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, finishes what is in flight, and waits.
    pub async fn stop(mut self) {
        for tx in [self.stop_runner.take(), self.stop_scheduler.take()]
            .into_iter()
            .flatten()
        {
            let _ = tx.send(());
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Waits until the server stops (on Ctrl-C or SIGTERM when started by `serve`).
    pub async fn wait(self) -> std::io::Result<()> {
        self.task.await.map_err(std::io::Error::other)?
    }
}

fn make_dir(path: &Path) -> Result<(), StartError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|e| StartError::DataDir(path.display().to_string(), e.to_string()))
}

/// Checks a public URL: `http(s)://host[:port][/path]`, no query or fragment.
pub fn check_public_url(url: &str) -> Result<String, StartError> {
    let bad = || {
        StartError::Config(format!(
            "KEIYAKU_PUBLIC_URL / --public-url {url:?}: expected http://host[:port] or https://host[:port]"
        ))
    };
    let parsed = url::Url::parse(url).map_err(|_| bad())?;
    if !matches!(parsed.scheme(), "http" | "https")
        || parsed.host_str().is_none_or(str::is_empty)
        || !parsed.username().is_empty()
        || parsed.password().is_some()
        || parsed.query().is_some()
        || parsed.fragment().is_some()
        || url.contains(char::is_whitespace)
    {
        return Err(bad());
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// The workflow's task handlers in this process: the core's, on this server's services.
/// (The services hold the runner, which holds these handlers: a weak link back breaks the
/// cycle.)
#[derive(Default)]
struct ContractTasks {
    services: OnceLock<Weak<Services>>,
}

#[async_trait]
impl TaskHandlers for ContractTasks {
    async fn invoke(
        &self,
        handler: &str,
        payload: serde_json::Value,
        _token: Option<String>,
    ) -> Result<serde_json::Value, TaskFailure> {
        let services = self.services.get().and_then(Weak::upgrade).ok_or_else(|| {
            TaskFailure::function_error("Keiyaku.Retryable", "the server is stopping")
        })?;
        keiyaku_core::app::tasks::run(&services, handler, payload)
            .await
            .map_err(|e| TaskFailure::function_error(e.error, e.cause))
    }
}

/// Puts something around the TSA the server seals with.
pub type TsaWrapper = Arc<dyn Fn(Arc<dyn Tsa>) -> Arc<dyn Tsa> + Send + Sync>;
/// A wrapper of the delivering mailer (tests).
pub type MailerWrapper = Arc<dyn Fn(Arc<dyn Mailer>) -> Arc<dyn Mailer> + Send + Sync>;

/// What tests may put around the server's parts, as they pass it a clock (the shipped
/// binary sets none): a wrapper of the TSA, to make it fail for a while; one of the
/// mailer, to count every delivery; a short request timeout; a small connection cap.
#[derive(Clone, Default)]
pub struct Seams {
    /// Wraps the TSA the server seals with.
    pub tsa: Option<TsaWrapper>,
    /// Wraps the mailer that delivers (under the record that sends each message once).
    pub mailer: Option<MailerWrapper>,
    /// A shorter request timeout than the 60 s one.
    pub request_timeout: Option<std::time::Duration>,
    /// A smaller cap on open connections than the 1,024 one.
    pub max_connections: Option<usize>,
    /// Other adapters for items, files, data keys and staging (the AWS ones, on an
    /// emulator): the whole service, workflow included, runs on them instead of SQLite, the
    /// blob folder and the key file.
    pub storage: Option<Storage>,
}

/// The adapters a [`Seams::storage`] puts in place of the data dir's.
#[derive(Clone)]
pub struct Storage {
    /// Items, the workflow's executions and timers included.
    pub items: Arc<dyn keiyaku_core::ports::ItemStore>,
    /// Encrypted files.
    pub blobs: Arc<dyn keiyaku_core::ports::BlobStore>,
    /// Data keys and link MACs.
    pub keys: Arc<dyn keiyaku_core::ports::Keys>,
    /// Where uploads wait to be checked.
    pub staging: Arc<dyn keiyaku_core::ports::Staging>,
}

/// Opens the data dir and builds the services on it, with the workflow executor (not yet
/// running) on the contract state machine; a definition the interpreter cannot run is
/// refused here, naming its JSON path.
pub fn open_services(
    options: &ServeOptions,
    public_url: &str,
    clock: Arc<dyn Clock>,
    seams: &Seams,
) -> Result<
    (
        Arc<Services>,
        Runner,
        Arc<keiyaku_local::scheduler::TimerTable>,
    ),
    StartError,
> {
    let dir = &options.data_dir;
    let err = |what: &str, e: &dyn std::fmt::Display| {
        StartError::DataDir(dir.display().to_string(), format!("{what}: {e}"))
    };
    make_dir(dir)?;
    let items: Arc<dyn keiyaku_core::ports::ItemStore> = match &seams.storage {
        Some(storage) => storage.items.clone(),
        None => Arc::new(
            SqliteItemStore::open(&dir.join("keiyaku.db"), clock.clone())
                .map_err(|e| err("database", &e))?,
        ),
    };
    let machine =
        keiyaku_workflow::contract_machine(options.statemachines.as_deref()).map_err(|e| {
            StartError::Config(format!(
                "the contract state machine is refused at {}: {}",
                e.path, e.message
            ))
        })?;
    let scheduler = Arc::new(keiyaku_local::scheduler::TimerTable::new(
        items.clone(),
        clock.clone(),
    ));
    let tasks = Arc::new(ContractTasks::default());
    // The objects Distributed Maps' ItemReaders read and their ResultWriters write: bucket
    // `b`, key `k` is `<data-dir>/buckets/objects/b/k` (the shipped contract machine has
    // none; one loaded with `--statemachines` may).
    let buckets = FolderBlobStore::open(&dir.join("buckets")).map_err(|e| err("buckets", &e))?;
    let runner = Runner::with_objects(
        items.clone(),
        clock.clone(),
        tasks.clone(),
        vec![machine],
        Some(Arc::new(buckets)),
    );
    let (blobs, keys): (
        Arc<dyn keiyaku_core::ports::BlobStore>,
        Arc<dyn keiyaku_core::ports::Keys>,
    ) = match &seams.storage {
        Some(storage) => (storage.blobs.clone(), storage.keys.clone()),
        None => (
            Arc::new(FolderBlobStore::open(&dir.join("blobs")).map_err(|e| err("blobs", &e))?),
            Arc::new(
                KeyFile::open_or_create(&dir.join("master.key"))
                    .map_err(|e| err("key file", &e))?,
            ),
        ),
    };
    let mut config = Config::new(public_url);
    config.max_document_bytes = options.max_document_bytes;
    if let Some(limit) = options.public_tsa {
        config.public_tsa = true;
        config.public_tsa_limit = limit;
    }
    config.trusted_proxies = options.trusted_proxies.clone();
    if let Some(limit) = seams.request_timeout {
        config.request_timeout = limit;
        config.upload_timeout = limit;
    }
    let mut mailer = Maildir::open(&dir.join("mail")).map_err(|e| err("maildir", &e))?;
    if let Some(url) = &options.smtp_url {
        mailer = mailer
            .with_relay(
                url,
                &config.mail_from,
                vec![
                    Duration::from_secs(2),
                    Duration::from_secs(10),
                    Duration::from_secs(60),
                ],
            )
            .map_err(|e| StartError::Config(e.to_string()))?;
    }
    mailer.resume_relays();
    let mut delivering: Arc<dyn Mailer> = Arc::new(mailer);
    if let Some(wrap) = &seams.mailer {
        delivering = wrap(delivering);
    }
    let pki = keiyaku_local::pki::LocalPki::open_or_create(
        &keiyaku_local::pki::LocalPki::dir(dir),
        public_url,
    )
    .map_err(|e| err("pki", &e))?;
    let fetcher =
        keiyaku_net::crl::CrlFetcher::new().map_err(|e| StartError::Config(e.to_string()))?;
    let revocation = keiyaku_local::revocation::LocalRevocation::new(
        pki.clone(),
        clock.clone(),
        Arc::new(fetcher),
    );
    let mut tsa: Arc<dyn Tsa> = Arc::new(keiyaku_local::pki::LocalTsa::new(
        pki.clone(),
        clock.clone(),
    ));
    if let Some(wrap) = &seams.tsa {
        tsa = wrap(tsa);
    }
    let mailer = Arc::new(keiyaku_core::delivery::DeliverOnce::new(
        items.clone(),
        delivering,
        clock.clone(),
    ));
    let services = Arc::new(Services {
        authority: Some(Arc::new(pki.clone())),
        items,
        blobs,
        staging: match &seams.storage {
            Some(storage) => storage.staging.clone(),
            None => Arc::new(keiyaku_local::staging::ServerReceives::new(
                config.public_url.clone(),
            )),
        },
        keys,
        sealing_key: Arc::new(pki.clone()),
        tsa,
        revocation: Arc::new(revocation),
        mailer,
        workflow: Arc::new(runner.clone()),
        scheduler: scheduler.clone(),
        clock,
        config,
        cpu: keiyaku_core::cpu::CpuPool::for_this_machine(),
    });
    // Set once, just made: cannot already be set.
    let _ = tasks.services.set(Arc::downgrade(&services));
    scheduler.bind(&services);
    Ok((services, runner, scheduler))
}

/// The whole local application: the API (every route, local ones included) and the browser
/// client on every other path.
pub fn app(services: Arc<Services>) -> Router {
    keiyaku_api::router_with(services, true, web::router())
}

/// Binds, opens the data dir and starts serving in the background.
pub async fn start(options: ServeOptions, clock: Arc<dyn Clock>) -> Result<Running, StartError> {
    start_with(options, clock, Seams::default()).await
}

/// [`start`] with test seams.
pub async fn start_with(
    options: ServeOptions,
    clock: Arc<dyn Clock>,
    seams: Seams,
) -> Result<Running, StartError> {
    let listener = TcpListener::bind(options.addr)
        .await
        .map_err(|e| StartError::Bind(options.addr, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Bind(options.addr, e))?;
    let tls = match &options.tls {
        Some((cert, key)) => Some(
            crate::listen::tls_config(cert, key)
                .map_err(|e| StartError::Config(format!("--tls-cert / --tls-key: {e}")))?,
        ),
        None => None,
    };
    let url = match &options.public_url {
        Some(u) => check_public_url(u)?,
        None if tls.is_some() => format!("https://{addr}"),
        None => format!("http://{addr}"),
    };
    let (services, runner, scheduler) = open_services(&options, &url, clock, &seams)?;
    // Executions that were running when the process stopped go on (their pending tasks are
    // invoked again), then follow-ups left in the outbox are finished.
    let (stop_runner, runner_stopped) = oneshot::channel::<()>();
    let (stop_scheduler, scheduler_stopped) = oneshot::channel::<()>();
    tokio::spawn(runner.clone().run(async move {
        let _ = runner_stopped.await;
    }));
    tokio::spawn(scheduler.clone().run(async move {
        let _ = scheduler_stopped.await;
    }));
    match runner.recover().await {
        Ok(n) if n > 0 => tracing::info!(tasks = n, "workflow recovered"),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "workflow recovery failed"),
    }
    match keiyaku_core::app::followups::reconcile(&services).await {
        Ok(done) if done.finished + done.left > 0 => {
            tracing::info!(
                finished = done.finished,
                left = done.left,
                "outbox reconciled"
            );
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "outbox reconciliation failed"),
    }
    if let Err(e) = keiyaku_core::app::jobs::schedule_sweep(&services).await {
        tracing::error!(error = %e, "housekeeping could not be scheduled");
    }
    if let Err(e) = keiyaku_core::app::jobs::schedule_audit_upkeep(&services).await {
        tracing::error!(error = %e, "the audit log's chaining could not be scheduled");
    }
    let app = app(services.clone());
    let max_connections = seams
        .max_connections
        .unwrap_or(crate::listen::MAX_CONNECTIONS);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        crate::listen::serve(listener, app, tls, max_connections, async move {
            let _ = rx.await;
        })
        .await;
        Ok(())
    });
    Ok(Running {
        addr,
        url,
        data_dir: options.data_dir,
        services,
        runner,
        scheduler,
        shutdown: Some(tx),
        stop_runner: Some(stop_runner),
        stop_scheduler: Some(stop_scheduler),
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::check_public_url;

    #[test]
    fn a_public_url_is_an_http_or_https_base_without_secrets() {
        assert_eq!(
            check_public_url("https://keiyaku.example.jp/").unwrap(),
            "https://keiyaku.example.jp"
        );
        assert_eq!(
            check_public_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            check_public_url("https://example.jp/keiyaku/").unwrap(),
            "https://example.jp/keiyaku"
        );
        for bad in [
            "ftp://example.jp",
            "example.jp",
            "https://",
            "https://user:pw@example.jp",
            "https://example.jp/?x=1",
            "https://example.jp/#x",
            "https://exa mple.jp",
            "https://example.jp/a b",
        ] {
            assert!(check_public_url(bad).is_err(), "{bad} was accepted");
        }
    }
}
