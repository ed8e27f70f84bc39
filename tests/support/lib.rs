//! Test support: a fresh keiyaku server per test (in-process on port 0, with a clock the
//! test moves, or the real binary as a separate process), an HTTP client that keeps the
//! session, and readers for the maildir, the database and the blob folder.

pub mod aws_shape;
pub mod lambda;
pub mod moto;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use keiyaku_core::clock::ManualClock;
use keiyaku_server::{self as server, Running, ServeOptions};
use mail_parser::MimeHeaders;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

/// A password every test user may use (strong, unrelated to the test names).
pub const PASSWORD: &str = "Kumo-no-ue 7 tanuki!";

/// A server with its own data dir and test clock.
pub struct TestApp {
    /// Its base URL.
    pub url: String,
    /// The data dir.
    pub dir: tempfile::TempDir,
    /// The clock the server reads.
    pub clock: Arc<ManualClock>,
    /// Every message the mailer delivered, in order, repeats included.
    deliveries: Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    running: Option<Running>,
}

/// A mailer that records every delivery, then hands it to the real one (the maildir).
struct Recording {
    inner: Arc<dyn keiyaku_core::ports::Mailer>,
    deliveries: Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

#[async_trait::async_trait]
impl keiyaku_core::ports::Mailer for Recording {
    async fn send(
        &self,
        mail: &keiyaku_core::ports::OutgoingMail,
    ) -> Result<(), keiyaku_core::ports::MailError> {
        self.inner.send(mail).await?;
        self.deliveries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(mail.raw.clone());
        Ok(())
    }
}

/// A TSA that fails while `broken` is set (as a remote one may for a while).
pub struct FlakyTsa {
    inner: Arc<dyn keiyaku_core::ports::Tsa>,
    broken: Arc<std::sync::atomic::AtomicBool>,
}

impl FlakyTsa {
    /// Seams whose TSA fails while `broken` is set.
    pub fn seams(broken: Arc<std::sync::atomic::AtomicBool>) -> server::Seams {
        server::Seams {
            tsa: Some(Arc::new(move |inner| {
                Arc::new(FlakyTsa {
                    inner,
                    broken: broken.clone(),
                }) as Arc<dyn keiyaku_core::ports::Tsa>
            })),
            ..Default::default()
        }
    }
}

#[async_trait::async_trait]
impl keiyaku_core::ports::Tsa for FlakyTsa {
    async fn timestamp(&self, digest: &[u8; 32]) -> Result<Vec<u8>, keiyaku_core::ports::TsaError> {
        if self.broken.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(keiyaku_core::ports::TsaError::Unavailable(
                "connection refused".into(),
            ));
        }
        self.inner.timestamp(digest).await
    }
}

