//! The `keiyaku` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use keiyaku_core::clock::SystemClock;

use crate::{self as server, ServeOptions};

/// keiyaku: electronic contracts, sealed and timestamped.
#[derive(Parser, Debug)]
#[command(
    name = "keiyaku",
    version,
    about = "keiyaku: electronic contracts, sealed and timestamped — the all-in-one local server and its tools"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the API (the default when no command is given).
    Serve(ServeArgs),
    /// Seal a PDF with this data dir's service key and TSA.
    Seal(SealArgs),
    /// Verify every signature and timestamp of a PDF, offline (exit 0 valid, 1 invalid,
    /// 2 indeterminate).
    Verify(VerifyArgs),
    /// Manage who may use the ops view.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Serve a stand-in for AWS Step Functions (the API the AWS shape uses) that runs the
    /// contract machine, invoking its task functions through a local Lambda Invoke API.
    StepFunctions(StepFunctionsArgs),
}

#[derive(clap::Args, Debug, Clone)]
struct StepFunctionsArgs {
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:8083")]
    addr: SocketAddr,
    /// Where executions are kept.
    #[arg(long, default_value = "./keiyaku-step-functions")]
    data_dir: PathBuf,
    /// The Lambda Invoke API that runs the task functions, each named by its handler
    /// (`seal`, `next_step`, …), e.g. http://127.0.0.1:9001.
    #[arg(long)]
    lambda_endpoint: String,
    /// A folder with contract.asl.json and tasks.json to run instead of the built-in ones.
    #[arg(long, env = "KEIYAKU_STATEMACHINES")]
    statemachines: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum OperatorCommand {
    /// Give an account the operator role (the ops view under /api/v1/ops).
    Grant {
        /// The account's e-mail address.
        email: String,
        /// The data dir of the server.
        #[arg(long, env = "KEIYAKU_DATA_DIR", default_value = "./keiyaku-data")]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Verify every team's audit chain (chaining what waits first): exit 0 when every chain
    /// is intact, 1 naming the first broken link of each broken one.
    Verify {
        /// The data dir of the server.
        #[arg(long, env = "KEIYAKU_DATA_DIR", default_value = "./keiyaku-data")]
        data_dir: PathBuf,
    },
}

#[derive(clap::Args, Debug, Clone)]
struct VerifyArgs {
    /// The PDF to verify.
    file: PathBuf,
    /// Print the report as JSON (the same as `POST /api/v1/verify`).
    #[arg(long)]
    json: bool,
    /// Trust anchors (PEM, one or more certificates) [default: <data-dir>/pki/root.pem when
    /// it exists].
    #[arg(long)]
    trust: Option<PathBuf>,
    /// The data dir whose root is trusted when `--trust` is not given.
    #[arg(long, env = "KEIYAKU_DATA_DIR", default_value = "./keiyaku-data")]
    data_dir: PathBuf,
}

#[derive(clap::Args, Debug, Clone)]
struct SealArgs {
    /// The PDF to seal.
    input: PathBuf,
    /// Where to write the sealed PDF.
    output: PathBuf,
    /// PAdES level.
    #[arg(long, value_enum, default_value = "b-t")]
    level: SealLevel,
    /// The data dir whose keys seal (its PKI is made if it has none).
    #[arg(long, env = "KEIYAKU_DATA_DIR", default_value = "./keiyaku-data")]
    data_dir: PathBuf,
    /// Base URL the PKI's certificates point at, if it is made now.
    #[arg(
        long,
        env = "KEIYAKU_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    public_url: String,
    /// `/Reason` of the seal.
    #[arg(long, default_value = "keiyaku seal")]
    reason: String,
    /// An RFC 3161 service to use instead of the local TSA (http:// only in this build).
    #[arg(long, env = "KEIYAKU_TSA_URL")]
    tsa_url: Option<String>,
    /// The roots that TSA's certificate must chain to (PEM); required with --tsa-url.
    #[arg(long, env = "KEIYAKU_TSA_TRUST")]
    tsa_trust: Option<PathBuf>,
    /// HTTP Basic credentials for that TSA, `user:password` (https only).
    #[arg(long, env = "KEIYAKU_TSA_CREDENTIALS", hide_env_values = true)]
    tsa_credentials: Option<String>,
    /// A private root for that TSA's https server (PEM), besides the public web's.
    #[arg(long, env = "KEIYAKU_TSA_TLS_ROOT")]
    tsa_tls_root: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum SealLevel {
    /// Signature only.
    #[value(name = "b-b")]
    BB,
    /// Signature with a signature timestamp.
    #[value(name = "b-t")]
    BT,
    /// B-T extended to long-term form: validation data and a document timestamp.
    #[value(name = "b-lta")]
    BLta,
}

#[derive(clap::Args, Debug, Clone)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "KEIYAKU_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Where data, keys and mail are kept.
    #[arg(long, env = "KEIYAKU_DATA_DIR", default_value = "./keiyaku-data")]
    data_dir: PathBuf,
    /// Base URL written into mails and certificates [default: http://<addr>].
    #[arg(long, env = "KEIYAKU_PUBLIC_URL")]
    public_url: Option<String>,
    /// SMTP relay, e.g. smtp://127.0.0.1:25 (mail always also lands in <data-dir>/mail/new).
    #[arg(long, env = "KEIYAKU_SMTP_URL")]
    smtp_url: Option<String>,
    /// Largest document accepted, in MiB.
    #[arg(long, env = "KEIYAKU_MAX_DOCUMENT_MB", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=1024))]
    max_document_mb: u64,
    /// A folder with contract.asl.json and tasks.json to run instead of the built-in ones.
    #[arg(long, env = "KEIYAKU_STATEMACHINES")]
    statemachines: Option<PathBuf>,
    /// Let anyone ask the local TSA for timestamps at POST /api/v1/tsa (rate-limited per
    /// client address). Off by default: it signs whatever it is sent with a key the verifier
    /// trusts.
    #[arg(long, env = "KEIYAKU_PUBLIC_TSA")]
    public_tsa: bool,
    /// Timestamps the public TSA gives one client address in 15 minutes.
    #[arg(long, env = "KEIYAKU_PUBLIC_TSA_LIMIT", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    public_tsa_limit: u64,
    /// A reverse proxy's address range (CIDR; repeatable, or comma-separated in the
    /// variable): X-Forwarded-For is read only from these peers, right to left.
    #[arg(
        long = "trusted-proxy",
        env = "KEIYAKU_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<ipnet::IpNet>,
    /// Serve https (TLS 1.2 and 1.3) with this certificate chain (PEM); needs --tls-key.
    #[arg(long, env = "KEIYAKU_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, env = "KEIYAKU_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

/// Runs the command line; the process's exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    if let Some(name) = keiyaku_core::failpoint::arm_from_env() {
        tracing::warn!(failpoint = %name, "a failpoint is armed (a test build)");
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("keiyaku: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Some(Command::Serve(args)) => runtime.block_on(serve(args)),
        Some(Command::Seal(args)) => runtime.block_on(seal(args)),
        Some(Command::Verify(args)) => verify(&args),
        Some(Command::Operator(OperatorCommand::Grant { email, data_dir })) => {
            runtime.block_on(grant_operator(&email, data_dir))
        }
        Some(Command::Audit(AuditCommand::Verify { data_dir })) => {
            runtime.block_on(verify_audit(data_dir))
        }
        Some(Command::StepFunctions(args)) => runtime.block_on(step_functions(args)),
        None => runtime.block_on(serve(cli.serve)),
    }
}

async fn step_functions(args: StepFunctionsArgs) -> ExitCode {
    let running = match server::step_functions::start(
        args.addr,
        &args.data_dir,
        &args.lambda_endpoint,
        args.statemachines,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("keiyaku: {e}");
            return ExitCode::from(2);
        }
    };
    println!("keiyaku step-functions: listening on {}", running.url);
    stopped().await;
    running.stop().await;
    ExitCode::SUCCESS
}

async fn seal(args: SealArgs) -> ExitCode {
    let public_url = match server::check_public_url(&args.public_url) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("keiyaku: {e}");
            return ExitCode::from(2);
        }
    };
    let pki = match keiyaku_local::pki::LocalPki::open_or_create(
        &keiyaku_local::pki::LocalPki::dir(&args.data_dir),
        &public_url,
    ) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("keiyaku: data dir {}: {e}", args.data_dir.display());
            return ExitCode::from(2);
        }
    };
    use keiyaku_local::sealing::Target;
    let level = match args.level {
        SealLevel::BB => Target::Level(keiyaku_pdf::seal::Level::BB),
        SealLevel::BT => Target::Level(keiyaku_pdf::seal::Level::BT),
        SealLevel::BLta => Target::Lta,
    };
    let clock: Arc<dyn keiyaku_core::clock::Clock> = Arc::new(SystemClock);
    let usage = |e: String| {
        eprintln!("keiyaku: {e}");
        ExitCode::from(2)
    };
    let revocation = match keiyaku_net::crl::CrlFetcher::new() {
        Ok(fetcher) => Arc::new(keiyaku_local::revocation::LocalRevocation::new(
            pki.clone(),
            clock.clone(),
            Arc::new(fetcher),
        )),
        Err(e) => return usage(e.to_string()),
    };
    let mut anchors = vec![pki.root.cert.clone()];
    let tsa: Box<dyn keiyaku_core::ports::Tsa> = match (&args.tsa_url, &args.tsa_trust) {
        (Some(url), Some(trust)) => {
            let tsa_anchors = match std::fs::read(trust)
                .map_err(|e| e.to_string())
                .and_then(|pem| keiyaku_pdf::verify::load_anchors(&pem))
            {
                Ok(a) => a,
                Err(e) => return usage(format!("{}: {e}", trust.display())),
            };
            anchors.extend(tsa_anchors.iter().cloned());
            let tls_roots = match &args.tsa_tls_root {
                Some(path) => match std::fs::read(path)
                    .map_err(|e| e.to_string())
                    .and_then(|pem| keiyaku_pdf::verify::load_anchors(&pem))
                    .and_then(|certs| {
                        certs
                            .iter()
                            .map(|c| der::Encode::to_der(c).map_err(|e| e.to_string()))
                            .collect::<Result<Vec<_>, _>>()
                    }) {
                    Ok(roots) => roots,
                    Err(e) => return usage(format!("{}: {e}", path.display())),
                },
                None => Vec::new(),
            };
            let credentials = match args.tsa_credentials.as_deref().map(|c| c.split_once(':')) {
                None => None,
                Some(Some((user, password))) => Some((user.to_owned(), password.to_owned())),
                Some(None) => return usage("--tsa-credentials is user:password".into()),
            };
            let trust = keiyaku_net::tsa::TsaTrust {
                anchors: tsa_anchors,
                revocation: revocation.clone(),
                tls_roots,
            };
            match keiyaku_net::tsa::RemoteTsa::new(url, credentials, trust, clock.clone()) {
                Ok(t) => Box::new(t),
                Err(e) => return usage(e.to_string()),
            }
        }
        (Some(_), None) => {
            return usage("--tsa-url needs --tsa-trust (the TSA's root, PEM)".into());
        }
        (None, _) => Box::new(keiyaku_local::pki::LocalTsa::new(
            pki.clone(),
            clock.clone(),
        )),
    };
    let sealing = keiyaku_core::sealing::Sealing {
        key: &pki,
        tsa: &*tsa,
        revocation: &*revocation,
        anchors: &anchors,
        clock,
    };
    match keiyaku_local::sealing::seal_file(
        &sealing,
        &args.input,
        &args.output,
        level,
        &args.reason,
    )
    .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keiyaku: {e}");
            ExitCode::FAILURE
        }
    }
}

