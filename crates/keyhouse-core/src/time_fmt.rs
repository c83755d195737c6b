//! Timestamps as stored (epoch milliseconds) and as Anypoint prints them
//! (ISO-8601 with milliseconds and `Z`, e.g. `2022-06-08T14:51:34.022Z`).

use serde::{Deserialize, Serialize};
use time::macros::format_description;
use time::OffsetDateTime;

/// A point in time, in milliseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The same instant `minutes` later.
    pub fn plus_minutes(self, minutes: i64) -> Self {
        Timestamp(self.0 + minutes * 60_000)
    }

    /// Anypoint's wire form: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub fn to_iso(self) -> String {
        let format = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .ok()
            .and_then(|t| t.format(&format).ok())
            .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_anypoint() {
        assert_eq!(
            Timestamp(1_654_699_894_022).to_iso(),
            "2022-06-08T14:51:34.022Z"
        );
        assert_eq!(Timestamp(0).to_iso(), "1970-01-01T00:00:00.000Z");
    }
}