impl TestApp {
    /// Starts a server with a fresh data dir.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(20).await
    }

    /// Starts a server whose document limit is `max_mb` MiB.
    pub async fn spawn_with(max_mb: u64) -> TestApp {
        Self::start(max_mb, None).await
    }

    /// Starts a server that believes it is reached at `public_url` (e.g. behind TLS).
    pub async fn spawn_at(public_url: &str) -> TestApp {
        Self::start(20, Some(public_url.to_owned())).await
    }

    /// Starts a server with test seams (e.g. a TSA that fails while a test says so).
    pub async fn spawn_with_seams(seams: server::Seams) -> TestApp {
        Self::start_with(20, None, seams, false, &[]).await
    }

    /// Starts a server whose TSA answers anyone at `POST /api/v1/tsa` (`--public-tsa`).
    pub async fn spawn_with_public_tsa() -> TestApp {
        Self::start_with(20, None, server::Seams::default(), true, &[]).await
    }

    /// Starts a server that believes `X-Forwarded-For` from peers in `proxies`.
    pub async fn spawn_behind(proxies: &[ipnet::IpNet]) -> TestApp {
        Self::start_with(20, None, server::Seams::default(), false, proxies).await
    }

    async fn start(max_mb: u64, public_url: Option<String>) -> TestApp {
        Self::start_with(max_mb, public_url, server::Seams::default(), false, &[]).await
    }

    async fn start_with(
        max_mb: u64,
        public_url: Option<String>,
        seams: server::Seams,
        public_tsa: bool,
        trusted_proxies: &[ipnet::IpNet],
    ) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
        let deliveries = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut seams = seams;
        if seams.mailer.is_none() {
            let recorded = deliveries.clone();
            seams.mailer = Some(Arc::new(move |inner| {
                Arc::new(Recording {
                    inner,
                    deliveries: recorded.clone(),
                }) as Arc<dyn keiyaku_core::ports::Mailer>
            }));
        }
        let options = ServeOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.path().join("data"),
            public_url,
            smtp_url: None,
            max_document_bytes: max_mb * 1024 * 1024,
            statemachines: None,
            public_tsa: public_tsa.then_some(keiyaku_core::ratelimit::TSA_PER_ADDRESS.max),
            trusted_proxies: trusted_proxies.to_vec(),
            tls: None,
        };
        let running = server::start_with(options, clock.clone(), seams)
            .await
            .expect("server starts");
        TestApp {
            url: format!("http://{}", running.addr),
            dir,
            clock,
            deliveries,
            running: Some(running),
        }
    }

    /// Stops the server.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }

    /// The data dir.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The services the app serves with (what the workflow's tasks see).
    pub fn services(&self) -> keiyaku_core::Services {
        (*self.running().services).clone()
    }

    /// The app's workflow executor.
    pub fn runner(&self) -> keiyaku_workflow::Runner {
        self.running().runner.clone()
    }

    fn running(&self) -> &Running {
        self.running.as_ref().expect("the app is running")
    }

    /// Runs the jobs due by the test clock; how many ran in this call (the server's own
    /// loop may have run some meanwhile: by the return, everything due ran).
    pub async fn fire_scheduled(&self) -> usize {
        self.running()
            .scheduler
            .run_due()
            .await
            .expect("the timer table")
    }

    /// Waits until the workflow has nothing in flight (every task the last change caused has
    /// run, and what those caused).
    pub async fn settle(&self) {
        self.runner().idle().await;
    }

    /// A client with no session.
    pub fn anonymous(&self) -> Client {
        Client::new(&self.url, None)
    }

    /// Every mail delivered, decoded, oldest first, each delivery once (a message sent twice
    /// is here twice, though the maildir keeps one file for it).
    pub fn mails(&self) -> Vec<Mail> {
        self.deliveries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|raw| parse_mail(raw))
            .collect()
    }

    /// The last mail to `to`.
    pub fn last_mail_to(&self, to: &str) -> Mail {
        self.mails()
            .into_iter()
            .rev()
            .find(|m| m.to == to)
            .unwrap_or_else(|| panic!("no mail to {to}"))
    }

    /// Signs up, confirms from the mail and logs in with a bearer token.
    pub async fn user(&self, email: &str, name: &str) -> Client {
        let anon = self.anonymous();
        let r = anon
            .post_json(
                "/api/v1/auth/signup",
                json!({ "email": email, "name": name, "password": PASSWORD }),
            )
            .await;
        assert_eq!(r.status(), 202, "sign-up of {email}");
        let token = self.last_mail_to(email).link_token("/verify-email#");
        let r = anon
            .post_json("/api/v1/auth/verify-email", json!({ "token": token }))
            .await;
        assert_eq!(r.status(), 200, "verification of {email}");
        self.log_in(email).await
    }

    /// Logs the account `email` (password [`PASSWORD`], no second factor) in with a bearer
    /// token.
    pub async fn log_in(&self, email: &str) -> Client {
        let r = self
            .anonymous()
            .post_json(
                "/api/v1/auth/login",
                json!({ "email": email, "password": PASSWORD, "mode": "token" }),
            )
            .await;
        assert_eq!(r.status(), 200, "login of {email}");
        let body: Value = r.json().await.unwrap();
        Client::new(&self.url, Some(body["token"].as_str().unwrap().to_owned()))
    }

    /// How many items of this kind (`DOC#`, `UPLOAD#`…) the database holds.
    pub fn count_items(&self, sk_prefix: &str) -> i64 {
        self.count_rows("substr(sk, 1, length(?1)) = ?1", sk_prefix)
    }

    /// How many rows of the database's items meet `condition` (SQL, with `?1` bound to
    /// `param`), expired ones included: what is stored, not what reads see.
    pub fn count_rows(&self, condition: &str, param: impl rusqlite::ToSql) -> i64 {
        let db = rusqlite::Connection::open(self.data_dir().join("keiyaku.db")).unwrap();
        db.query_row(
            &format!("SELECT count(*) FROM items WHERE {condition}"),
            [param],
            |r| r.get(0),
        )
        .unwrap()
    }

    /// Every blob file under the blob folder.
    pub fn blob_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        walk(&self.data_dir().join("blobs/objects"), &mut out);
        out.sort();
        out
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// A decoded mail.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The recipient.
    pub to: String,
    /// The decoded subject.
    pub subject: String,
    /// The decoded text body.
    pub text: String,
    /// The Message-ID.
    pub message_id: String,
    /// Attachments: (file name, content).
    pub attachments: Vec<(String, Vec<u8>)>,
}

