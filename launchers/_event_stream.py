"""A token-guarded event stream from remote trial attempts to the driver, over one TCP connection
per attempt. Used by ``compute=spark``; made for any target whose workers can reach the driver
(an SSH host, a container).

The driver runs an :class:`EventServer`; each worker attempt opens an :class:`EventClient`.

Protocol (every line, both ways, is one JSON object ending in ``\\n``, UTF-8)::

    worker                                          driver
      connect ------------------------------------->
      <-------------------------- {"challenge": "<random hex>"}
      {"hello": "hpt-events/1", "trial_id": "0003",
       "attempt": 1, "mac": "<hex>"} -------------->
      <-------------------------- {"accepted": true}     (or {"command": "stop"}, then close)
      event lines (hpt.events.encode), each with "seq": 1, 2, 3, ... ---------->
      <-------------------------- {"command": "stop"}    (at any time, at most once is needed)
      <-------------------------- close                   (after the attempt's final event)

* **Auth.** Both ends share a random token, handed to the worker out of band (a Spark closure, an
  environment variable; never a command line). The worker proves it knows the token by
  ``mac = HMAC-SHA256(token, challenge "\\n" trial_id "\\n" attempt)``; the token itself never
  travels, and a recorded hello does not open another connection (the challenge is new each
  time). A wrong mac, a malformed or oversized hello, or no hello within the handshake timeout
  closes the connection without a word and delivers nothing.
* **Attempts.** The driver opens a :class:`Channel` per attempt (:meth:`EventServer.open_channel`)
  before the worker starts. A hello for an attempt without an open channel (never opened, or
  already over) is answered with ``stop`` and closed: that worker must not run on.
* **De-duplication.** Events of an attempt are passed on in increasing ``seq``, which the client
  numbers from 1. An event whose ``seq`` is not above the last one passed on is a duplicate and is
  dropped; so is everything after the attempt's final event (:data:`hpt.events.ATTEMPT_FINAL`).
  The same events may therefore arrive twice, by the stream and by a second route
  (:meth:`Channel.deliver`, e.g. a Spark job's result that carries :attr:`EventClient.events`),
  and are passed on once. Events leave the server with ``seq`` removed.
* **Disconnects.** A dropped connection ends nothing by itself: the launcher, which knows whether
  the worker still runs, replays the other route or calls :meth:`Channel.lose`, which makes up
  the ``lost`` event (:func:`hpt.events.lost`) unless a final event was passed on already. A
  worker may connect again for the same attempt; the newest connection carries the stop request.
  A client that cannot reach the server still works, unconnected: it numbers and keeps its
  events and never sees a stop.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import queue
import secrets
import socket
import threading
import time
from typing import IO, Any

from hpt.events import ATTEMPT_FINAL, decode, encode, lost

log = logging.getLogger(__name__)

PROTOCOL = "hpt-events/1"
_HELLO_LIMIT = 64 * 1024  # bytes; a hello is a few hundred
_STOP_LINE = json.dumps({"command": "stop"}).encode() + b"\n"
_ACCEPTED_LINE = json.dumps({"accepted": True}).encode() + b"\n"
# Servers this process could not reach: later attempts do not wait for the timeout again.
_UNREACHABLE: set[tuple[str, int]] = set()


def new_token() -> str:
    """A fresh random shared secret for one server."""
    return secrets.token_hex(16)


def _mac(token: str, challenge: str, trial_id: str, attempt: int) -> str:
    message = f"{challenge}\n{trial_id}\n{attempt}".encode()
    return hmac.new(token.encode(), message, hashlib.sha256).hexdigest()


def _line(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


class Channel:
    """The driver's end of one attempt: de-duplicates its events and carries its stop request.

    Thread-safe. Obtained from :meth:`EventServer.open_channel`.
    """

    def __init__(self, server: EventServer, trial_id: str, attempt: int) -> None:
        self.trial_id = trial_id
        self.attempt = attempt
        self.connected = threading.Event()  # set when a worker connection was accepted
        self.stop_asked_at: float | None = None  # monotonic time of :meth:`stop`
        self._server = server
        self._lock = threading.Lock()
        self._conn: socket.socket | None = None
        self._stream_closed = threading.Event()
        self._passed = 0  # highest seq passed on
        self._done = False

    @property
    def key(self) -> tuple[str, int]:
        return (self.trial_id, self.attempt)

    @property
    def done(self) -> bool:
        """True once a final event was passed on, or the channel was lost or closed."""
        return self._done

    def deliver(self, event: dict[str, Any]) -> bool:
        """Pass ``event`` on unless it is a duplicate or the attempt is over; True if passed."""
        event = dict(event)
        seq = int(event.pop("seq", 0))
        with self._lock:
            if self._done or seq <= self._passed:
                return False
            self._passed = seq
            self._done = event.get("event") in ATTEMPT_FINAL
            self._server._queue.put(event)
        if self._done:
            self._retire()
        return True

    def lose(self, reason: str) -> bool:
        """Pass on a made-up ``lost`` event unless the attempt is over; True if it was not."""
        with self._lock:
            if self._done:
                return False
            self._done = True
            self._server._queue.put(lost(self.trial_id, self.attempt, reason))
        self._retire()
        return True

    def stop(self) -> None:
        """Ask the worker to stop: now if it is connected, else as soon as it connects."""
        with self._lock:
            if self._done:
                return
            if self.stop_asked_at is None:
                self.stop_asked_at = time.monotonic()
            conn = self._conn
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.sendall(_STOP_LINE)

    def wait_stream_closed(self, timeout: float) -> bool:
        """Wait until the worker's connection (if one was accepted) has closed."""
        return self._stream_closed.wait(timeout)

    def close(self) -> None:
        """End the channel without an event (the sweep is over): later events are dropped."""
        with self._lock:
            self._done = True
        self._retire()

    # -- used by the server ---------------------------------------------------------------------
    def _attach(self, conn: socket.socket) -> bool:
        """Make ``conn`` the attempt's connection; False if the attempt is already over."""
        with self._lock:  # held while answering, so a concurrent stop() follows the answer
            if self._done:
                return False
            stop = self.stop_asked_at is not None
            previous, was_connected = self._conn, self.connected.is_set()
            was_closed = self._stream_closed.is_set()
            # Connected before the answer: once the worker knows it was accepted, the driver's
            # side says so too (setting it after the answer raced a caller checking right away).
            self._conn = conn
            self._stream_closed.clear()
            self.connected.set()
            try:
                conn.sendall(_ACCEPTED_LINE + (_STOP_LINE if stop else b""))
            except OSError:
                self._conn = previous  # as it was: this connection never happened
                if not was_connected:
                    self.connected.clear()
                if was_closed:
                    self._stream_closed.set()
                return False
        return True

    def _detach(self, conn: socket.socket) -> None:
        with self._lock:
            if self._conn is conn:
                self._conn = None
                self._stream_closed.set()

    def _retire(self) -> None:
        self._server._forget(self)
        with self._lock:
            conn = self._conn
        if conn is not None:  # the worker's reader sees the end; its later sends fail quietly
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class EventServer:
    """The driver's end: accepts worker connections and hands their events to :meth:`poll`.

    Listens on ``bind`` (default: ``host``) at ``port`` (default: any free one); workers connect
    to :attr:`address`, i.e. ``(host, port)``. ``token`` defaults to :func:`new_token`. Starts
    its accept thread at once; :meth:`close` stops it and ends every open channel.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        *,
        bind: str | None = None,
        port: int = 0,
        token: str | None = None,
        handshake_timeout: float = 30.0,
    ) -> None:
        self.token = token or new_token()
        self.handshake_timeout = handshake_timeout
        self._queue: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._channels: dict[tuple[str, int], Channel] = {}
        self._closed = False
        self._socket = socket.create_server((bind or host, port))
        self.address: tuple[str, int] = (host, int(self._socket.getsockname()[1]))
        self._acceptor = threading.Thread(target=self._accept, name="hpt-event-server", daemon=True)
        self._acceptor.start()

    def open_channel(self, trial_id: str, attempt: int) -> Channel:
        """The channel of attempt ``attempt`` of ``trial_id``; open it before the worker starts."""
        channel = Channel(self, str(trial_id), int(attempt))
        with self._lock:
            if self._closed:
                raise RuntimeError("EventServer.open_channel after close()")
            if channel.key in self._channels:
                raise ValueError(f"attempt {attempt} of trial {trial_id} has a channel already")
            self._channels[channel.key] = channel
        return channel

    def poll(self, timeout: float) -> list[dict[str, Any]]:
        """Events passed on since the last call, waiting up to ``timeout`` s for the first."""
        events: list[dict[str, Any]] = []
        try:
            events.append(self._queue.get(timeout=max(0.0, timeout)))
        except queue.Empty:
            return events
        while True:
            try:
                events.append(self._queue.get_nowait())
            except queue.Empty:
                return events

    def close(self) -> None:
        """Stop listening and end every open channel without an event; idempotent."""
        with self._lock:
            self._closed = True
            channels = list(self._channels.values())
        for channel in channels:
            channel.close()
        with contextlib.suppress(OSError):
            # close() alone does not wake a thread blocked in accept() on Linux; shutdown() does.
            self._socket.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._socket.close()

    def _forget(self, channel: Channel) -> None:
        with self._lock:
            if self._channels.get(channel.key) is channel:
                del self._channels[channel.key]

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as lines:
            channel = self._handshake(conn, lines)
            if channel is None:
                return
            try:
                for line in lines:
                    if line.strip():
                        channel.deliver(decode(line))
            except ValueError as err:
                log.warning("trial %s attempt %d: bad event line (%s)", *channel.key, err)
            except OSError:
                pass  # the connection broke; the launcher decides what that means
            finally:
                channel._detach(conn)

    def _handshake(self, conn: socket.socket, lines: IO[bytes]) -> Channel | None:
        """The channel ``conn`` authenticated for, or None (the connection is then to close)."""
        challenge = secrets.token_hex(16)
        try:
            conn.settimeout(self.handshake_timeout)
            conn.sendall(_line({"challenge": challenge}))
            hello = _read_message(lines)
            trial_id, attempt = str(hello["trial_id"]), int(hello["attempt"])
            mac = str(hello["mac"])
            conn.settimeout(None)
        except (OSError, ValueError, TypeError, KeyError):
            return None
        if hello.get("hello") != PROTOCOL or not hmac.compare_digest(
            mac, _mac(self.token, challenge, trial_id, attempt)
        ):
            log.debug("event stream: a connection failed authentication")
            return None
        with self._lock:
            channel = self._channels.get((trial_id, attempt))
        if channel is not None and channel._attach(conn):
            return channel
        with contextlib.suppress(OSError):
            conn.sendall(_STOP_LINE)  # an attempt already written off: the worker must end it
        return None


def _read_message(lines: IO[bytes]) -> dict[str, Any]:
    """One handshake message; ValueError if it is not a JSON object on one short line."""
    line = lines.readline(_HELLO_LIMIT)
    if not line.endswith(b"\n"):
        raise ValueError("the connection closed, or the line is too long")
    message = json.loads(line)
    if not isinstance(message, dict):
        raise ValueError("not a JSON object")
    return message


class EventClient:
    """The worker's end of one attempt: numbers its events, streams them, and hears a stop.

    ``EventClient(trial_id, attempt)`` is unconnected: :meth:`send` only numbers and keeps events
    (:attr:`events`). :meth:`connect` returns a connected client when the server accepts it, else
    an unconnected one (never raises for a network problem): a worker that cannot reach the
    driver still runs.
    """

    def __init__(self, trial_id: str, attempt: int) -> None:
        self.trial_id = trial_id
        self.attempt = attempt
        self.events: list[dict[str, Any]] = []  # every event sent, with its seq
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    @classmethod
    def connect(
        cls,
        address: tuple[str, int],
        token: str,
        trial_id: str,
        attempt: int,
        timeout: float = 10.0,
    ) -> EventClient:
        client = cls(trial_id, attempt)
        address = (str(address[0]), int(address[1]))
        if address in _UNREACHABLE:
            return client  # do not make every attempt of this process wait for the timeout
        try:
            sock = socket.create_connection(address, timeout=timeout)
        except OSError:
            _UNREACHABLE.add(address)
            return client
        try:
            lines = sock.makefile("rb")
            challenge = str(_read_message(lines)["challenge"])
            hello = {
                "hello": PROTOCOL,
                "trial_id": trial_id,
                "attempt": attempt,
                "mac": _mac(token, challenge, trial_id, attempt),
            }
            sock.sendall(_line(hello))
            answer = _read_message(lines)
            sock.settimeout(None)
        except (OSError, ValueError, TypeError, KeyError):
            lines.close()
            sock.close()
            return client
        if answer.get("command") == "stop":
            client._stop.set()  # the driver wrote this attempt off already
        if answer.get("accepted") is not True:
            lines.close()
            sock.close()
            return client
        client._sock = sock
        threading.Thread(target=client._read, args=(lines,), daemon=True).start()
        return client

    @property
    def connected(self) -> bool:
        """True while the stream is live (events sent now reach the driver as they happen)."""
        return self._sock is not None

    def should_stop(self) -> bool:
        """True once the driver asked this attempt to stop."""
        return self._stop.is_set()

    def send(self, event: dict[str, Any]) -> None:
        """Number ``event``, keep it (:attr:`events`), and stream it if connected.

        Raises ``TypeError`` for a value JSON cannot carry (see :func:`hpt.events.encode`).
        """
        with self._lock:
            numbered = {**event, "seq": len(self.events) + 1}
            data = (encode(numbered) + "\n").encode()
            self.events.append(numbered)
            if self._sock is not None:
                try:
                    self._sock.sendall(data)
                except OSError:
                    self._drop()  # the driver gets the rest by another route, or not at all

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _read(self, lines: IO[bytes]) -> None:
        try:
            with lines:
                for line in lines:
                    if line.strip() and json.loads(line) == {"command": "stop"}:
                        self._stop.set()
        except (OSError, ValueError):
            pass  # the driver went away, the client closed the stream, or a garbled line

    def _drop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # also wakes the reader thread
            sock.close()
