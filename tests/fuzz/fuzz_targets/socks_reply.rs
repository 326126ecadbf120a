//! The SOCKS5 reply parser on arbitrary bytes: it must never panic, never claim more bytes
//! than it was given, ask only for more than it has (and no more than the longest reply),
//! and parse the same reply from any prefix that holds it.
#![no_main]

use btcnode::socks::proto::{Parsed, parse_reply};
use libfuzzer_sys::fuzz_target;

/// Longest reply: header, a 255-byte domain with its length byte, and the port.
const MAX_REPLY_LEN: usize = 4 + 1 + 255 + 2;

fuzz_target!(|data: &[u8]| {
    match parse_reply(data) {
        Ok(Parsed::Complete(reply, used)) => {
            assert!(used <= data.len() && used <= MAX_REPLY_LEN);
            // The reply alone parses to the same thing; so does the reply plus anything.
            assert_eq!(
                parse_reply(&data[..used]).ok(),
                Some(Parsed::Complete(reply.clone(), used))
            );
            let _ = reply.into_result();
            // Every shorter prefix asks for more (never an error, never a reply).
            for cut in 0..used {
                match parse_reply(&data[..cut]) {
                    Ok(Parsed::NeedMore(want)) => assert!(want > cut && want <= MAX_REPLY_LEN),
                    other => panic!("prefix {cut} of a {used}-byte reply gave {other:?}"),
                }
            }
        }
        Ok(Parsed::NeedMore(want)) => {
            assert!(want > data.len() && want <= MAX_REPLY_LEN, "want {want}");
        }
        Err(e) => {
            // Errors display without panicking.
            let _ = e.to_string();
        }
    }
});
