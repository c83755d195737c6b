//! Querying the audit log (Anypoint reference §8, Audit Log Query API): the
//! typed filter every backend implements with bound parameters only, keyset
//! positions for cursor paging, and the opaque cursor clients carry between
//! pages. A cursor is parsed strictly into `(timestamp, sequence)` and never
//! reaches SQL as text.

use base64::Engine;

use crate::audit::AuditEvent;
use crate::error::CoreError;
use crate::ids::{OrgId, UserId};
use crate::time_fmt::Timestamp;

/// The one platform Keyhouse records (Anypoint names the product an event
/// belongs to; everything here is Access Management).
pub const PLATFORM: &str = "Access Management";
/// Page size when the client names none (Anypoint's console asks for 25).
pub const DEFAULT_LIMIT: u64 = 25;
/// Largest page a client may ask for.
pub const MAX_LIMIT: u64 = 1000;
/// Most values in one filter list: keeps statements far below the bound-parameter limits.
pub const MAX_FILTER_VALUES: usize = 100;
/// Longest value in a filter list (object ids are at most a client id or a UUID).
pub const MAX_FILTER_VALUE_LEN: usize = 256;

/// Which events a query selects: always one organization, then every list
/// that is not empty must contain the event's value (lists are ANDed,
/// values within a list ORed, as in Anypoint's audit filters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFilter {
    /// The tenant whose log is read; events of other organizations never match.
    pub org: OrgId,
    /// Earliest instant, inclusive.
    pub from: Option<Timestamp>,
    /// Latest instant, inclusive.
    pub until: Option<Timestamp>,
    pub object_types: Vec<String>,
    pub actions: Vec<String>,
    pub object_ids: Vec<String>,
    /// The acting users (`AuditEvent::actor_user_id`).
    pub user_ids: Vec<UserId>,
}

impl AuditFilter {
    /// Every event of `org`.
    pub fn org(org: OrgId) -> Self {
        Self {
            org,
            from: None,
            until: None,
            object_types: Vec::new(),
            actions: Vec::new(),
            object_ids: Vec::new(),
            user_ids: Vec::new(),
        }
    }
}

/// Where an event sits in the log's total order `(at, seq)`: `seq` is the
/// storage sequence that orders events written in the same millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AuditPosition {
    pub at: Timestamp,
    pub seq: i64,
}

/// One page request against storage. `after` (keyset) and `offset` may be
/// combined: rows strictly past `after` in the chosen order, then `offset`
/// of them skipped, then at most `limit` returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    pub filter: AuditFilter,
    /// Oldest first when true; newest first (Anypoint's default) when false.
    pub ascending: bool,
    pub after: Option<AuditPosition>,
    pub offset: u64,
    pub limit: u64,
}

/// An event with its position, so the caller can continue after it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub position: AuditPosition,
    pub event: AuditEvent,
}

/// Longest cursor accepted (a real one is about 40 characters).
const CURSOR_MAX_LEN: usize = 96;

/// Anypoint's opaque `cursor`: the position of the last event of a page and
/// the order it was read in (a cursor is refused in the other order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditCursor {
    pub ascending: bool,
    pub position: AuditPosition,
}

impl AuditCursor {
    /// The wire form: base64url (no padding) of `a|d:<at>:<seq>`.
    pub fn encode(&self) -> String {
        let order = if self.ascending { 'a' } else { 'd' };
        let raw = format!("{order}:{}:{}", self.position.at.0, self.position.seq);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    /// Parses a cursor this server issued; anything else (other alphabets,
    /// padding, signs, leading zeros, extra fields) is a validation error.
    /// Only the canonical encoding of a decoded value is accepted.
    pub fn decode(text: &str) -> Result<Self, CoreError> {
        let invalid = || CoreError::Validation("cursor is not valid".to_owned());
        if text.is_empty() || text.len() > CURSOR_MAX_LEN {
            return Err(invalid());
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| invalid())?;
        let raw = std::str::from_utf8(&bytes).map_err(|_| invalid())?;
        let mut parts = raw.split(':');
        let (Some(order), Some(at), Some(seq), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let ascending = match order {
            "a" => true,
            "d" => false,
            _ => return Err(invalid()),
        };
        let at: i64 = at.parse().map_err(|_| invalid())?;
        let seq: i64 = seq.parse().map_err(|_| invalid())?;
        if seq < 1 {
            return Err(invalid());
        }
        let cursor = AuditCursor {
            ascending,
            position: AuditPosition {
                at: Timestamp(at),
                seq,
            },
        };
        if cursor.encode() != text {
            return Err(invalid());
        }
        Ok(cursor)
    }
}

/// Checks one filter list's size and values (each non-empty, bounded).
pub fn check_values(field: &str, values: &[String]) -> Result<(), CoreError> {
    if values.len() > MAX_FILTER_VALUES {
        return Err(CoreError::Validation(format!(
            "{field} may list at most {MAX_FILTER_VALUES} values"
        )));
    }
    if values
        .iter()
        .any(|v| v.is_empty() || v.len() > MAX_FILTER_VALUE_LEN)
    {
        return Err(CoreError::Validation(format!(
            "{field} values must be 1 to {MAX_FILTER_VALUE_LEN} characters long"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(ascending: bool, at: i64, seq: i64) -> AuditCursor {
        AuditCursor {
            ascending,
            position: AuditPosition {
                at: Timestamp(at),
                seq,
            },
        }
    }

    #[test]
    fn cursors_round_trip() {
        for c in [
            cursor(false, 1_700_000_000_123, 42),
            cursor(true, 0, 1),
            cursor(true, -5, i64::MAX),
        ] {
            assert_eq!(AuditCursor::decode(&c.encode()).ok(), Some(c));
        }
    }

    #[test]
    fn cursors_are_parsed_strictly() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let padded = base64::engine::general_purpose::URL_SAFE.encode("d:10:12");
        let bad = [
            String::new(),
            "not a cursor".to_owned(),
            padded,
            b64("d:10"),
            b64("d:10:1:2"),
            b64("x:10:1"),
            b64("d:+10:1"),
            b64("d:010:1"),
            b64("d:10:0"),
            b64("d:10:-1"),
            b64("d:10:1' OR 1=1 --"),
            b64("d:99999999999999999999:1"),
            "A".repeat(200),
        ];
        for text in bad {
            assert!(AuditCursor::decode(&text).is_err(), "{text}");
        }
    }

    #[test]
    fn filter_values_are_bounded() {
        assert!(check_values("actions", &["a".to_owned()]).is_ok());
        assert!(check_values("actions", &[String::new()]).is_err());
        assert!(check_values("actions", &["x".repeat(257)]).is_err());
        assert!(check_values("actions", &vec!["a".to_owned(); 101]).is_err());
    }
}
