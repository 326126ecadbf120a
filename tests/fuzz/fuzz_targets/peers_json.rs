//! The peers.json loader on arbitrary bytes: it must never panic; a book it accepts must
//! hold its invariants and survive a save and reload with the same addresses.
#![no_main]

use btcnode::addrmgr::{AddrBook, book_rng};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(book) = AddrBook::from_json(data, book_rng(Some(1))) else {
        return;
    };
    if let Err(e) = book.check_invariants() {
        panic!("loaded book breaks an invariant: {e}");
    }
    let saved = book.to_json();
    let again = match AddrBook::from_json(&saved, book_rng(Some(1))) {
        Ok(b) => b,
        Err(e) => panic!("what we saved does not load: {e}"),
    };
    if let Err(e) = again.check_invariants() {
        panic!("reloaded book breaks an invariant: {e}");
    }
    let mut a = book.addresses();
    let mut b = again.addresses();
    a.sort_by_key(|n| n.to_string());
    b.sort_by_key(|n| n.to_string());
    assert_eq!(a.len(), b.len(), "addresses lost in a save and reload");
    assert_eq!(book.num_tried(), again.num_tried(), "tried count changed");
});
