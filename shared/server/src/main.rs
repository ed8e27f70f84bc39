//! `keiyaku`: the local all-in-one server and tools.

fn main() -> std::process::ExitCode {
    keiyaku_server::cli::run()
}
