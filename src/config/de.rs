//! Parsing helpers shared by the TOML and environment forms: human durations, RFC 3339
//! instants (quoted strings or native TOML datetimes), key states, redaction, and reading the
//! process environment. The lowest file of `config/`: it imports no sibling.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::value::{Datetime, Offset};

use crate::error::{could_be_secret, shown};
use crate::keys::KeyState;

/// Reads a variable of the process environment. A value that is not UTF-8 reads as U+FFFD,
/// so that it fails to parse with a clear message instead of looking unset.
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.into_string().unwrap_or_else(|_| "\u{FFFD}".to_owned()))
}

/// Withholds what could be a secret in a parser's message (see [`crate::error`] for the rule).
pub(crate) use crate::error::redact;

/// Parses a human duration such as `30m`, `12h`, `7days` or `1h 30m`.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| {
        if could_be_secret(s) {
            "the value (not shown: it could be a secret) is not a duration; write e.g. \"30m\", \
             \"12h\", \"7days\""
                .to_owned()
        } else {
            format!("`{s}` is not a duration ({e}); write e.g. \"30m\", \"12h\", \"7days\"")
        }
    })
}

/// Parses an RFC 3339 instant with an explicit offset (`Z` or `±hh:mm`).
pub(crate) fn parse_time(s: &str) -> Result<SystemTime, String> {
    let dt: Datetime = s.trim().parse().map_err(|e| {
        if could_be_secret(s) {
            "the value (not shown: it could be a secret) is not an RFC 3339 time; write e.g. \
             \"2026-12-01T00:00:00Z\""
                .to_owned()
        } else {
            format!("`{s}` is not an RFC 3339 time ({e}); write e.g. \"2026-12-01T00:00:00Z\"")
        }
    })?;
    to_system_time(&dt)
}

/// Formats an instant as RFC 3339 in UTC, to the second.
pub(crate) fn format_time(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Parses a key state: `primary` or `decrypt-only`.
pub(crate) fn parse_state(s: &str) -> Option<KeyState> {
    match s {
        "primary" => Some(KeyState::Primary),
        "decrypt-only" => Some(KeyState::DecryptOnly),
        _ => None,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn to_system_time(dt: &Datetime) -> Result<SystemTime, String> {
    let (Some(date), Some(time)) = (dt.date, dt.time) else {
        return Err(format!(
            "`{dt}` is not a full date and time; write e.g. \"2026-12-01T00:00:00Z\""
        ));
    };
    let offset_minutes = match dt.offset {
        Some(Offset::Z) => 0,
        Some(Offset::Custom { minutes }) => i64::from(minutes),
        None => {
            return Err(format!(
                "`{dt}` has no UTC offset, so its instant depends on the server's time zone; \
                 add `Z` (UTC) or an offset such as `+02:00`"
            ))
        }
    };
    let days = days_from_civil(
        i64::from(date.year),
        i64::from(date.month),
        i64::from(date.day),
    );
    let secs = days * 86_400
        + i64::from(time.hour) * 3600
        + i64::from(time.minute) * 60
        + i64::from(time.second.unwrap_or(0).min(59))
        - offset_minutes * 60;
    let secs = u64::try_from(secs).map_err(|_| format!("`{dt}` is before 1970"))?;
    Ok(UNIX_EPOCH + Duration::new(secs, time.nanosecond.unwrap_or(0).min(999_999_999)))
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as \"30m\", \"12h\" or \"7days\"")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Duration, E> {
        parse_duration(s).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Duration, E> {
        Err(E::custom(format!(
            "`{n}` has no unit; write a quoted duration such as \"{n}s\" or \"30m\""
        )))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Duration, E> {
        Err(E::custom(format!(
            "`{n}` has no unit; write a quoted duration such as \"{n}s\" or \"30m\""
        )))
    }
}

struct TimeVisitor;

impl<'de> Visitor<'de> for TimeVisitor {
    type Value = SystemTime;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 time such as 2026-12-01T00:00:00Z")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<SystemTime, E> {
        parse_time(s).map_err(E::custom)
    }

    /// A native TOML datetime (`activate_at = 2026-12-01T00:00:00Z`, unquoted).
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SystemTime, A::Error> {
        let dt = Datetime::deserialize(MapAccessDeserializer::new(map))?;
        to_system_time(&dt).map_err(de::Error::custom)
    }
}

pub(super) fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    d.deserialize_any(DurationVisitor)
}

pub(super) fn de_opt_duration<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    de_duration(d).map(Some)
}

pub(super) fn de_opt_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
    d.deserialize_any(TimeVisitor).map(Some)
}

pub(super) fn de_state<'de, D: Deserializer<'de>>(d: D) -> Result<KeyState, D::Error> {
    let s = String::deserialize(d)?;
    parse_state(&s).ok_or_else(|| {
        de::Error::custom(format!(
            "unknown key state `{}`; expected \"primary\" or \"decrypt-only\"",
            shown(&s)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_with_offsets() {
        let z = parse_time("2026-12-01T00:00:00Z").unwrap();
        assert_eq!(
            z.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_796_083_200
        );
        assert_eq!(parse_time("2026-12-01T02:00:00+02:00").unwrap(), z);
        assert_eq!(parse_time("2026-11-30T23:00:00-01:00").unwrap(), z);
        assert_eq!(format_time(z), "2026-12-01T00:00:00Z");
        assert_eq!(
            parse_time("2000-02-29T12:34:56.5Z").unwrap(),
            UNIX_EPOCH + Duration::new(951_827_696, 500_000_000)
        );
        assert!(parse_time("2026-12-01T00:00:00")
            .unwrap_err()
            .contains("no UTC offset"));
        assert!(parse_time("1969-12-31T23:59:59Z")
            .unwrap_err()
            .contains("before 1970"));
        assert!(parse_time("tomorrow")
            .unwrap_err()
            .contains("not an RFC 3339 time"));
    }

    #[test]
    fn values_that_could_be_secrets_are_not_quoted() {
        let secret = "R0Co3CrEszRPB+C4p/QqeQRK7mYnyv1I/ZoOUpWRCkg=";
        for message in [
            parse_duration(secret).unwrap_err(),
            parse_time(secret).unwrap_err(),
        ] {
            assert!(!message.contains("R0Co"), "{message}");
            assert!(message.contains("not shown"), "{message}");
        }
        assert!(parse_duration("soon").unwrap_err().contains("`soon`"));
    }

    #[test]
    fn redact_hides_secret_sized_tokens_only() {
        let secret = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
        assert_eq!(
            redact(&format!("invalid type: string \"{secret}\", expected u8")),
            "invalid type: string \"<redacted>\", expected u8"
        );
        let plain = "unknown field `secrt`, expected one of `id`, `algorithm`";
        assert_eq!(redact(plain), plain);
    }
}
