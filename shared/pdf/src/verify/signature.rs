//! One signature field's value examined: its byte range and coverage, its CMS signature
//! or document timestamp, the signer's path and its revocation data.

use super::*;

/// Reads one signature field's value: byte range, coverage, CMS or token.
pub(super) fn examine(
    reader: &PdfReader<'_>,
    ends: &[usize],
    dss: &Dss,
    found: Found,
    mode: Mode,
) -> Entry {
    let value = &found.value;
    let bytes = reader.bytes();
    // Permissions that cannot be read forbid what the strictest would.
    let permissions = permissions::Permissions::read(reader, value, found.lock.as_ref())
        .unwrap_or_else(|_| permissions::Permissions::no_changes());
    let kind = match value.get(b"Type").and_then(Object::as_name) {
        Ok(b"DocTimeStamp") => Kind::DocumentTimestamp,
        _ => Kind::Signature,
    };
    let sub_filter = value
        .get(b"SubFilter")
        .and_then(Object::as_name)
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    let mut report = SignatureReport {
        index: 0,
        kind,
        field: found.field,
        sub_filter: sub_filter.clone(),
        status: Status::Valid,
        intact: false,
        signature_valid: false,
        coverage: Coverage::Partial,
        signed_bytes: 0,
        revision: None,
        later_changes: LaterChanges::None,
        changes: Vec::new(),
        signer: None,
        trusted: false,
        chain: Vec::new(),
        revocation: "no_data",
        reason: text_entry(value, b"Reason"),
        name: text_entry(value, b"Name"),
        claimed_time: text_entry(value, b"M"),
        timestamp: None,
        level: None,
        problems: Vec::new(),
    };
    let entry = |report: SignatureReport| Entry {
        report,
        end: 0,
        signer: None,
        token: None,
        cades_v2: false,
        certs: Vec::new(),
        permissions: permissions.clone(),
    };
    // /ByteRange [0 a b c]: two ranges around the /Contents hex string, nothing else left
    // out. Other shapes are still hashed (to tell altered bytes from odd coverage) but never
    // cover a whole revision.
    let range: Option<Vec<usize>> = match value.get(b"ByteRange") {
        Ok(Object::Array(items))
            if !items.is_empty() && items.len() % 2 == 0 && items.len() <= 64 =>
        {
            items
                .iter()
                .map(|i| i.as_i64().ok().and_then(|n| usize::try_from(n).ok()))
                .collect()
        }
        _ => None,
    };
    let contents = match value.get(b"Contents") {
        Ok(Object::String(s, _)) => Some(s.clone()),
        _ => None,
    };
    let ranges: Option<Vec<&[u8]>> = range.as_ref().and_then(|range| {
        range
            .chunks(2)
            .map(|pair| bytes.get(pair[0]..pair[0].checked_add(pair[1])?))
            .collect()
    });
    let (Some(range), Some(contents), Some(parts)) = (range, contents, ranges) else {
        report.problems.push(problem(
            "byte_range_invalid",
            "no usable /ByteRange and /Contents",
            Status::Invalid,
        ));
        return entry(report);
    };
    let end = range.chunks(2).map(|p| p[0] + p[1]).max().unwrap_or(0);
    let standard = match range.as_slice() {
        &[0, a, b, c] => {
            a < b
                && b.saturating_add(c) <= bytes.len()
                && bytes[a] == b'<'
                && bytes[b - 1] == b'>'
                && bytes[a + 1..b - 1]
                    .iter()
                    .all(|x| x.is_ascii_hexdigit() || x.is_ascii_whitespace())
                && decode_hex(&bytes[a + 1..b - 1]).as_deref() == Some(contents.as_slice())
        }
        _ => false,
    };
    report.signed_bytes = end;
    report.coverage = if !standard {
        report.problems.push(problem(
            "byte_range_invalid",
            "the /ByteRange does not leave out exactly the /Contents string",
            Status::Invalid,
        ));
        Coverage::Partial
    } else if end == bytes.len() {
        Coverage::EntireFile
    } else if ends.contains(&end) {
        Coverage::EntireRevision
    } else {
        report.problems.push(problem(
            "incomplete_coverage",
            "the signature covers part of a revision: the rest is unaccounted for",
            Status::Invalid,
        ));
        Coverage::Partial
    };
    report.revision = ends.iter().position(|&e| e == end).map(|i| i + 1);
    let mut result = Entry {
        end,
        ..entry(report)
    };
    match (kind, sub_filter.as_str()) {
        (Kind::DocumentTimestamp, _) | (_, "ETSI.RFC3161") => {
            let Some(token) = der_prefix(&contents) else {
                result.report.problems.push(problem(
                    "timestamp_malformed",
                    "/Contents holds no DER value",
                    Status::Invalid,
                ));
                return result;
            };
            let over = (mode == Mode::Verify).then_some(parts.as_slice());
            let checked = check_token(token, over, &dss.certs, "the document timestamp");
            if let Some(token) = checked.token {
                result.report.intact = true;
                result.report.signature_valid = true;
                result.report.signer = Some(summary(&token.tsa_cert));
                result.signer = Some(token.tsa_cert.clone());
                result.token = Some(token);
            } else if let Some(p) = checked.problem {
                result.report.intact = p.code != "timestamp_imprint_mismatch";
                result.report.problems.push(p);
            }
        }
        (_, "ETSI.CAdES.detached" | "adbe.pkcs7.detached") => {
            let check = check_cms(
                &contents,
                &parts,
                &dss.certs,
                mode,
                &mut result.report.problems,
            );
            result.report.intact = check.intact;
            result.report.signature_valid = check.signature_valid;
            result.report.signer = check.signer.as_ref().map(summary);
            result.cades_v2 =
                sub_filter == "ETSI.CAdES.detached" && check.has_signing_certificate_v2;
            if let Some((token, signature)) = &check.timestamp {
                let mut pool = check.certs.clone();
                pool.extend(dss.certs.iter().cloned());
                let checked =
                    check_token(token, Some(&[signature]), &pool, "the signature timestamp");
                match checked.token {
                    Some(token) => result.token = Some(token),
                    None => {
                        result.report.timestamp = Some(TimestampReport {
                            time: None,
                            valid: false,
                            trusted: false,
                            tsa: None,
                            revocation: "no_data",
                        });
                        result.report.problems.extend(checked.problem);
                    }
                }
            }
            result.signer = check.signer;
            result.certs = check.certs;
        }
        (_, other) => result.report.problems.push(problem(
            "unsupported_algorithm",
            format!("/SubFilter /{other} is not verified"),
            Status::Indeterminate,
        )),
    }
    result
}
