//! Flash messages (Django's `contrib.messages`): short notices queued by one request and shown,
//! once, by the next request that reads them, typically the page a redirect leads to.
//!
//! They are an ordinary session entry under the reserved key [`FLASH_KEY`] (a list of
//! [`Flash`] values), so they work in client and server mode alike and need nothing on the
//! wire beyond the session itself. In client mode they travel in the cookie, sealed like every
//! other value: the user can neither read nor forge them, but they count towards the cookie
//! size, hence the bounds [`MAX_FLASHES`] and [`MAX_FLASH_TEXT_LEN`].
//!
//! # Example
//! ```
//! use sealed_session::session::{Flash, Level};
//! use sealed_session::Session;
//!
//! let session = Session::detached();
//! // POST /login: queue a message, then redirect.
//! session.flash(Level::Success, "Welcome back, Ada.")?;
//! // GET / (after the redirect): shown once ...
//! let shown = session.take_flashes()?;
//! assert_eq!(shown, [Flash::new(Level::Success, "Welcome back, Ada.")]);
//! // ... then gone.
//! assert!(session.take_flashes()?.is_empty());
//! # Ok::<(), sealed_session::DataError>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Session;
use crate::error::DataError;
pub use crate::limits::{MAX_FLASHES, MAX_FLASH_TEXT_LEN};

/// The session key flash messages are kept under. Applications must not use it for their
/// own values (the leading underscore keeps it apart from ordinary names).
pub const FLASH_KEY: &str = "_flash";

/// How important a flash message is (Django's message levels), for the page to style it.
///
/// Stored by name, so the list of levels may grow without breaking stored messages: a name
/// this build does not know (written by a newer build during a rolling deploy) reads as
/// [`Level::Info`], so the message is still shown once rather than the whole queue failing
/// to decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Level {
    /// Development detail.
    Debug,
    /// Neutral information.
    Info,
    /// An action succeeded.
    Success,
    /// Something to look at, not a failure.
    Warning,
    /// An action failed.
    Error,
}

impl Level {
    /// The lowercase name (`"debug"`, `"info"`, `"success"`, `"warning"`, `"error"`), e.g. as
    /// a CSS class.
    ///
    /// ```
    /// assert_eq!(sealed_session::session::Level::Warning.as_str(), "warning");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Success => "success",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = Level;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a flash level name")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Level, E> {
                Ok(match name {
                    "debug" => Level::Debug,
                    "success" => Level::Success,
                    "warning" => Level::Warning,
                    "error" => Level::Error,
                    // "info", and any level a newer build added.
                    _ => Level::Info,
                })
            }
        }
        deserializer.deserialize_str(Name)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One flash message: a level and a text. The text is the application's own; escape it
/// when putting it into HTML like any other string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    /// How important it is.
    pub level: Level,
    /// What to show.
    pub text: String,
}

impl Flash {
    /// A message of `level`; `text` is cut to at most [`MAX_FLASH_TEXT_LEN`] bytes, at a
    /// character boundary.
    ///
    /// ```
    /// use sealed_session::session::{Flash, Level, MAX_FLASH_TEXT_LEN};
    /// let long = "é".repeat(MAX_FLASH_TEXT_LEN);
    /// let f = Flash::new(Level::Info, long);
    /// assert!(f.text.len() <= MAX_FLASH_TEXT_LEN);
    /// assert!(f.text.chars().all(|c| c == 'é'));
    /// ```
    pub fn new(level: Level, text: impl Into<String>) -> Self {
        let mut text = text.into();
        if text.len() > MAX_FLASH_TEXT_LEN {
            let mut end = MAX_FLASH_TEXT_LEN;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        Flash { level, text }
    }
}

impl Session {
    /// Queues a flash message for the next request that calls
    /// [`take_flashes`](Session::take_flashes) (usually the page a redirect leads to).
    ///
    /// Bounded: the text is cut to [`MAX_FLASH_TEXT_LEN`] bytes, and at most [`MAX_FLASHES`]
    /// wait at once; queuing one more drops the oldest. Kept under [`FLASH_KEY`].
    ///
    /// # Errors
    /// [`DataError::Decode`] when something other than a flash list was stored under
    /// [`FLASH_KEY`] (the new message is not queued, and the stored value stays);
    /// [`DataError::Encode`] never in practice.
    pub fn flash(&self, level: Level, text: impl Into<String>) -> Result<(), DataError> {
        let mut inner = self.loaded();
        let mut queue: Vec<Flash> = inner.data.get(FLASH_KEY)?.unwrap_or_default();
        queue.push(Flash::new(level, text));
        if queue.len() > MAX_FLASHES {
            queue.drain(..queue.len() - MAX_FLASHES);
        }
        inner.data.insert(FLASH_KEY, &queue)
    }

