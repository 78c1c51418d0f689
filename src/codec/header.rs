//! The two-byte header: `version:u8 ‖ key_id:u8`.

use crate::error::RejectReason;
use crate::keys::KeyId;

/// The wire format version this build writes: 2 (MessagePack values). It also reads 1
/// (postcard values), the version of the previous release.
pub(crate) const VERSION: u8 = 2;

/// The versions this build opens.
pub(crate) const READABLE: [u8; 2] = [1, 2];

/// Header length in bytes.
pub(crate) const HEADER_LEN: usize = 2;

/// A parsed header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    /// Format version (one of [`READABLE`] once parsed).
    pub(crate) version: u8,
    /// The key that sealed the value.
    pub(crate) key_id: KeyId,
}

impl Header {
    /// The header bytes of wire format `version` for a value sealed with `key_id` (this build
    /// writes [`VERSION`]; the fuzz targets write version 1 too).
    #[must_use]
    pub(crate) fn encode_version(version: u8, key_id: KeyId) -> [u8; HEADER_LEN] {
        [version, key_id.0]
    }

    /// Reads the header at the start of `bytes`, returning it and the rest.
    ///
    /// # Errors
    /// [`RejectReason::Malformed`] if fewer than two bytes, [`RejectReason::UnknownVersion`]
    /// for any version not in [`READABLE`].
    pub(crate) fn parse(bytes: &[u8]) -> Result<(Header, &[u8]), RejectReason> {
        let (head, rest) = bytes
            .split_first_chunk::<HEADER_LEN>()
            .ok_or(RejectReason::Malformed)?;
        if !READABLE.contains(&head[0]) {
            return Err(RejectReason::UnknownVersion);
        }
        Ok((
            Header {
                version: head[0],
                key_id: KeyId(head[1]),
            },
            rest,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rejects_short_and_unknown_versions() {
        assert_eq!(Header::parse(&[]), Err(RejectReason::Malformed));
        assert_eq!(Header::parse(&[1]), Err(RejectReason::Malformed));
        assert_eq!(Header::parse(&[3, 0]), Err(RejectReason::UnknownVersion));
        assert_eq!(Header::parse(&[2, 0]).unwrap().0.version, 2);
        assert_eq!(Header::parse(&[0, 0]), Err(RejectReason::UnknownVersion));
        let (h, rest) = Header::parse(&[1, 7, 9]).unwrap();
        assert_eq!(h.key_id, KeyId(7));
        assert_eq!(rest, &[9]);
    }
}
