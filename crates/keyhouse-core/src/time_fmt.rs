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

    /// Reads an ISO-8601 instant as clients send it (Anypoint audit
    /// `startDate`/`endDate`): RFC 3339 with any offset and precision
    /// (`2024-05-01T12:00:00.000Z`, `…+02:00`), or a bare date meaning its
    /// midnight UTC. Sub-millisecond digits are truncated. `None` otherwise.
    pub fn parse_iso(text: &str) -> Option<Self> {
        use time::format_description::well_known::Rfc3339;
        let text = text.trim();
        let instant = match OffsetDateTime::parse(text, &Rfc3339) {
            Ok(t) => t,
            Err(_) => {
                let date =
                    time::Date::parse(text, format_description!("[year]-[month]-[day]")).ok()?;
                date.midnight().assume_utc()
            }
        };
        i64::try_from(instant.unix_timestamp_nanos() / 1_000_000)
            .ok()
            .map(Timestamp)
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

    #[test]
    fn parses_iso_instants_and_dates() {
        let t = Timestamp(1_654_699_894_022);
        assert_eq!(Timestamp::parse_iso("2022-06-08T14:51:34.022Z"), Some(t));
        assert_eq!(Timestamp::parse_iso(&t.to_iso()), Some(t));
        assert_eq!(
            Timestamp::parse_iso("2022-06-08T16:51:34.022999+02:00"),
            Some(t)
        );
        assert_eq!(
            Timestamp::parse_iso("2022-06-08"),
            Some(Timestamp(1_654_646_400_000))
        );
        for bad in [
            "",
            "yesterday",
            "2022-13-01",
            "1654699894022",
            "2022-06-08T14:51",
        ] {
            assert_eq!(Timestamp::parse_iso(bad), None, "{bad}");
        }
    }
}
