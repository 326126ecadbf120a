//! The `encode` tool's input path: arbitrary text as JSON into a message and out as a
//! frame. Must never panic.
#![no_main]

use btcnode::wire::cli::message_from_json;
use btcnode::wire::encode_message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data)
        && let Ok(msg) = message_from_json(v)
    {
        let _ = encode_message(&msg, 70016, 0xd9b4_bef9);
    }
});
