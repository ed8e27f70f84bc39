//! Failpoints: named places between durability steps where the crash-and-restart tests
//! kill the process, to prove that a restart finishes the work and that every effect still
//! happens exactly once. `KEIYAKU_FAILPOINT=<name>` exits at the first pass of `<name>`,
//! `<name>@<n>` at its n-th pass. The mechanism is the `fail` crate's, compiled in only
//! with the `failpoints` feature (the tests' builds turn it on; `cargo run --release`
//! leaves it out).

/// The domain's failpoints (the executor's are in `keiyaku-workflow`).
pub const FAILPOINTS: &[&str] = &[
    // A send is committed (status, outbox); its execution is not started.
    "send.committed_before_start",
    // A party's answer is committed (with its outbox entry); the task is not completed.
    "answer.recorded_before_deliver",
    // A new sealed version of the file is stored; the document does not record it yet.
    "evidence.stored_before_record",
    // One more completion mail went out; the others have not.
    "completion.mailed_one",
];

/// The exit status of a process killed by a failpoint (distinct from panics and signals).
pub const FAILPOINT_EXIT_CODE: i32 = 86;

/// Exits the process at once (status 86, no destructors, nothing flushed but stderr) when
/// `name` is armed ([`arm_from_env`]) and this is the pass it names. Without the
/// `failpoints` feature (every shipped build) this is nothing at all.
pub fn failpoint(name: &str) {
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
    fail::fail_point!(name, |_| {
        eprintln!("keiyaku: failpoint {name} reached, exiting");
        std::process::exit(FAILPOINT_EXIT_CODE)
    });
}

/// Arms the failpoint that `KEIYAKU_FAILPOINT` names — `<name>` for its first pass,
/// `<name>@<n>` for its n-th — in a build with the `failpoints` feature; call it once at
/// start. Returns the name armed.
pub fn arm_from_env() -> Option<String> {
    let raw = std::env::var("KEIYAKU_FAILPOINT").ok()?;
    let (name, nth) = match raw.split_once('@') {
        Some((name, n)) => (name.to_owned(), n.parse().unwrap_or(1)),
        None => (raw, 1usize),
    };
    // `fail`'s actions: pass `nth - 1` times doing nothing, then return (exit, above).
    let action = match nth {
        0 | 1 => "return".to_owned(),
        n => format!("{}*off->return", n - 1),
    };
    if cfg!(feature = "failpoints")
        && let Err(e) = fail::cfg(name.clone(), &action)
    {
        eprintln!("keiyaku: failpoint {name}: {e}");
        return None;
    }
    cfg!(feature = "failpoints").then_some(name)
}
