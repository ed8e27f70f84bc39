//! Writes the tampered variants of a sealed PDF (see `keiyaku_pdf::tamper`) into a folder,
//! for the external judges: `tamper SEALED.pdf OUT_DIR [--xref-stream]`.

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(input), Some(out)) = (args.first(), args.get(1)) else {
        eprintln!("usage: tamper SEALED.pdf OUT_DIR [--xref-stream]");
        return std::process::ExitCode::from(2);
    };
    let xref_stream = args.iter().any(|a| a == "--xref-stream");
    let run = || -> Result<(), String> {
        let sealed = std::fs::read(input).map_err(|e| format!("{input}: {e}"))?;
        let variants =
            keiyaku_pdf::tamper::variants(&sealed, xref_stream).map_err(|e| e.to_string())?;
        for (name, bytes) in variants {
            let path = std::path::Path::new(out).join(format!("{name}.pdf"));
            std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            println!("{}", path.display());
        }
        Ok(())
    };
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tamper: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
