//! Name-based UUIDs (RFC 4122 version 5, SHA-1) for the SBOM's serial
//! number: the same subject always gets the same serial, so two builds of the
//! same inputs write the same bytes.

use sha1::{Digest, Sha1};

/// RFC 4122's namespace for URLs (`6ba7b811-9dad-11d1-80b4-00c04fd430c8`).
const NAMESPACE_URL: [u8; 16] = [
    0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
];

/// The URL whose v5 UUID under [`NAMESPACE_URL`] is hoist's SBOM namespace
/// (`e5b7d1c5-45a8-5617-8702-cc63a2763b68`).
const NAMESPACE_NAME: &str = "https://github.com/hoist-dev/hoist#sbom";

/// The version 5 UUID of `name` in `namespace`, as 16 bytes.
fn uuid_v5(namespace: &[u8; 16], name: &str) -> [u8; 16] {
    let hash = Sha1::new()
        .chain_update(namespace)
        .chain_update(name.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    bytes
}

/// The hyphenated lower-case form, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
fn hyphenated(bytes: &[u8; 16]) -> String {
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The SBOM serial number for a subject (`sha256:<hex>` of the jar, or of
/// the image): `urn:uuid:` and the v5 UUID of the subject in hoist's
/// namespace.
pub fn serial_number(subject: &str) -> String {
    let namespace = uuid_v5(&NAMESPACE_URL, NAMESPACE_NAME);
    format!("urn:uuid:{}", hyphenated(&uuid_v5(&namespace, subject)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known answers from Python's `uuid.uuid5`.
    #[test]
    fn known_answers() {
        assert_eq!(
            hyphenated(&uuid_v5(&NAMESPACE_URL, NAMESPACE_NAME)),
            "e5b7d1c5-45a8-5617-8702-cc63a2763b68"
        );
        assert_eq!(
            serial_number(
                "sha256:9394e9171bce5a5d4edef10261fbf9250753360b3e5b33ffd2c8c32a32ae5725"
            ),
            "urn:uuid:79623de4-dfb1-543b-9a1c-07f4c3100616"
        );
        assert_eq!(
            serial_number(
                "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            ),
            "urn:uuid:b0010072-bafa-5809-94ec-1f8a8f23a90e"
        );
        assert_eq!(
            serial_number(""),
            "urn:uuid:824fac06-1e00-5502-b76b-f583239fa075"
        );
    }
}