impl Mail {
    /// The token in the first link containing `marker` (e.g. `/verify-email#`).
    pub fn link_token(&self, marker: &str) -> String {
        let at = self
            .text
            .find(marker)
            .unwrap_or_else(|| panic!("no {marker} link in {}", self.text));
        self.text[at + marker.len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }
}

/// Reads every `.eml` in a maildir folder, oldest first.
pub fn read_mails(dir: &Path) -> Vec<Mail> {
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    (
                        e.metadata()
                            .and_then(|m| m.modified())
                            .unwrap_or(std::time::UNIX_EPOCH),
                        e.path(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .map(|(_, p)| parse_mail(&std::fs::read(&p).unwrap()))
        .collect()
}

/// One MIME message, decoded.
pub fn parse_mail(raw: &[u8]) -> Mail {
    let msg = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a MIME message");
    let to = msg
        .to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_owned();
    Mail {
        to,
        subject: msg.subject().unwrap_or_default().to_owned(),
        text: msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
        message_id: msg.message_id().unwrap_or_default().to_owned(),
        attachments: msg
            .attachments()
            .map(|a| {
                (
                    a.attachment_name().unwrap_or_default().to_owned(),
                    a.contents().to_vec(),
                )
            })
            .collect(),
    }
}

/// An HTTP client for one caller: a bearer token, or a cookie session with its CSRF token.
#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    bearer: Option<String>,
    /// Cookie header value and CSRF token of a browser session.
    pub cookie: Option<(String, String)>,
}

impl Client {
    fn new(base: &str, bearer: Option<String>) -> Client {
        Client {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                // A fresh connection per request: a test that makes the server abort a
                // response must not have the next request land on that dead connection.
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
            bearer,
            cookie: None,
        }
    }

    /// A client with this bearer token.
    pub fn with_token(base: &str, token: &str) -> Client {
        Client::new(base, Some(token.to_owned()))
    }

    /// The bearer token, if any.
    pub fn token(&self) -> Option<&str> {
        self.bearer.as_deref()
    }

    /// Logs in with a cookie session (as a browser does).
    pub async fn browser_login(base: &str, email: &str, password: &str) -> Client {
        let mut c = Client::new(base, None);
        let r = c
            .post_json(
                "/api/v1/auth/login",
                json!({ "email": email, "password": password }),
            )
            .await;
        assert_eq!(r.status(), 200);
        let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        let body: Value = r.json().await.unwrap();
        let pair = set_cookie.split(';').next().unwrap().to_owned();
        c.cookie = Some((
            pair,
            body["user"]["csrf_token"].as_str().unwrap().to_owned(),
        ));
        c
    }

    /// Opens a recipient link (`POST /r/session`); on success also a client holding the
    /// recipient cookie.
    pub async fn open_link(
        base: &str,
        token: &str,
        code: Option<&str>,
    ) -> (reqwest::StatusCode, Value, Option<Client>) {
        Self::try_open_link(base, token, code)
            .await
            .expect("the server answers")
    }

    /// [`Client::open_link`], or `Err` when the request got no answer (a server that is
    /// going away).
    pub async fn try_open_link(
        base: &str,
        token: &str,
        code: Option<&str>,
    ) -> reqwest::Result<(reqwest::StatusCode, Value, Option<Client>)> {
        let anon = Client::new(base, None);
        let mut body = json!({ "token": token });
        if let Some(code) = code {
            body["code"] = code.into();
        }
        let r = anon
            .request(reqwest::Method::POST, "/api/v1/r/session")
            .json(&body)
            .send()
            .await?;
        let status = r.status();
        let cookie = r
            .headers()
            .get("set-cookie")
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
        let body: Value = r.json().await?;
        let client = cookie.map(|c| {
            let mut client = Client::new(base, None);
            client.cookie = Some((c, String::new()));
            client
        });
        Ok((status, body, client))
    }

    /// A request with this caller's credentials.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut headers = HeaderMap::new();
        if let Some(t) = &self.bearer {
            headers.insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {t}")).unwrap(),
            );
        }
        if let Some((cookie, csrf)) = &self.cookie {
            headers.insert("cookie", HeaderValue::from_str(cookie).unwrap());
            if !csrf.is_empty() {
                headers.insert("x-csrf-token", HeaderValue::from_str(csrf).unwrap());
            }
        }
        self.http
            .request(method, format!("{}{path}", self.base))
            .headers(headers)
    }

