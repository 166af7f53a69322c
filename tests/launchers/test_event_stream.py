"""The token-guarded event stream (launchers/_event_stream.py) over real loopback sockets."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from launchers._event_stream import PROTOCOL, EventClient, EventServer, _mac

WAIT_SECONDS = 10.0


@pytest.fixture
def server() -> Iterator[EventServer]:
    events = EventServer()
    yield events
    events.close()


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _events_until(server: EventServer, count: int) -> list[dict[str, Any]]:
    """Poll until ``count`` events arrived, then once more to catch any extra one."""
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + WAIT_SECONDS
    while len(events) < count:
        assert time.monotonic() < deadline, events
        events += server.poll(0.05)
    return events + server.poll(0.05)


def _closed_by_peer(lines: Any) -> bool:
    """True if the other end closed: end of file, or a reset (it closed with our bytes unread)."""
    try:
        return bool(lines.readline() == b"")
    except ConnectionResetError:
        return True


def _trial(number: int, kind: str, **fields: Any) -> dict[str, Any]:
    return {"event": kind, "trial_id": "0007", "attempt": 1, "n": number, **fields}


def test_events_arrive_in_order_numbered_and_without_seq(server: EventServer) -> None:
    channel = server.open_channel("0007", 1)
    client = EventClient.connect(server.address, server.token, "0007", 1)
    assert client.connected and channel.connected.is_set()
    for n in range(50):
        client.send(_trial(n, "report", value=n / 10))
    assert client.events == [{**_trial(n, "report", value=n / 10), "seq": n + 1} for n in range(50)]
    events = _events_until(server, 50)
    assert events == [_trial(n, "report", value=n / 10) for n in range(50)]
    client.close()


def test_a_wrong_token_is_rejected_and_delivers_nothing(server: EventServer) -> None:
    channel = server.open_channel("0007", 1)
    client = EventClient.connect(server.address, "not-the-token", "0007", 1)
    assert not client.connected and not client.should_stop()
    client.send(_trial(0, "started"))  # kept, not streamed
    assert len(client.events) == 1
    assert server.poll(0.2) == [] and not channel.connected.is_set()


def test_a_replayed_hello_is_rejected(server: EventServer) -> None:
    """A hello recorded from one connection does not open another (the challenge differs)."""
    channel = server.open_channel("0007", 1)
    with socket.create_connection(server.address) as first, first.makefile("rb") as lines:
        challenge = json.loads(lines.readline())["challenge"]
        hello = {"hello": PROTOCOL, "trial_id": "0007", "attempt": 1}
        hello["mac"] = _mac(server.token, challenge, "0007", 1)
        recorded = (json.dumps(hello) + "\n").encode()
    with socket.create_connection(server.address) as second, second.makefile("rb") as lines:
        assert "challenge" in json.loads(lines.readline())
        second.sendall(recorded)
        second.sendall(b'{"event":"started","trial_id":"0007","attempt":1,"seq":1}\n')
        assert _closed_by_peer(lines)  # closed without an answer
    assert server.poll(0.2) == [] and not channel.connected.is_set()


def test_garbage_instead_of_a_hello_is_closed(server: EventServer) -> None:
    with socket.create_connection(server.address) as sock, sock.makefile("rb") as lines:
        lines.readline()
        sock.sendall(b"x" * 70_000 + b"\n")  # over the hello's size limit
        assert _closed_by_peer(lines)
    client = EventClient.connect(server.address, server.token, "0007", 1)  # still serving
    assert not client.connected and client.should_stop()  # no channel open: told to stop


def test_duplicates_and_events_after_the_final_one_are_dropped(server: EventServer) -> None:
    channel = server.open_channel("0007", 1)
    client = EventClient.connect(server.address, server.token, "0007", 1)
    client.send(_trial(0, "started"))
    client.send(_trial(1, "fold"))
    assert _events_until(server, 2) == [_trial(0, "started"), _trial(1, "fold")]
    client.send(_trial(2, "finished", value=0.5))
    client.send(_trial(3, "report"))  # after the final event
    events = _events_until(server, 1)
    assert events == [_trial(2, "finished", value=0.5)]
    assert channel.done
    # The same events by a second route (a Spark job's result): all of them already passed on.
    assert [channel.deliver(event) for event in client.events] == [False] * 4
    assert not channel.lose("ended without a final event")
    assert server.poll(0.1) == []
    _wait_for(lambda: channel.wait_stream_closed(0))  # the server closed the connection


def test_the_second_route_fills_in_what_the_stream_missed(server: EventServer) -> None:
    channel = server.open_channel("0007", 1)
    client = EventClient.connect(server.address, server.token, "0007", 1)
    client.send(_trial(0, "started"))
    assert _events_until(server, 1) == [_trial(0, "started")]
    client.close()  # the stream breaks; the worker goes on
    client.send(_trial(1, "fold"))
    client.send(_trial(2, "finished"))
    assert [channel.deliver(event) for event in client.events] == [False, True, True]
    assert server.poll(0.1) == [_trial(1, "fold"), _trial(2, "finished")]


def test_stop_reaches_a_connected_worker(server: EventServer) -> None:
    channel = server.open_channel("0007", 1)
    client = EventClient.connect(server.address, server.token, "0007", 1)
    assert not client.should_stop()
    channel.stop()
    _wait_for(client.should_stop)
    client.send(_trial(0, "stopped"))
    assert _events_until(server, 1) == [_trial(0, "stopped")]


def test_a_stop_asked_before_the_worker_connects_is_sent_when_it_does(
    server: EventServer,
) -> None:
    channel = server.open_channel("0007", 1)
    channel.stop()
    assert channel.stop_asked_at is not None and not channel.connected.is_set()
    client = EventClient.connect(server.address, server.token, "0007", 1)
    assert client.connected
    _wait_for(client.should_stop)


def test_an_attempt_already_over_is_told_to_stop(server: EventServer) -> None:
    channel = server.open_channel("0007", 1)
    assert channel.lose("killed")
    assert server.poll(0.1) == [
        {"event": "lost", "trial_id": "0007", "attempt": 1, "reason": "killed"}
    ]
    client = EventClient.connect(server.address, server.token, "0007", 1)
    assert not client.connected and client.should_stop()
    other = EventClient.connect(server.address, server.token, "0099", 3)  # never opened
    assert not other.connected and other.should_stop()


def test_a_dropped_connection_makes_up_no_event_until_the_launcher_says_lost(
    server: EventServer,
) -> None:
    channel = server.open_channel("0007", 1)
    client = EventClient.connect(server.address, server.token, "0007", 1)
    client.send(_trial(0, "started"))
    assert _events_until(server, 1) == [_trial(0, "started")]
    client.close()  # the worker died
    assert channel.wait_stream_closed(WAIT_SECONDS)
    assert server.poll(0.1) == [] and not channel.done
    assert channel.lose("worker died")
    assert not channel.lose("twice")
    assert server.poll(0.1) == [
        {"event": "lost", "trial_id": "0007", "attempt": 1, "reason": "worker died"}
    ]


def test_a_worker_may_connect_again_and_resend(server: EventServer) -> None:
    channel = server.open_channel("0007", 1)
    first = EventClient.connect(server.address, server.token, "0007", 1)
    first.send(_trial(0, "started"))
    first.send(_trial(1, "fold"))
    assert len(_events_until(server, 2)) == 2
    first.close()
    again = EventClient.connect(server.address, server.token, "0007", 1)
    assert again.connected
    for event in [_trial(0, "started"), _trial(1, "fold"), _trial(2, "fold")]:
        again.send(event)  # numbered 1, 2, 3 again: only the third is new
    assert _events_until(server, 1) == [_trial(2, "fold")]
    channel.stop()
    _wait_for(again.should_stop)  # the newest connection carries the stop


def test_the_driver_going_away_does_not_break_the_worker(server: EventServer) -> None:
    channel = server.open_channel("0007", 1)
    client = EventClient.connect(server.address, server.token, "0007", 1)
    server.close()
    assert channel.done
    server._acceptor.join(WAIT_SECONDS)
    assert not server._acceptor.is_alive()  # the accept thread ended with the server
    _wait_for(lambda: (client.send(_trial(0, "report")), not client.connected)[1])
    assert len(client.events) >= 1 and all("seq" in e for e in client.events)
    with pytest.raises(RuntimeError, match="after close"):
        server.open_channel("0008", 1)


def test_an_unreachable_server_leaves_the_client_unconnected() -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        address = ("127.0.0.1", closed.getsockname()[1])
    client = EventClient.connect(address, "token", "0007", 1)
    assert not client.connected
    client.send(_trial(0, "started"))
    assert client.events == [{**_trial(0, "started"), "seq": 1}]
    client.close()


def test_one_server_keeps_attempts_apart(server: EventServer) -> None:
    channels = [server.open_channel(f"000{n}", 1) for n in range(3)]
    clients = [EventClient.connect(server.address, server.token, f"000{n}", 1) for n in range(3)]
    for client in clients:
        client.send({"event": "started", "trial_id": client.trial_id, "attempt": 1})
    events = _events_until(server, 3)
    assert sorted(e["trial_id"] for e in events) == ["0000", "0001", "0002"]
    channels[1].stop()
    _wait_for(clients[1].should_stop)
    assert not clients[0].should_stop() and not clients[2].should_stop()
    with pytest.raises(ValueError, match="has a channel already"):
        server.open_channel("0000", 1)
