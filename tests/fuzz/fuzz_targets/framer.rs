//! Bytes into the incremental framer in arbitrary chunks: it must never panic, never hold
//! more than a header plus the command's maximum payload, and every message it yields must
//! re-encode to a frame that decodes again. The first byte picks the protocol version and
//! chunk size, the second a command; the rest becomes a well-formed frame around the fuzzed
//! payload (so the decoders behind the framer are reached) or, when the selector is past
//! the known commands, raw bytes after the magic.
#![no_main]

use btcnode::wire::message::COMMANDS;
use btcnode::wire::message_header::checksum;
use btcnode::wire::{Framer, MAX_MESSAGE_PAYLOAD, encode_message, read_message};
use libfuzzer_sys::fuzz_target;

const MAGIC: u32 = 0xd9b4_bef9;

fuzz_target!(|data: &[u8]| {
    let [ctl, sel, rest @ ..] = data else {
        return;
    };
    let pver = [0, 209, 60000, 60002, 70001, 70012, 70016][usize::from(ctl % 7)];
    let chunk = usize::from(ctl >> 3) + 1;
    let mut stream = MAGIC.to_le_bytes().to_vec();
    match COMMANDS.get(usize::from(*sel)) {
        Some(cmd) => {
            let mut c = [0u8; 12];
            c[..cmd.len()].copy_from_slice(cmd.as_bytes());
            stream.extend_from_slice(&c);
            stream.extend_from_slice(&(rest.len() as u32).to_le_bytes());
            stream.extend_from_slice(&checksum(rest));
            stream.extend_from_slice(rest);
            // A second, raw copy after the frame exercises resynchronisation on garbage.
            stream.extend_from_slice(&rest[..rest.len().min(64)]);
        }
        None => stream.extend_from_slice(rest),
    }
    let mut f = Framer::new(MAGIC, pver);
    for c in stream.chunks(chunk) {
        for r in f.feed(c) {
            if let Ok((msg, _)) = r
                && let Ok(bytes) = encode_message(&msg, pver, MAGIC)
            {
                let mut s = bytes.as_slice();
                let again = read_message(&mut s, pver, MAGIC);
                assert!(again.is_ok(), "{msg:?} re-encoded undecodable: {again:?}");
            }
        }
        assert!(f.heap_capacity() <= MAX_MESSAGE_PAYLOAD);
    }
});