    /// GET of a JSON answer that must be 200: its body.
    pub async fn get_json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.expect("a JSON body")
    }

    /// GET.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap()
    }

    /// POST with a JSON body.
    pub async fn post_json(&self, path: &str, body: Value) -> reqwest::Response {
        self.request(reqwest::Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// PATCH with a JSON body.
    pub async fn patch_json(&self, path: &str, body: Value) -> reqwest::Response {
        self.request(reqwest::Method::PATCH, path)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// DELETE.
    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::DELETE, path)
            .send()
            .await
            .unwrap()
    }

    /// Uploads through an upload slot and creates the document; the final response.
    pub async fn upload(&self, filename: &str, pdf: Vec<u8>, title: &str) -> reqwest::Response {
        let slot = self
            .post_json(
                "/api/v1/documents/uploads",
                json!({ "filename": filename, "size": pdf.len() }),
            )
            .await;
        assert_eq!(slot.status(), 201, "upload slot");
        let slot: Value = slot.json().await.unwrap();
        let url = slot["url"].as_str().unwrap();
        if slot["method"] == "POST" {
            // A presigned POST to the staging bucket, as a browser sends the form: the
            // fields, then the file; no credentials of ours go there.
            let mut form = reqwest::multipart::Form::new();
            for (name, value) in slot["fields"].as_object().unwrap() {
                form = form.text(name.clone(), value.as_str().unwrap().to_owned());
            }
            form = form.part(
                "file",
                reqwest::multipart::Part::bytes(pdf)
                    .file_name(filename.to_owned())
                    .mime_str("application/pdf")
                    .unwrap(),
            );
            let r = reqwest::Client::new()
                .post(url)
                .multipart(form)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "the staging area took the file");
            return self
                .post_json(
                    "/api/v1/documents",
                    json!({ "upload_id": slot["upload_id"], "title": title }),
                )
                .await;
        }
        let r = self
            .http
            .put(url)
            .headers(
                self.request(reqwest::Method::PUT, "/")
                    .build()
                    .unwrap()
                    .headers()
                    .clone(),
            )
            .header("content-type", "application/pdf")
            .body(pdf)
            .send()
            .await
            .unwrap();
        if r.status() != 200 {
            return r;
        }
        self.post_json(
            "/api/v1/documents",
            json!({ "upload_id": slot["upload_id"], "title": title }),
        )
        .await
    }

    /// The one-call upload.
    /// POSTs `body` to `path` with the given content type.
    pub async fn post_body(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.request(reqwest::Method::POST, path)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// A draft of a one-page sample PDF named `filename`, made in one call: its id.
    pub async fn sample_draft(&self, filename: &str) -> String {
        let r = self
            .upload_direct(filename, keiyaku_pdf::sample::pdf_with_pages(1))
            .await;
        assert_eq!(r.status(), 201, "upload of {filename}");
        let created: Value = r.json().await.unwrap();
        created["id"].as_str().unwrap().to_owned()
    }

    /// Sends a PDF in one call (`POST /documents`).
    pub async fn upload_direct(&self, filename: &str, pdf: Vec<u8>) -> reqwest::Response {
        self.request(reqwest::Method::POST, "/api/v1/documents")
            .query(&[("filename", filename)])
            .header("content-type", "application/pdf")
            .body(pdf)
            .send()
            .await
            .unwrap()
    }
}

