//! [`CookieConfig`]: the cookie's name and attributes, and their validation.

use serde::Deserialize;

use crate::error::ConfigError;

use crate::limits::{MAX_CHUNKS, MAX_COOKIE_LEN, MAX_SEALED_LEN, MIN_COOKIE_LEN};

/// `SameSite` attribute values.
///
/// `SameSite` and CSRF tokens complement each other: `Lax` (the default) keeps browsers from
/// sending the session cookie on cross-site POSTs, but not on requests from a sibling
/// subdomain (the same *site*), not in browsers that ignore the attribute, and not on
/// cross-site top-level GETs. For state-changing requests add
/// [`CsrfLayer`](crate::csrf::CsrfLayer) (a per-session token, masked per response), and keep
/// GETs free of side effects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SameSite {
    /// Sent on same-site requests only.
    Strict,
    /// Sent on same-site requests and top-level navigations (default).
    #[default]
    Lax,
    /// Sent on every request; requires `Secure`.
    None,
}

impl SameSite {
    /// Parses `strict`, `lax` or `none`, ignoring ASCII case.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "strict" => Some(Self::Strict),
            "lax" => Some(Self::Lax),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

/// Cookie name and attributes. Secure by default.
///
/// | field | default | |
/// |---|---|---|
/// | `name` | `"session"` | sent as `__Host-session` while `host_prefix` is on |
/// | `host_prefix` | `true` | RFC 6265bis §4.1.3.2: `__Host-` requires `Secure`, `Path=/`, no `Domain` |
/// | `path` | `"/"` | |
/// | `domain` | none | |
/// | `secure` | `true` | turn off (with `host_prefix`) only for plain http on 127.0.0.1 |
/// | `http_only` | `true` | |
/// | `same_site` | `"lax"` | `"strict"`, `"lax"` or `"none"` (`"none"` requires `secure`) |
/// | `browser_session` | `false` | no `Max-Age`: the browser drops it on close (expiry inside still applies); a session's own [`SessionExpiry`](crate::data::SessionExpiry) choice ("remember me") outranks it |
/// | `max_cookie_len` | `4096` | bytes of one whole `Set-Cookie` line (name, value, attributes), 256–8192 |
/// | `max_chunks` | `4` | at most this many cookies per session (1–16) |
///
/// `max_cookie_len × max_chunks` may not exceed [`MAX_SEALED_LEN`] (65536): a session that
/// filled more chunks than that would be refused by `open` on the next request. So 8192-byte
/// cookies allow at most 8 chunks, and 16 chunks at most 4096-byte cookies.
// Each bool is one cookie attribute as written in the configuration; an enum would not read
// better in TOML.
#[allow(clippy::struct_excessive_bools)]
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CookieConfig {
    /// Cookie name, without the `__Host-` prefix.
    pub name: String,
    /// Prefix the name with `__Host-`.
    pub host_prefix: bool,
    /// `Path` attribute.
    pub path: String,
    /// `Domain` attribute.
    pub domain: Option<String>,
    /// `Secure` attribute.
    pub secure: bool,
    /// `HttpOnly` attribute.
    pub http_only: bool,
    /// `SameSite` attribute.
    pub same_site: SameSite,
    /// Leave out `Max-Age`/`Expires`, for sessions without a
    /// [`SessionExpiry`](crate::data::SessionExpiry) choice of their own.
    pub browser_session: bool,
    /// Largest `Set-Cookie` line in bytes before the value is split into chunks.
    pub max_cookie_len: usize,
    /// Largest number of chunks.
    pub max_chunks: usize,
}

/// The most bytes of a `Set-Cookie` line's attributes besides the path and domain values:
/// `; HttpOnly; SameSite=Strict; Secure; Path=; Domain=; Max-Age=34560000; Expires=` and a
/// 29-byte date. (`cookies::set_cookie` checks its real rendering against it.)
pub(crate) const ATTRS_BOUND: usize = 108;

/// The room a `Set-Cookie` line must leave for the value: a small session sealed (an empty
/// one is about 70 characters).
pub(crate) const SMALL_VALUE_LEN: usize = 128;

impl Default for CookieConfig {
    fn default() -> Self {
        CookieConfig {
            name: "session".into(),
            host_prefix: true,
            path: "/".into(),
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            browser_session: false,
            max_cookie_len: 4096,
            max_chunks: 4,
        }
    }
}

fn invalid(field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: format!("cookie.{field}"),
        message: message.into(),
    }
}

/// RFC 9110 §5.6.2 `tchar`: what a cookie name (an RFC 6265 §4.1.1 `token`) may hold.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

impl CookieConfig {
    /// The name as sent: `__Host-` + `name` while `host_prefix` is on, else `name`.
    ///
    /// ```
    /// let mut cookie = sealed_session::config::CookieConfig::default();
    /// assert_eq!(cookie.full_name(), "__Host-session");
    /// cookie.host_prefix = false;
    /// assert_eq!(cookie.full_name(), "session");
    /// ```
    #[must_use]
    pub fn full_name(&self) -> String {
        if self.host_prefix {
            format!("__Host-{}", self.name)
        } else {
            self.name.clone()
        }
    }

