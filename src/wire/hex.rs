//! Lower-case hex for byte fields in JSON and error messages, and a serde adapter
//! (`#[serde(with = "hex::serde")]`) so byte fields print as hex strings.

/// Lower-case hex of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Remote bytes made safe to print: the text itself when it is printable ASCII (trailing
/// NULs, as in a command field, dropped), else `0x` and lower-case hex. Raw remote bytes are
/// never printed as text: a BIP324 key read as a command name filled logs with garbage.
pub fn printable(bytes: &[u8]) -> String {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let text = &bytes[..end];
    if text.iter().all(|b| (0x20..0x7f).contains(b)) {
        text.iter().map(|&b| char::from(b)).collect()
    } else {
        format!("0x{}", encode(bytes))
    }
}

/// Bytes from hex (either case); errors say where the input went wrong.
pub fn decode(s: &str) -> Result<Vec<u8>, String> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits ({})", b.len()));
    }
    let digit = |i: usize| -> Result<u8, String> {
        match b[i] {
            c @ b'0'..=b'9' => Ok(c - b'0'),
            c @ b'a'..=b'f' => Ok(c - b'a' + 10),
            c @ b'A'..=b'F' => Ok(c - b'A' + 10),
            c => Err(format!(
                "invalid hex digit {:?} at offset {i}",
                char::from(c)
            )),
        }
    };
    (0..b.len() / 2)
        .map(|i| Ok(digit(2 * i)? << 4 | digit(2 * i + 1)?))
        .collect()
}

/// Serde adapter: `Vec<u8>` as a hex string.
pub mod serde {
    /// Serializes bytes as a hex string.
    pub fn serialize<S: ::serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode(b))
    }

    /// Deserializes bytes from a hex string.
    pub fn deserialize<'de, D: ::serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <String as ::serde::Deserialize>::deserialize(d)?;
        super::decode(&s).map_err(::serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_round_trip() {
        assert_eq!(super::encode(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(super::decode("00AB10"), Ok(vec![0, 0xab, 0x10]));
        assert!(super::decode("0").is_err());
        assert!(super::decode("zz").is_err());
    }
}

#[cfg(test)]
mod printable_tests {
    #[test]
    fn printable_text_stays_other_bytes_become_hex() {
        assert_eq!(super::printable(b"version\0\0\0\0\0"), "version");
        assert_eq!(super::printable(&[0x5d, 0xfe, 0x52, 0]), "0x5dfe5200");
        assert_eq!(super::printable(b"a\nb"), "0x610a62");
    }
}
