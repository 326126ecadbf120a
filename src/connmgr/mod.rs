//! Connection manager: outbound connection requests, retries, listeners, inbound caps, the
//! dynamic ban score and DNS seeding. btcd counterpart: `connmgr`.