fn verify(args: &VerifyArgs) -> ExitCode {
    let fail = |what: String| {
        eprintln!("keiyaku: {what}");
        ExitCode::from(2)
    };
    let trust_file = args.trust.clone().or_else(|| {
        let local = keiyaku_local::pki::LocalPki::dir(&args.data_dir).join("root.pem");
        local.exists().then_some(local)
    });
    let anchors = match &trust_file {
        Some(path) => match std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|pem| keiyaku_pdf::verify::load_anchors(&pem))
        {
            Ok(anchors) => anchors,
            Err(e) => return fail(format!("trust anchors {}: {e}", path.display())),
        },
        None => Vec::new(),
    };
    let pdf = match std::fs::read(&args.file) {
        Ok(pdf) => pdf,
        Err(e) => return fail(format!("{}: {e}", args.file.display())),
    };
    let report = match keiyaku_pdf::verify::verify(&pdf, &anchors, time::OffsetDateTime::now_utc())
    {
        Ok(report) => report,
        Err(e) => {
            return fail(format!(
                "{}: 検証できません / cannot be verified: {e} ({})",
                args.file.display(),
                e.code()
            ));
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => return fail(format!("report: {e}")),
        }
    } else {
        if anchors.is_empty() {
            println!("信頼点なし (--trust を指定) / no trust anchors (give --trust)");
        }
        print!("{}", report.summary_text());
    }
    ExitCode::from(u8::try_from(report.status.exit_code()).unwrap_or(2))
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("KEIYAKU_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn serve(args: ServeArgs) -> ExitCode {
    let options = ServeOptions {
        addr: args.addr,
        data_dir: args.data_dir,
        public_url: args.public_url,
        smtp_url: args.smtp_url,
        max_document_bytes: args.max_document_mb * 1024 * 1024,
        statemachines: args.statemachines,
        public_tsa: args.public_tsa.then_some(args.public_tsa_limit),
        trusted_proxies: args.trusted_proxies,
        tls: args.tls_cert.zip(args.tls_key),
    };
    let running = match server::start(options, Arc::new(SystemClock)).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("keiyaku: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "keiyaku is serving {} (data in {})",
        running.url,
        running.data_dir.display()
    );
    stopped().await;
    running.stop().await;
    ExitCode::SUCCESS
}

