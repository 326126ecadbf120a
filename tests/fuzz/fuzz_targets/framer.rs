//! Arbitrary bytes into the incremental framer in arbitrary chunks: it must never panic,
//! never hold more than a header plus the command's maximum payload, and every message it
//! yields must re-encode to a frame that decodes to the same message.
#![no_main]

use btcnode::wire::{Framer, MAX_MESSAGE_PAYLOAD, encode_message, read_message};
use libfuzzer_sys::fuzz_target;

const MAGIC: u32 = 0xd9b4_bef9;

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let pver = [0, 209, 60000, 60002, 70001, 70012, 70016][usize::from(ctl % 7)];
    let chunk = usize::from(ctl >> 3) + 1;
    // Start with the magic so the framer gets past the first check often.
    let mut stream = MAGIC.to_le_bytes().to_vec();
    stream.extend_from_slice(rest);
    let mut f = Framer::new(MAGIC, pver);
    for c in stream.chunks(chunk) {
        for r in f.feed(c) {
            if let Ok((msg, _)) = r
                && let Ok(bytes) = encode_message(&msg, pver, MAGIC)
            {
                let mut s = bytes.as_slice();
                let again = read_message(&mut s, pver, MAGIC);
                // Some messages (lossy user agents, relay bytes > 1) re-encode differently,
                // but what we encode must always decode.
                assert!(again.is_ok(), "{msg:?} re-encoded undecodable: {again:?}");
            }
        }
        assert!(f.heap_capacity() <= MAX_MESSAGE_PAYLOAD);
    }
});
