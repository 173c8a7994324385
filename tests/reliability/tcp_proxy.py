"""A TCP proxy in front of MariaDB that a test can cut: the database "goes away" for real.

Cutting closes every open connection (the client sees "Lost connection", the server rolls back the
open transaction) and makes new connections fail at the handshake until restore().
`cut_after_commit(n)` forwards the nth COMMIT from now to the server, then cuts before its reply returns:
the transaction is committed but the client only sees an error (the in-doubt case).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import List, Optional, Tuple


class CuttableProxy:
    def __init__(self, target: Tuple[str, int]) -> None:
        self.target = target
        self._listener = _loopback_listener()
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._sockets: List[socket.socket] = []
        self._up = True
        self._cut_after_commit = 0  # cut after this many more COMMITs (0: never)
        self._replies_muted = False
        self._frozen = False  # the server's answers are swallowed, connections kept open: a hung server
        self._closed = False
        self.connections_accepted = 0
        self.connections_refused = 0
        self._acceptor = threading.Thread(target=self._accept_loop, name="proxy-accept", daemon=True)
        self._acceptor.start()

    # -- control ---------------------------------------------------------------------------------
    def cut(self) -> None:
        """The database goes away: open connections die, new ones fail."""
        with self._lock:
            self._up = False
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _close(sock)

    def restore(self) -> None:
        with self._lock:
            self._up = True
            self._cut_after_commit = 0
            self._replies_muted = False
            self._frozen = False

    def freeze(self) -> None:
        """The database hangs: connections stay open, but no answer reaches a client until restore()."""
        self._frozen = True

    def cut_after_commit(self, nth: int = 1) -> None:
        """Let the nth COMMIT from now reach the server, then cut before the client gets the answer."""
        with self._lock:
            self._cut_after_commit = nth

    def close(self) -> None:
        self._closed = True
        self.cut()
        _close(self._listener)

    # -- plumbing --------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                up = self._up
            if not up:
                self.connections_refused += 1
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._sockets += [client, upstream]
                self.connections_accepted += 1
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                _close(sink)
                _close(source)
                return
            in_doubt = False
            if from_client and self._cut_after_commit and _is_commit(data):
                with self._lock:
                    self._cut_after_commit -= 1
                    in_doubt = self._cut_after_commit == 0
            if in_doubt:
                self._replies_muted = True  # the server's "OK" to this COMMIT never reaches the client
            if not from_client and self._replies_muted:
                # The server answered the COMMIT, so it has committed: lose the answer with the connection.
                self.cut()
                return
            if not from_client and self._frozen:
                continue
            try:
                sink.sendall(data)
            except OSError:
                _close(source)
                return


def _is_commit(packet: bytes) -> bool:
    # MySQL protocol: 3-byte length, 1-byte sequence, COM_QUERY (0x03), then the statement.
    return len(packet) > 5 and packet[4] == 0x03 and packet[5:].strip().upper() == b"COMMIT"


def _loopback_listener() -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    return listener


def _close(sock: Optional[socket.socket]) -> None:
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class SilentServer:
    """Accepts TCP connections and never sends a byte: a database host that hangs before its greeting."""

    def __init__(self) -> None:
        self._listener = _loopback_listener()
        self.port = self._listener.getsockname()[1]
        self._held: List[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept_loop, name="silent-accept", daemon=True).start()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(client)

    def close(self) -> None:
        self._closed = True
        for sock in [self._listener, *self._held]:
            _close(sock)