    /// Checks the name, the attributes and the size limits.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the `cookie.*` setting at fault.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        self.validate_name()?;
        // RFC 6265bis §4.1.3.2: a `__Host-` cookie must be Secure, have Path=/ and no Domain;
        // browsers drop one that is not.
        if self.host_prefix {
            const WHY: &str = "(RFC 6265bis §4.1.3.2: browsers drop a `__Host-` cookie that \
                               is not Secure, has a Domain, or a Path other than `/`)";
            if !self.secure {
                return Err(invalid(
                    "secure",
                    format!(
                        "`host_prefix = true` requires `secure = true` {WHY}; for plain http on \
                         127.0.0.1 set both `host_prefix = false` and `secure = false`"
                    ),
                ));
            }
            if self.path != "/" {
                return Err(invalid(
                    "path",
                    format!("`host_prefix = true` requires `path = \"/\"` {WHY}; remove `path` or set `host_prefix = false`"),
                ));
            }
            if self.domain.is_some() {
                return Err(invalid(
                    "domain",
                    format!("`host_prefix = true` forbids `domain` {WHY}; remove `domain` or set `host_prefix = false`"),
                ));
            }
        }
        if self.same_site == SameSite::None && !self.secure {
            return Err(invalid(
                "same_site",
                "`same_site = \"none\"` requires `secure = true` (browsers reject SameSite=None \
                 cookies without Secure); use \"lax\" or turn `secure` on",
            ));
        }
        self.validate_path_and_domain()?;
        if !(1..=MAX_CHUNKS).contains(&self.max_chunks) {
            return Err(invalid(
                "max_chunks",
                format!("is {}; expected 1 to {MAX_CHUNKS}", self.max_chunks),
            ));
        }
        if !(MIN_COOKIE_LEN..=MAX_COOKIE_LEN).contains(&self.max_cookie_len) {
            return Err(invalid(
                "max_cookie_len",
                format!(
                    "is {}; expected {MIN_COOKIE_LEN} to {MAX_COOKIE_LEN} bytes (browsers keep \
                     at least 4096 per cookie, RFC 6265bis §5.7)",
                    self.max_cookie_len
                ),
            ));
        }
        self.validate_room()?;
        let total = self.max_cookie_len * self.max_chunks;
        if total > MAX_SEALED_LEN {
            return Err(invalid(
                "max_chunks",
                format!(
                    "{} chunks of {} bytes hold {total} bytes, more than the {MAX_SEALED_LEN} a \
                     sealed value may have (`limits::MAX_SEALED_LEN`), so the largest sessions \
                     written would be rejected on the next request; lower `max_chunks` to {} or \
                     `max_cookie_len` to {}",
                    self.max_chunks,
                    self.max_cookie_len,
                    MAX_SEALED_LEN / self.max_cookie_len,
                    MAX_SEALED_LEN / self.max_chunks,
                ),
            ));
        }
        Ok(())
    }

    fn validate_path_and_domain(&self) -> Result<(), ConfigError> {
        // Requests carry their path percent-encoded: a path with a space or a non-ASCII
        // character matches no request, and the cookie would never come back.
        if !self.path.starts_with('/')
            || !self.path.chars().all(|c| c.is_ascii_graphic() && c != ';')
        {
            return Err(invalid(
                "path",
                "is not a cookie path; it must start with `/` and hold only printable ASCII \
                 without spaces or `;` (percent-encode other characters, as requests carry them)",
            ));
        }
        if let Some(domain) = &self.domain {
            let host = domain.strip_prefix('.').unwrap_or(domain);
            // Every label non-empty and not starting or ending with `-` (RFC 1123): browsers
            // ignore a cookie whose Domain has an empty label (RFC 6265 §5.3).
            let label_ok = |l: &str| {
                !l.is_empty()
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            };
            if !host.split('.').all(label_ok) {
                return Err(invalid(
                    "domain",
                    "is not a domain name; expected e.g. \"example.com\" (labels of ASCII \
                     letters, digits and inner `-`, joined by single dots; punycode for IDNs; \
                     no port or path)",
                ));
            }
        }
        Ok(())
    }

    fn validate_room(&self) -> Result<(), ConfigError> {
        // Every line repeats the name and the attributes: a line with less room than a small
        // sealed session would make every write fail (a 500) although start-up succeeded.
        let overhead = self.full_name().len()
            + 1
            + ATTRS_BOUND
            + self.path.len()
            + self.domain.as_ref().map_or(0, String::len);
        let room = self.max_cookie_len.saturating_sub(overhead);
        if room < SMALL_VALUE_LEN {
            return Err(invalid(
                "name",
                format!(
                    "with the path, the domain and the other attributes, it leaves {room} of \
                     `max_cookie_len`'s {} bytes for the value, less than the {SMALL_VALUE_LEN} a \
                     small session needs; shorten the name (or the path or domain) or raise \
                     `max_cookie_len`",
                    self.max_cookie_len
                ),
            ));
        }
        Ok(())
    }

    fn validate_name(&self) -> Result<(), ConfigError> {
        let name = &self.name;
        if name.is_empty() {
            return Err(invalid(
                "name",
                "is empty; give a cookie name such as \"session\"",
            ));
        }
        if let Some((at, bad)) = name.chars().enumerate().find(|&(_, c)| !is_tchar(c)) {
            return Err(invalid(
                "name",
                format!(
                    "is not a valid cookie name: character {} ({bad:?}) is not allowed; use \
                     ASCII letters, digits and !#$%&'*+-.^_`|~ (an RFC 6265 §4.1.1 token)",
                    at + 1
                ),
            ));
        }
        if starts_with_ignore_case(name, "__Host-") {
            return Err(invalid(
                "name",
                "already has the `__Host-` prefix; write the name without it and set \
                 `host_prefix = true`",
            ));
        }
        if starts_with_ignore_case(name, "__Secure-") && !self.secure {
            return Err(invalid(
                "name",
                "has the `__Secure-` prefix, which requires `secure = true` (RFC 6265bis \
                 §4.1.3.1)",
            ));
        }
        Ok(())
    }
}
