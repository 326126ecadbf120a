#!/usr/bin/env python3
"""Drives getheaders/headers against a btcnode with python-bitcoinlib, an independent
implementation of the wire protocol: handshake, ask for the headers after genesis, check that
every header links to the one before and that python-bitcoinlib computes the same hashes.

Usage: getheaders.py PORT EXPECTED_COUNT EXPECTED_LAST_HASH   (loopback, regtest only)
"""

import socket
import sys

import bitcoin
from bitcoin.core import CBlockHeader, b2lx, lx
import bitcoin.messages
from bitcoin.core.serialize import VarIntSerializer
from bitcoin.messages import (
    MsgSerializable,
    msg_getheaders,
    msg_headers,
    msg_verack,
    msg_version,
)

bitcoin.SelectParams("regtest")


class msg_headers_with_count(msg_headers):
    """python-bitcoinlib 0.12 reads `headers` without the transaction count (always 0) that
    follows each header on the wire; this reads it as the protocol defines."""

    @classmethod
    def msg_deser(cls, f, protover=None):
        c = cls()
        for _ in range(VarIntSerializer.stream_deserialize(f)):
            c.headers.append(CBlockHeader.stream_deserialize(f))
            VarIntSerializer.stream_deserialize(f)
        return c


bitcoin.messages.messagemap[b"headers"] = msg_headers_with_count
REGTEST_GENESIS = "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"


def recv_until(sock_file, command):
    while True:
        msg = MsgSerializable.stream_deserialize(sock_file)
        if msg is None:
            continue
        if msg.command == command:
            return msg


def main():
    port, want_count, want_last = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    f = sock.makefile("rb")
    version = msg_version()
    version.nVersion = 70016
    version.nStartingHeight = 0
    sock.sendall(version.to_bytes())
    recv_until(f, b"version")
    sock.sendall(msg_verack().to_bytes())
    recv_until(f, b"verack")

    req = msg_getheaders()
    req.locator.vHave = [lx(REGTEST_GENESIS)]
    sock.sendall(req.to_bytes())
    reply = recv_until(f, b"headers")
    headers = reply.headers
    if len(headers) != want_count:
        print(f"got {len(headers)} headers, want {want_count}")
        return 1
    prev = lx(REGTEST_GENESIS)
    for i, h in enumerate(headers):
        if h.hashPrevBlock != prev:
            print(f"header {i} does not link to the one before")
            return 1
        # The proof of work as python-bitcoinlib computes it (regtest target).
        CBlockHeader.calc_difficulty(h.nBits)
        prev = h.GetHash()
    if b2lx(prev) != want_last:
        print(f"last hash {b2lx(prev)}, want {want_last}")
        return 1
    print(f"ok: {len(headers)} headers, last {b2lx(prev)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