    /// The queued flash messages, oldest first, removed from the session: each is returned
    /// once. Empty when none are queued (and then the session is left unchanged).
    ///
    /// A value under [`FLASH_KEY`] that is not a flash list (a handler used the reserved key,
    /// or a build with another form wrote it) is dropped with a warning, and reads as no
    /// messages: so the next request starts clean. (An error here, propagated with `?`,
    /// made the response a 500, and a 5xx response saves nothing, so every page that shows
    /// messages failed again until the session ended.)
    ///
    /// # Errors
    /// None in practice: the `Result` is kept for compatibility.
    pub fn take_flashes(&self) -> Result<Vec<Flash>, DataError> {
        let mut inner = self.loaded();
        if !inner.data.contains(FLASH_KEY) {
            return Ok(Vec::new());
        }
        let mut queue: Vec<Flash> = match inner.data.take(FLASH_KEY) {
            Ok(queue) => queue.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e, "unreadable flash messages dropped");
                Vec::new()
            }
        };
        // A queue written by a build with other bounds is cut to this one's.
        if queue.len() > MAX_FLASHES {
            queue.drain(..queue.len() - MAX_FLASHES);
        }
        Ok(queue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_are_dropped_past_the_bound() {
        let session = Session::detached();
        for i in 0..MAX_FLASHES + 3 {
            session.flash(Level::Info, i.to_string()).unwrap();
        }
        let texts: Vec<String> = session
            .take_flashes()
            .unwrap()
            .into_iter()
            .map(|f| f.text)
            .collect();
        let expected: Vec<String> = (3..MAX_FLASHES + 3).map(|i| i.to_string()).collect();
        assert_eq!(texts, expected);
        assert!(session.take_flashes().unwrap().is_empty());
    }

    #[test]
    fn a_foreign_value_under_the_key_is_an_error_on_flash_and_dropped_on_take() {
        let session = Session::detached();
        session.insert(FLASH_KEY, &7u32).unwrap();
        assert!(session.flash(Level::Info, "x").is_err());
        assert!(
            session.contains(FLASH_KEY),
            "`flash` leaves the stored value"
        );
        assert!(session.take_flashes().unwrap().is_empty());
        assert!(!session.contains(FLASH_KEY));
        assert!(session.take_flashes().unwrap().is_empty());
    }

    #[test]
    fn a_level_from_a_newer_build_reads_as_info_and_keeps_the_queue() {
        use std::collections::BTreeMap;
        let session = Session::detached();
        let newer = |level: &str, text: &str| {
            BTreeMap::from([("level", level.to_owned()), ("text", text.to_owned())])
        };
        session
            .insert(
                FLASH_KEY,
                &[newer("critical", "disk full"), newer("error", "failed")],
            )
            .unwrap();
        session.flash(Level::Success, "saved").unwrap();
        assert_eq!(
            session.take_flashes().unwrap(),
            [
                Flash::new(Level::Info, "disk full"),
                Flash::new(Level::Error, "failed"),
                Flash::new(Level::Success, "saved"),
            ]
        );
        // A level that is not a name is still refused: the queue is dropped on take.
        session
            .insert(FLASH_KEY, &[BTreeMap::from([("level", 3u8)])])
            .unwrap();
        assert!(session.flash(Level::Info, "x").is_err());
        assert!(session.take_flashes().unwrap().is_empty());
        assert!(!session.contains(FLASH_KEY));
    }

    #[test]
    fn a_level_that_is_not_a_name_is_refused_saying_a_level_name_was_expected() {
        use std::collections::BTreeMap;
        let session = Session::detached();
        session
            .insert(FLASH_KEY, &[BTreeMap::from([("level", 3u8)])])
            .unwrap();
        // `flash` reads the queue to append to it (`take_flashes` drops an unreadable one).
        let err = session.flash(Level::Info, "x").unwrap_err().to_string();
        assert!(err.contains("expected a flash level name"), "{err}");
    }

    #[test]
    fn every_level_reads_back_as_itself() {
        let session = Session::detached();
        let all = [
            Level::Debug,
            Level::Info,
            Level::Success,
            Level::Warning,
            Level::Error,
        ];
        for level in all {
            session.flash(level, level.as_str()).unwrap();
        }
        let back: Vec<Level> = session
            .take_flashes()
            .unwrap()
            .into_iter()
            .map(|f| f.level)
            .collect();
        assert_eq!(back, all);
    }

    #[test]
    fn levels_and_fields_are_stored_by_name() {
        use std::collections::BTreeMap;
        let session = Session::detached();
        session.flash(Level::Warning, "careful").unwrap();
        let raw: Vec<BTreeMap<String, String>> = session.get(FLASH_KEY).unwrap().unwrap();
        assert_eq!(raw[0]["level"], "warning");
        assert_eq!(raw[0]["text"], "careful");
    }
}