/// The error code of a JSON error response.
pub async fn error_code(r: reqwest::Response) -> String {
    let status = r.status();
    let body: Value = r
        .json()
        .await
        .unwrap_or_else(|e| panic!("status {status}: not JSON: {e}"));
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
        .to_owned()
}

/// The real `keiyaku` binary, running as a separate process on a free port.
pub struct Process {
    child: std::process::Child,
    /// Its base URL.
    pub url: String,
    /// Its data dir.
    pub data_dir: PathBuf,
    /// Where its stderr (the JSON log) goes.
    pub log: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Process {
    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its exit status, once it has exited (without waiting).
    pub fn exit_code(&mut self) -> Option<i32> {
        self.child
            .try_wait()
            .unwrap()
            .map(|status| status.code().unwrap_or(-1))
    }

    /// Starts it again on the same address and data dir (stopping it first if it runs),
    /// with `env` set instead of the first start's.
    pub fn restart(&mut self, env: &[(&str, &str)]) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn_server(self.port, &self.data_dir, &self.log, env);
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `keiyaku` binary of the same build as the running executable: beside it (a benchmark
/// in target/<profile>/) or one folder up (a test in target/<profile>/deps/).
pub fn keiyaku_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let beside = exe.parent().unwrap().join("keiyaku");
    if beside.exists() {
        return beside;
    }
    let bin = exe
        .parent()
        .and_then(|p| p.parent())
        .unwrap()
        .join("keiyaku");
    assert!(
        bin.exists(),
        "{bin:?} missing: build the workspace first (tests/run and tests/bench do)"
    );
    bin
}

/// Starts `keiyaku serve` with `env` set, and waits for its start line.
pub fn start_process(env: &[(&str, &str)]) -> Process {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data_dir = dir.path().join("data");
    let log = dir.path().join("stderr.log");
    let child = spawn_server(port, &data_dir, &log, env);
    Process {
        child,
        url: format!("http://127.0.0.1:{port}"),
        data_dir,
        log,
        port,
        _dir: dir,
    }
}

/// `keiyaku serve` on `port` and `data_dir`, its stderr appended to `log`, once it says it
/// is serving.
fn spawn_server(
    port: u16,
    data_dir: &Path,
    log: &Path,
    env: &[(&str, &str)],
) -> std::process::Child {
    use std::io::BufRead;
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let mut child = std::process::Command::new(keiyaku_binary())
        .arg("serve")
        .arg("--addr")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(data_dir)
        .env("KEIYAKU_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.contains("keiyaku is serving"),
        "unexpected start line {line:?}; log: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
    child
}

/// The peak resident set size of a process, in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}

/// A user signed up, confirmed from the maildir and logged in over plain HTTP.
pub struct Account {
    /// The bearer token.
    pub token: String,
    /// The (used) e-mail confirmation token.
    pub verify_token: String,
}

/// Seals `pdf` at B-T through `sealing`, extends it to long-term form, and verifies the
/// result against the sealing's anchors, which must find it valid at B-LTA; the B-T file.
pub async fn seal_to_long_term_form(
    sealing: &keiyaku_core::sealing::Sealing<'_>,
    pdf: &[u8],
) -> Vec<u8> {
    let (sealed, hash) = sealing
        .seal(pdf, keiyaku_pdf::seal::Level::BT, "送信")
        .await
        .unwrap();
    // Long-term form: the DSS with every certificate and fresh CRLs, then a document
    // timestamp.
    let long_term = sealing.extend_lta(&sealed, Some(&hash)).await.unwrap();
    let report = keiyaku_pdf::verify::verify(
        &long_term.pdf,
        sealing.anchors,
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    assert_eq!(
        report.status,
        keiyaku_pdf::verify::Status::Valid,
        "{report:?}"
    );
    assert_eq!(report.level, Some(keiyaku_pdf::verify::Level::BLTA));
    sealed
}

/// Signs up `email` on the server at `url` whose data dir is `data_dir`, confirms the
/// address from the mail, and logs in with a bearer token.
pub async fn sign_up_and_log_in(url: &str, data_dir: &Path, email: &str) -> Account {
    let maildir = data_dir.join("mail/new");
    sign_up_and_log_in_with(url, email, || read_mails(&maildir)).await
}

/// [`sign_up_and_log_in`], reading the confirmation mail from `mails` (e.g. an
/// [`SmtpSink`]).
pub async fn sign_up_and_log_in_with(
    url: &str,
    email: &str,
    mails: impl Fn() -> Vec<Mail>,
) -> Account {
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| http.post(format!("{url}{path}")).json(&body).send();
    let r = post(
        "/api/v1/auth/signup",
        json!({ "email": email, "name": "Test User", "password": PASSWORD }),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 202, "sign-up of {email}");
    let verify_token = mails()
        .into_iter()
        .rev()
        .find(|m| m.to == email)
        .expect("verification mail")
        .link_token("/verify-email#");
    let r = post(
        "/api/v1/auth/verify-email",
        json!({ "token": verify_token }),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200, "verification of {email}");
    let login: Value = post(
        "/api/v1/auth/login",
        json!({ "email": email, "password": PASSWORD, "mode": "token" }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    Account {
        token: login["token"].as_str().expect("a bearer token").to_owned(),
        verify_token,
    }
}

/// A PDF of about `size` bytes with `revisions` more revisions, each a "signature" over the
/// whole revision whose CMS (the sealing certificate of the data dir's PKI, a signature over
/// another digest) parses: the costliest file to verify per byte (every revision is hashed
/// and compared with every later one).
pub fn costly_to_verify(data_dir: &Path, url: &str, size: usize, revisions: usize) -> Vec<u8> {
    use keiyaku_local::pki::LocalPki;
    let pki = LocalPki::open_or_create(&LocalPki::dir(data_dir), url).unwrap();
    let attributes = keiyaku_pdf::seal::signed_attributes(&[7; 32], &pki.service.cert).unwrap();
    let cms = keiyaku_pdf::seal::assemble_cms(
        attributes,
        &[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01],
        &pki.service.cert,
        &[],
        None,
    )
    .unwrap();
    let base = keiyaku_pdf::sample::pdf_of_size(size, 11);
    keiyaku_pdf::tamper::many_signature_revisions(&base, &cms, revisions).unwrap()
}

/// An SMTP server on loopback that records every message relayed to it (a delivery each
/// time, repeats included): what a relay configured with `KEIYAKU_SMTP_URL` delivered.
pub struct SmtpSink {
    /// `smtp://127.0.0.1:<port>`.
    pub url: String,
    received: Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

impl SmtpSink {
    /// Starts listening (on the current Tokio runtime).
    pub async fn start() -> SmtpSink {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let received = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = received.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let sink = sink.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read);
                    if write.write_all(b"220 sink\r\n").await.is_err() {
                        return;
                    }
                    let mut data: Option<Vec<u8>> = None;
                    let mut line = Vec::new();
                    loop {
                        line.clear();
                        match lines.read_until(b'\n', &mut line).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        if let Some(body) = data.as_mut() {
                            if line == b".\r\n" {
                                let message = data.take().unwrap_or_default();
                                sink.lock().unwrap_or_else(|e| e.into_inner()).push(message);
                                if write.write_all(b"250 queued\r\n").await.is_err() {
                                    return;
                                }
                            } else {
                                // Dot-unstuffing (RFC 5321 section 4.5.2).
                                let text = line.strip_prefix(b".").unwrap_or(&line);
                                body.extend_from_slice(text);
                            }
                            continue;
                        }
                        let verb = String::from_utf8_lossy(line.get(..4).unwrap_or(&[]))
                            .to_ascii_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "EHLO" | "HELO" => b"250-sink\r\n250 8BITMIME\r\n",
                            "DATA" => {
                                data = Some(Vec::new());
                                b"354 go ahead\r\n"
                            }
                            "QUIT" => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                return;
                            }
                            _ => b"250 ok\r\n",
                        };
                        if write.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        SmtpSink { url, received }
    }

    /// Every message received, decoded, in order.
    pub fn mails(&self) -> Vec<Mail> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|raw| parse_mail(raw))
            .collect()
    }
}
