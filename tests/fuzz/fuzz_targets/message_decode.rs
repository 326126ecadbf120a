//! Every payload decoder: the first byte picks the command (all known commands plus an
//! unknown one), the second the protocol version, the rest is the payload. Decoding must
//! never panic, and a decoded message must re-encode to bytes that decode to it again.
#![no_main]

use btcnode::wire::Message;
use btcnode::wire::message::COMMANDS;
use libfuzzer_sys::fuzz_target;

const PVERS: [u32; 10] = [
    0, 209, 31402, 60000, 60001, 60002, 70001, 70002, 70013, 70016,
];

fuzz_target!(|data: &[u8]| {
    let [sel, pv, payload @ ..] = data else {
        return;
    };
    let command = COMMANDS.get(usize::from(*sel)).copied().unwrap_or("bogus");
    let pver = PVERS[usize::from(*pv) % PVERS.len()];
    if let Ok(msg) = Message::decode(command, payload.to_vec(), pver) {
        let mut out = Vec::new();
        msg.encode_payload(&mut out, pver);
        let again = Message::decode(command, out.clone(), pver);
        assert!(
            again.is_ok(),
            "{command}: re-encoded payload fails: {again:?}"
        );
        if let Ok(m2) = again {
            let mut out2 = Vec::new();
            m2.encode_payload(&mut out2, pver);
            assert_eq!(out, out2, "{command}: encoding not stable");
        }
    }
});
