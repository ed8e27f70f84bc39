//! What a signature forbids after it (ISO 32000-2, 12.8.2.2 and 12.8.2.3): a certification's
//! DocMDP permission (`P` 1: no changes; 2: form filling and signing; 3: also annotations)
//! and field locks (FieldMDP in the signature's `/Reference`, or the field's `/Lock`).

use lopdf::{Dictionary, Object};

use super::changes::{Changes, Level};
use crate::PdfError;
use crate::reader::PdfReader;

/// Most locked field names read.
const MAX_ENTRIES: usize = 256;

/// Which fields a lock covers.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Lock {
    All,
    Include(Vec<String>),
    Exclude(Vec<String>),
}

impl Lock {
    fn covers(&self, field: &str) -> bool {
        match self {
            Lock::All => true,
            Lock::Include(names) => names.iter().any(|n| n == field),
            Lock::Exclude(names) => !names.iter().any(|n| n == field),
        }
    }
}

/// The restrictions one signature places on later revisions.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Permissions {
    /// The DocMDP permission (certification signatures, or a lock's `/P`).
    docmdp: Option<i64>,
    locks: Vec<Lock>,
}

impl Permissions {
    /// DocMDP P=1: nothing but validation data and document timestamps.
    pub(crate) fn no_changes() -> Self {
        Permissions {
            docmdp: Some(1),
            locks: vec![Lock::All],
        }
    }

    /// Reads them from the signature dictionary `value` and its field's `/Lock`.
    pub(crate) fn read(
        reader: &PdfReader<'_>,
        value: &Dictionary,
        lock: Option<&Dictionary>,
    ) -> Result<Self, PdfError> {
        let mut permissions = Permissions::default();
        for (method, params) in crate::validate::transforms(reader, value)? {
            match method.as_slice() {
                // A certification without an explicit /P allows form filling (P=2).
                b"DocMDP" => {
                    permissions.docmdp =
                        Some(params.get(b"P").and_then(Object::as_i64).unwrap_or(2));
                }
                b"FieldMDP" => permissions.locks.extend(read_lock(reader, &params)?),
                _ => {}
            }
        }
        if let Some(lock) = lock {
            permissions.locks.extend(read_lock(reader, lock)?);
            if let Ok(p) = lock.get(b"P").and_then(Object::as_i64) {
                permissions.docmdp = Some(permissions.docmdp.map_or(p, |d| d.min(p)));
            }
        }
        Ok(permissions)
    }

    /// What in `changes` this signature forbids, described.
    pub(crate) fn violations(&self, changes: &Changes) -> Vec<String> {
        let mut found = Vec::new();
        if let Some(p) = self.docmdp {
            // P=3 also allows annotations, which no rule lets in yet: it allows what P=2 does.
            let allowed = if p <= 1 {
                Level::LongTerm
            } else {
                Level::Signing
            };
            if changes.level > allowed {
                found.push(format!(
                    "the certification allows {} (DocMDP P={p}), but a signature field was \
                     added or signed",
                    if p <= 1 {
                        "no changes but validation data and document timestamps"
                    } else {
                        "form filling and signing only"
                    }
                ));
            }
        }
        for (field, allowed_when_locked) in &changes.fields {
            if !allowed_when_locked && self.locks.iter().any(|l| l.covers(field)) {
                found.push(format!("the field {field:?} is locked by this signature"));
            }
        }
        found
    }
}

/// A FieldMDP lock (`/Action /All`, `/Include` or `/Exclude` with `/Fields`).
fn read_lock(reader: &PdfReader<'_>, dict: &Dictionary) -> Result<Option<Lock>, PdfError> {
    let names = || -> Result<Vec<String>, PdfError> {
        let Ok(fields) = dict.get(b"Fields") else {
            return Ok(Vec::new());
        };
        Ok(reader
            .resolve(fields)?
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .take(MAX_ENTRIES)
            .filter_map(|f| match f {
                Object::String(s, _) => Some(super::text(s)),
                _ => None,
            })
            .collect())
    };
    Ok(match dict.get(b"Action").and_then(Object::as_name) {
        Ok(b"All") => Some(Lock::All),
        Ok(b"Include") => Some(Lock::Include(names()?)),
        Ok(b"Exclude") => Some(Lock::Exclude(names()?)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_cover_what_they_name() {
        assert!(Lock::All.covers("a"));
        assert!(Lock::Include(vec!["a".into()]).covers("a"));
        assert!(!Lock::Include(vec!["a".into()]).covers("b"));
        assert!(!Lock::Exclude(vec!["a".into()]).covers("a"));
        assert!(Lock::Exclude(vec!["a".into()]).covers("b"));
    }

    #[test]
    fn a_certification_with_p1_allows_long_term_data_only() {
        let p1 = Permissions {
            docmdp: Some(1),
            locks: Vec::new(),
        };
        let mut changes = Changes {
            level: Level::LongTerm,
            ..Changes::default()
        };
        assert!(p1.violations(&changes).is_empty());
        changes.level = Level::Signing;
        assert_eq!(p1.violations(&changes).len(), 1);
        let p2 = Permissions {
            docmdp: Some(2),
            locks: Vec::new(),
        };
        assert!(p2.violations(&changes).is_empty());
    }

    #[test]
    fn a_lock_forbids_signing_a_field_it_covers_but_not_a_new_invisible_one() {
        let locked = Permissions {
            docmdp: None,
            locks: vec![Lock::Include(vec!["Sig2".into()])],
        };
        let mut changes = Changes::default();
        changes.fields.push(("Sig2".into(), true));
        assert!(locked.violations(&changes).is_empty());
        changes.fields.push(("Sig2".into(), false));
        assert_eq!(locked.violations(&changes).len(), 1);
    }
}
