//! Untrusted text parsed once into values the domain can rely on: e-mail addresses, names,
//! titles, file names.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

/// A syntactically valid e-mail address, trimmed, lower-cased (the key of its uniqueness item).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Parses an address; `field` names the request field in the error.
    pub fn parse(raw: &str, field: &'static str) -> Result<Self> {
        let s = raw.trim().to_lowercase();
        let bad = |why: &str| {
            Error::invalid(
                "invalid_email",
                field,
                format!("not a valid e-mail address: {why}"),
            )
        };
        if s.is_empty() || s.len() > 254 {
            return Err(bad("length"));
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(|| bad("no @"))?;
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(bad("local part"));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels.iter().any(|l| {
                l.is_empty()
                    || l.len() > 63
                    || l.starts_with('-')
                    || l.ends_with('-')
                    || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
        {
            return Err(bad("domain"));
        }
        if s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"".contains(c))
        {
            return Err(bad("characters"));
        }
        Ok(Email(s))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(l, _)| l).unwrap_or(&self.0)
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A short single-line text (a person's name, a title): NFC, trimmed, no control
/// characters, 1..=`max` characters.
pub fn line(raw: &str, field: &'static str, max: usize) -> Result<String> {
    // The limit applies to what was sent, before trimming (as the API schema states it).
    if raw.chars().count() > max {
        return Err(Error::invalid(
            "too_long",
            field,
            format!("{field} is longer than {max} characters"),
        ));
    }
    let s: String = raw.nfc().collect::<String>().trim().to_owned();
    if s.is_empty() {
        return Err(Error::invalid(
            "required",
            field,
            format!("{field} must not be empty"),
        ));
    }
    if s.chars().count() > max {
        return Err(Error::invalid(
            "too_long",
            field,
            format!("{field} is longer than {max} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(Error::invalid(
            "control_characters",
            field,
            format!("{field} contains control characters"),
        ));
    }
    Ok(s)
}

/// A file name safe to store and to send back in `Content-Disposition`: the last path
/// component, without control or path characters, Japanese kept, at most 200 characters,
/// ending in `.pdf`.
pub fn file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .nfc()
        .filter(|c| !c.is_control() && !"<>:\"|?*".contains(*c))
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    let mut name: String = trimmed.chars().take(200).collect();
    if name.is_empty() {
        name = "document.pdf".into();
    }
    if !name.to_lowercase().ends_with(".pdf") {
        name.push_str(".pdf");
    }
    name
}

/// Text folded for searching: NFKC (full-width and half-width alike) and lower case.
pub fn fold(s: &str) -> String {
    s.nfkc().collect::<String>().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Hanako@Example.CO.JP ", "email")
                .unwrap()
                .as_str(),
            "hanako@example.co.jp"
        );
        for bad in [
            "",
            "a",
            "a@b",
            "@example.com",
            "a b@example.com",
            "a@-x.com",
            "a@@x.com",
            "a@x..com",
        ] {
            assert!(Email::parse(bad, "email").is_err(), "{bad}");
        }
    }

    #[test]
    fn file_names() {
        assert_eq!(file_name("../../etc/passwd"), "passwd.pdf");
        assert_eq!(file_name("C:\\docs\\契約書.pdf"), "契約書.pdf");
        assert_eq!(file_name("a\u{0}b\r\n.pdf"), "ab.pdf");
        assert_eq!(file_name("...."), "document.pdf");
        assert_eq!(file_name(""), "document.pdf");
        assert_eq!(file_name(".htaccess"), "htaccess.pdf");
    }

    #[test]
    fn lines() {
        assert_eq!(line("  山田 花子 ", "name", 10).unwrap(), "山田 花子");
        assert!(line(" ", "name", 10).is_err());
        assert!(line("a\u{7}", "name", 10).is_err());
        assert!(line("あいうえおかきくけこさ", "name", 10).is_err());
        assert!(
            line("\tあいうえおかきくけこ", "name", 10).is_err(),
            "counted as sent"
        );
        assert_eq!(fold("ＡＢＣ契約"), "abc契約");
    }
}
