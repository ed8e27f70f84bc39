//! The budget every reader of one request shares: decoded bytes, a deadline, and the
//! object streams (and objects) decoded so far.

use super::*;

/// What every reader of one request shares (a verification opens the file once per
/// revision it compares): one budget of decoded bytes, one deadline, and the object streams
/// decoded so far, so that a stream read by each revision's reader is decoded once.
#[derive(Clone)]
pub struct ReadBudget(Arc<SharedRead>);

impl std::fmt::Debug for ReadBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadBudget")
            .field("decoded", &self.0.decoded)
            .field("deadline", &self.0.deadline)
            .finish_non_exhaustive()
    }
}

pub(super) struct SharedRead {
    decoded: AtomicUsize,
    deadline: Option<Instant>,
    /// Decoded object streams by (offset, raw length), with the dictionary they were decoded
    /// with: the same bytes with the same dictionary decode the same in any revision.
    objstms: Mutex<ObjStmCache>,
    /// Parsed objects (not streams) by (start of the file, offset), with the length of the
    /// file that parsed them: an object that fit in one prefix of a file parses the same in
    /// every longer one (a verification reads each revision of one file).
    parsed: Mutex<ParsedCache>,
    /// Whether objects are kept in `parsed` (only for readers that share the budget).
    keep_objects: bool,
}

/// Parsed objects by (start of the file, offset): the length of the file that parsed each,
/// its id, and the object.
type ParsedCache = HashMap<(usize, usize), (usize, ObjectId, Object)>;

/// Most parsed objects kept before the cache is emptied.
pub(super) const PARSED_CACHE_OBJECTS: usize = 100_000;

/// Bytes held, and the decoded object streams by (offset, raw length).
type ObjStmCache = (usize, HashMap<(usize, usize), (Dictionary, Arc<ObjStm>)>);

impl ReadBudget {
    /// The bytes decoded so far by every reader sharing this budget.
    pub(super) fn decoded(&self) -> &AtomicUsize {
        &self.0.decoded
    }

    /// A budget of [`MAX_DECODED_TOTAL`] bytes, until `deadline` if given.
    pub fn new(deadline: Option<Instant>) -> Self {
        Self::with(deadline, false)
    }

    /// [`ReadBudget::new`] for readers of the revisions of one file, which also share the
    /// objects they parse.
    pub fn for_revisions(deadline: Option<Instant>) -> Self {
        Self::with(deadline, true)
    }

    pub(super) fn with(deadline: Option<Instant>, keep_objects: bool) -> Self {
        ReadBudget(Arc::new(SharedRead {
            decoded: AtomicUsize::new(0),
            deadline,
            objstms: Mutex::new((0, HashMap::new())),
            parsed: Mutex::new(HashMap::new()),
            keep_objects,
        }))
    }

    pub(super) fn parsed(&self, bytes: &[u8], offset: usize, id: ObjectId) -> Option<Object> {
        if !self.0.keep_objects {
            return None;
        }
        let cache = self.0.parsed.lock().unwrap_or_else(|e| e.into_inner());
        match cache.get(&(bytes.as_ptr() as usize, offset)) {
            Some((len, found, object)) if *len <= bytes.len() && *found == id => {
                Some(object.clone())
            }
            _ => None,
        }
    }

    pub(super) fn keep_parsed(&self, bytes: &[u8], offset: usize, id: ObjectId, object: &Object) {
        // Large objects are parsed again rather than held twice.
        let small = match object {
            Object::Array(items) => items.len() <= 1_000,
            Object::Dictionary(dict) => dict.len() <= 1_000,
            Object::String(s, _) => s.len() <= 64 * 1024,
            _ => true,
        };
        if !self.0.keep_objects || !small {
            return;
        }
        let mut cache = self.0.parsed.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= PARSED_CACHE_OBJECTS {
            cache.clear();
        }
        cache.insert(
            (bytes.as_ptr() as usize, offset),
            (bytes.len(), id, object.clone()),
        );
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        self.0.deadline.is_some_and(|d| Instant::now() >= d)
    }

    pub(super) fn check_time(&self) -> Result<(), PdfError> {
        match self.expired() {
            true => Err(PdfError::limit(
                "the time allowed for reading the file ran out",
            )),
            false => Ok(()),
        }
    }

    pub(super) fn cached(&self, key: (usize, usize), dict: &Dictionary) -> Option<Arc<ObjStm>> {
        let cache = self.0.objstms.lock().unwrap_or_else(|e| e.into_inner());
        match cache.1.get(&key) {
            Some((seen, objstm)) if seen == dict => Some(Arc::clone(objstm)),
            _ => None,
        }
    }

    pub(super) fn keep(&self, key: (usize, usize), dict: Dictionary, objstm: &Arc<ObjStm>) {
        let mut cache = self.0.objstms.lock().unwrap_or_else(|e| e.into_inner());
        if cache.0 + objstm.data.len() > OBJSTM_CACHE_BYTES {
            cache.1.clear();
            cache.0 = 0;
        }
        cache.0 += objstm.data.len();
        cache.1.insert(key, (dict, Arc::clone(objstm)));
    }
}
