//! The `decode` and `encode` tools (placeholder, completed below).

/// `btcnode decode`.
pub fn decode_main(_args: &[String]) -> i32 {
    1
}

/// `btcnode encode`.
pub fn encode_main(_args: &[String]) -> i32 {
    1
}
