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
        // RFC 5322's addr-spec (dot-atoms: no leading, trailing or doubled dots), on top of
        // the policy above (no quoted parts, comments or domain literals; a dotted domain).
        let syntax = email_address::Options::default()
            .without_display_text()
            .without_domain_literal()
            .with_required_tld();
        email_address::EmailAddress::parse_with_options(&s, syntax)
            .map_err(|e| bad(&e.to_string()))?;
        Ok(Email(s))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
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

/// The API schema's pattern for what [`line`] accepts: no control character anywhere, and
/// one character that is neither a control nor white space (Unicode White_Space, what
/// `trim` removes).
pub const LINE_PATTERN: &str = concat!(
    r"^[^\u0000-\u001F\u007F-\u009F]*",
    r"[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]",
    r"[^\u0000-\u001F\u007F-\u009F]*$"
);
/// The API schema's pattern for what [`optional_line`] accepts: no control character.
pub const OPTIONAL_LINE_PATTERN: &str = r"^[^\u0000-\u001F\u007F-\u009F]*$";
/// The API schema's pattern for free text (a message, a reason): no control character but
/// line breaks.
pub const FREE_TEXT_PATTERN: &str = r"^[^\u0000-\u0009\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";

fn refuse_controls(raw: &str, field: &'static str, allowed: &[char]) -> Result<()> {
    if raw.chars().any(|c| c.is_control() && !allowed.contains(&c)) {
        return Err(Error::invalid(
            "control_characters",
            field,
            format!("{field} contains control characters"),
        ));
    }
    Ok(())
}

fn refuse_longer(raw: &str, field: &'static str, max: usize) -> Result<()> {
    // The limit applies to what was sent, before trimming (as the API schema states it).
    if raw.chars().count() > max {
        return Err(Error::invalid(
            "too_long",
            field,
            format!("{field} is longer than {max} characters"),
        ));
    }
    Ok(())
}

/// A short single-line text that may be left out (会社名, 部署): the rules of [`line`], but
/// empty or white space alone is none.
pub fn optional_line(raw: Option<&str>, field: &'static str, max: usize) -> Result<Option<String>> {
    match raw {
        None => Ok(None),
        Some(v) => {
            refuse_longer(v, field, max)?;
            refuse_controls(v, field, &[])?;
            if v.trim().is_empty() {
                Ok(None)
            } else {
                line(v, field, max).map(Some)
            }
        }
    }
}

/// Free text (a message, a reason): NFC, line breaks as `\n`, trimmed, no other control
/// character (anywhere, as [`FREE_TEXT_PATTERN`] says), at most `max` characters; empty is
/// none.
pub fn free_text(raw: &str, field: &'static str, max: usize) -> Result<Option<String>> {
    refuse_longer(raw, field, max)?;
    refuse_controls(raw, field, &['\n', '\r'])?;
    let text: String = raw
        .nfc()
        .collect::<String>()
        .replace("\r\n", "\n")
        .replace('\r', "\n");
    let text = text.trim();
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// A short single-line text (a person's name, a title): NFC, trimmed, no control
/// characters (anywhere, as [`LINE_PATTERN`] says), 1..=`max` characters.
pub fn line(raw: &str, field: &'static str, max: usize) -> Result<String> {
    refuse_longer(raw, field, max)?;
    refuse_controls(raw, field, &[])?;
    let s: String = raw.nfc().collect::<String>().trim().to_owned();
    if s.is_empty() {
        return Err(Error::invalid(
            "required",
            field,
            format!("{field} must not be empty"),
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

    /// The API schema's patterns say what the server accepts: for every sample, the
    /// pattern matches exactly when the rule accepts.
    #[test]
    fn the_schema_patterns_agree_with_the_rules() {
        let line_re = regex::Regex::new(LINE_PATTERN).unwrap();
        let optional_re = regex::Regex::new(OPTIONAL_LINE_PATTERN).unwrap();
        let free_re = regex::Regex::new(FREE_TEXT_PATTERN).unwrap();
        let samples = [
            "山田 花子",
            "",
            " ",
            "\u{3000}",
            "\u{3000}山田\u{3000}",
            "a",
            "\t",
            "\ta",
            "a\t",
            "a\nb",
            "a\r\nb",
            "a\rb",
            "\n",
            "\u{7}",
            "\u{85}",
            "\u{a0}",
            "\u{a0}x",
            "\u{feff}",
            "\u{200b}",
            "\u{2028}",
            "x\u{2029}",
            "\u{1680}",
            "\u{202f}\u{205f}",
            "\u{9f}",
            "\u{7f}",
            "(株)サンプル",
            "ｶﾀｶﾅ",
            "\u{1f600}",
        ];
        for s in samples {
            assert_eq!(
                line_re.is_match(s),
                line(s, "name", 100).is_ok(),
                "line {s:?}"
            );
            assert_eq!(
                optional_re.is_match(s),
                optional_line(Some(s), "company", 100).is_ok(),
                "optional line {s:?}"
            );
            assert_eq!(
                free_re.is_match(s),
                free_text(s, "message", 100).is_ok(),
                "free text {s:?}"
            );
        }
        assert_eq!(
            free_text(" a\rb\r\n ", "message", 100).unwrap().as_deref(),
            Some("a\nb")
        );
    }

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
            // Dot-atoms: no leading, trailing or doubled dots in the local part.
            ".a@example.com",
            "a.@example.com",
            "a..b@example.com",
        ] {
            assert!(Email::parse(bad, "email").is_err(), "{bad}");
        }
        for good in [
            "taro.yamada+keiyaku@example.jp",
            "o'brien@example.ie",
            "山田@例え.jp",
        ] {
            assert!(Email::parse(good, "email").is_ok(), "{good}");
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