/// Completes on Ctrl-C or SIGTERM.
async fn stopped() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => return ctrl_c.await.unwrap_or(()),
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.unwrap_or(());
}

/// The services of a data dir, for a command run beside (or instead of) the server.
fn offline_services(data_dir: PathBuf) -> Result<Arc<keiyaku_core::Services>, String> {
    let options = ServeOptions {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir,
        public_url: None,
        smtp_url: None,
        max_document_bytes: 20 << 20,
        statemachines: None,
        public_tsa: None,
        trusted_proxies: Vec::new(),
        tls: None,
    };
    server::open_services(
        &options,
        "http://127.0.0.1:8080",
        Arc::new(SystemClock),
        &server::Seams::default(),
    )
    .map(|(services, _, _)| services)
    .map_err(|e| e.to_string())
}

async fn verify_audit(data_dir: PathBuf) -> ExitCode {
    let services = match offline_services(data_dir) {
        Ok(services) => services,
        Err(e) => {
            eprintln!("keiyaku: {e}");
            return ExitCode::from(2);
        }
    };
    let teams = match keiyaku_core::app::audit::verify_all(&*services).await {
        Ok(teams) => teams,
        Err(e) => {
            eprintln!("keiyaku: {e}");
            return ExitCode::from(2);
        }
    };
    let mut intact = true;
    for (team, v) in &teams {
        match &v.broken {
            None => println!(
                "team {team}: intact ({} events to #{}, {} waiting)",
                v.checked, v.head_seq, v.unchained
            ),
            Some(b) => {
                intact = false;
                println!(
                    "team {team}: BROKEN at #{} ({}{})",
                    b.seq,
                    b.reason,
                    b.event_id
                        .as_deref()
                        .map(|id| format!(", event {id}"))
                        .unwrap_or_default()
                );
            }
        }
    }
    if teams.is_empty() {
        println!("no audit chains yet");
    }
    if intact {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn grant_operator(email: &str, data_dir: PathBuf) -> ExitCode {
    let services = match offline_services(data_dir) {
        Ok(services) => services,
        Err(e) => {
            eprintln!("keiyaku: {e}");
            return ExitCode::from(2);
        }
    };
    match keiyaku_core::app::accounts::grant_operator(&*services, email).await {
        Ok(user) => {
            println!("{} ({}) is an operator", user.email, user.name);
            ExitCode::SUCCESS
        }
        Err(keiyaku_core::Error::NotFound) => {
            eprintln!("keiyaku: no account has the address {email}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("keiyaku: {e}");
            ExitCode::from(2)
        }
    }
}
