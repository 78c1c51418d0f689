//! Every bound the crate enforces on input from the network or the configuration, defined
//! once, with the relations between them checked at compile time.
//!
//! | limit | value | why |
//! |---|---|---|
//! | [`MAX_SEALED_LEN`] | 65536 characters | the most a sealed value may be before `open` decodes anything; `max_cookie_len × max_chunks` may not exceed it, and nothing longer is ever written |
//! | [`MAX_CHUNKS`] | 16 | cookies one session may span (`cookie.max_chunks` is 1 to this) |
//! | [`MIN_COOKIE_LEN`], [`MAX_COOKIE_LEN`] | 256, 8192 bytes | the range of `cookie.max_cookie_len` |
//! | [`MAX_CANDIDATES`] | 4 | cookies with our name tried per request (one AEAD open each; together at most one value of `max_cookie_len × max_chunks` bytes) |
//! | [`MAX_AGE_SECS`] | 400 days | the longest `Max-Age` sent and store TTL given |
//! | [`MAX_RECORD_LEN`] | 1 MiB | the largest sealed server-mode record |
//! | [`MAX_VALUE_DEPTH`] | 64 | how deep one session value may nest (arrays, maps, structs) |
//! | [`MEMORY_STORE_CAPACITY`] | 100,000 records | the default bound of a `MemoryStore` |
//! | [`MAX_FLASHES`] | 8 | flash messages waiting at once (the oldest is dropped past it) |
//! | [`MAX_FLASH_TEXT_LEN`] | 256 bytes | the text of one flash message (cut at a character boundary) |
//!
//! ```
//! use sealed_session::limits;
//! assert!(limits::MAX_CHUNKS < 100); // chunk counts are read as at most two digits
//! assert_eq!(limits::MAX_AGE_SECS, 400 * 24 * 3600);
//! ```

/// The largest sealed value (base64 characters) this crate ever tries to open, whatever the
/// configuration says: 64 KiB, far above what browsers keep (RFC 6265bis §5.6: 4096 bytes per
/// cookie) times a typical chunk count. Checked before any decoding.
pub const MAX_SEALED_LEN: usize = 64 * 1024;

/// The most cookies one session may span, whatever the configuration says.
pub const MAX_CHUNKS: usize = 16;

/// The fewest bytes allowed for `cookie.max_cookie_len`: room for a name, attributes and a
/// small value.
pub const MIN_COOKIE_LEN: usize = 256;

/// The most bytes allowed for `cookie.max_cookie_len`. Browsers keep at least 4096 bytes of
/// name and value per cookie (RFC 6265bis §5.7); few keep more.
pub const MAX_COOKIE_LEN: usize = 8192;

/// The most candidate values (cookies with our name, e.g. tossed from a sibling domain) that
/// are tried per request. Each costs at most one AEAD open.
pub const MAX_CANDIDATES: usize = 4;

/// The longest `Max-Age` sent, in seconds, and the longest TTL a store record gets: RFC
/// 6265bis §5.6.2 has user agents cap `Max-Age` at 400 days, so an id cookie never outlives it.
pub const MAX_AGE_SECS: u64 = 400 * 24 * 3600;

/// The largest sealed server-mode record (characters) written or opened: 1 MiB. Records are
/// not bound by cookie sizes, but a session is not a file store.
pub const MAX_RECORD_LEN: usize = 1024 * 1024;

/// How deep one session value may nest (arrays in arrays, maps, structs): deeper values are
/// refused on `insert` and on reading, so decoding never recurses without bound.
pub const MAX_VALUE_DEPTH: usize = 64;

/// The records a [`MemoryStore`](crate::store::MemoryStore) holds unless told otherwise
/// (`[store] capacity`, or `MemoryStore::capacity`): past it, new sessions are answered 503
/// while existing ones keep working. At a few hundred bytes per record (a typical session
/// and its key) that is some tens of MB, so that clients creating sessions at will cannot
/// grow the process without bound until the records expire.
pub const MEMORY_STORE_CAPACITY: usize = 100_000;

/// Server mode: the most compare-and-swap attempts one request makes to write its session
/// when other requests of the same session keep writing it meanwhile (each conflict merges
/// this request's changes onto the newer record and tries again). Saves of one record in one
/// process wait for each other, so a conflict needs a writer in another process; past this
/// bound the request's changes are not saved and it is answered 503
/// ([`StoreError::Conflict`](crate::store::StoreError::Conflict)).
pub const MAX_SAVE_ATTEMPTS: u32 = 8;

/// The most flash messages ([`Session::flash`](crate::Session::flash)) waiting in one session
/// at once; queuing one more drops the oldest. With [`MAX_FLASH_TEXT_LEN`] this keeps the
/// queue around 2 KiB at worst, well inside the default cookie budget (4 × 4096 bytes).
pub const MAX_FLASHES: usize = 8;

/// The longest text of one flash message, in bytes; a longer one is cut at a character
/// boundary.
pub const MAX_FLASH_TEXT_LEN: usize = 256;

const _: () = assert!(
    MAX_CHUNKS < 100,
    "chunk counts are read as at most two digits"
);
const _: () = assert!(MIN_COOKIE_LEN < MAX_COOKIE_LEN);
// The chunk settings may not hold more than `open` accepts (validation refuses a
// `max_cookie_len × max_chunks` above `MAX_SEALED_LEN`): every `max_chunks` allowed must leave
// some `max_cookie_len` allowed, and one cookie of the largest size must fit.
const _: () = assert!(MIN_COOKIE_LEN * MAX_CHUNKS <= MAX_SEALED_LEN);
const _: () = assert!(MAX_COOKIE_LEN <= MAX_SEALED_LEN);
// The defaults (4096 × 4) fit, and so does 4096 × MAX_CHUNKS.
const _: () = assert!(4096 * MAX_CHUNKS <= MAX_SEALED_LEN);
const _: () = assert!(MAX_CANDIDATES >= 1);
// The worst-case flash queue (each message: its text and a dozen bytes of names and level)
// stays well under one default cookie's worth of the default four.
const _: () = assert!(MAX_FLASHES * (MAX_FLASH_TEXT_LEN + 24) <= 4096);
