"""simulate-broadcast's encoder, in-process against the embedded IVS stand-in (CONTRACT.md sections 7
and 11, issue 24): it follows what IVS does with its streams and sends each change as IVS's events.
Polls are counted through an injected `sleep`, so nothing waits in real time. The process itself
(arguments, signals) is tested in tests/test_live_commands.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from app.bootstrap import EMBEDDED_RECORDING_CONFIGURATION_STAND_IN, Service
from embedded.emulator import EmbeddedAws
from embedded.ivs_stand_in import LocalIvsStreamsStandIn
from commands.simulate_broadcast import EMBEDDED_RECORDINGS_BUCKET, StandInControl, play_encoder
from domain.model import ChannelState
from services.ivs_events import apply_ivs_event
from tests.api.test_errors import create
from tests.data.test_embedded_ivs_stand_in import to_milliseconds
from tests.support import GraphQLClient

RECORDING = [{"recording_configuration_arn": EMBEDDED_RECORDING_CONFIGURATION_STAND_IN}]


@dataclass
class Broadcast:
    """One run of the encoder: what it sent, reported and returned, and the channel's state at each poll."""

    service: Service
    stand_in: LocalIvsStreamsStandIn
    channel: dict[str, Any]
    at_poll: dict[int, Callable[[], None]] = field(default_factory=dict)  # poll number (from 1) -> what happens
    events: list[dict[str, Any]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)
    states: list[ChannelState] = field(default_factory=list)  # the table's state at each poll, before it

    def deliver(self, event: dict[str, Any]) -> str:
        self.events.append(event)
        return apply_ivs_event(self.service.backend, event)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.states.append(self.state())
        self.at_poll.get(len(self.sleeps), lambda: None)()

    def state(self) -> ChannelState:
        stored = self.service.backend.channels.get_channel(self.channel["id"])
        assert stored is not None
        return stored.state

    def total_broadcasts(self) -> int:
        stored = self.service.backend.channels.get_channel(self.channel["id"])
        assert stored is not None
        return stored.stats.total_broadcasts

    def run(self, seconds: float = 3, *, reconnect: bool = False, channel_id: str | None = None) -> int:
        control = StandInControl(self.stand_in_endpoint)
        return play_encoder(self.service.backend, control, channel_id or self.channel["id"], seconds, 6,
                            reconnect=reconnect, report=self.lines.append, sleep=self.sleep, deliver=self.deliver)

    @property
    def stand_in_endpoint(self) -> str:
        return str(self.service.clients.ivs.meta.endpoint_url)

    def sent(self) -> list[tuple[str, str]]:
        """Each event sent: its event name or recording status, and its stream id."""
        return [(e["detail"].get("event_name") or e["detail"]["recording_status"], e["detail"]["stream_id"])
                for e in self.events]

    def streams(self) -> list[str]:
        return [record.stream_id for record in self.stand_in.stream_history(self.channel["arn"])]

    def stop_stream(self) -> None:
        """An admin's stop that keeps the key: StopStream only."""
        self.service.backend.ivs.stop_stream(self.channel["arn"])

    def drop_connection(self) -> None:
        """The network drops the encoder's connection."""
        self.stand_in.drop_connection(self.channel["arn"])

    def revoke_key_then_stop_stream(self) -> None:
        """A stop that holds: the key is deleted and replaced before StopStream."""
        ivs = self.service.backend.ivs
        [key] = ivs.list_stream_keys(self.channel["arn"])
        ivs.delete_stream_key(key.arn)
        ivs.create_stream_key(self.channel["arn"])
        ivs.stop_stream(self.channel["arn"])


@pytest.fixture
async def broadcast(gql: GraphQLClient, admin: str, service: Service, aws: EmbeddedAws) -> Broadcast:
    assert aws.ivs_stand_in is not None
    return Broadcast(service, aws.ivs_stand_in, await create(gql, admin, name="Sim"))


def test_a_broadcast_sends_stream_start_and_at_the_end_stream_end_of_its_one_stream(broadcast: Broadcast) -> None:
    status = broadcast.run(seconds=2.5)

    [stream_id] = broadcast.streams()
    assert status == 0
    assert broadcast.sent() == [("Stream Start", stream_id), ("Stream End", stream_id)]
    assert broadcast.sleeps == [1.0, 1.0, 0.5]
    assert broadcast.states == [ChannelState.LIVE] * 3 and broadcast.state() == ChannelState.IDLE
    assert [r.ended_by for r in broadcast.stand_in.stream_history(broadcast.channel["arn"])] == ["encoder"]


def test_a_broadcast_reports_its_stream_and_its_end(broadcast: Broadcast) -> None:
    broadcast.run(seconds=1)

    [stream_id] = broadcast.streams()
    start, end = broadcast.lines
    assert start.startswith(f"streaming on 'Sim' ({broadcast.channel['id']}) as {stream_id}, 6 viewers: "), start
    assert end.startswith(f"stream {stream_id} ended (the encoder stopped): "), end


def test_an_encoder_that_reconnects_after_a_stop_is_a_new_stream_ended_and_started_in_order(
    broadcast: Broadcast,
) -> None:
    broadcast.at_poll[1] = broadcast.stop_stream

    status = broadcast.run(seconds=3, reconnect=True)

    first, second = broadcast.streams()
    assert status == 0
    assert broadcast.sent() == [("Stream Start", first), ("Stream End", first),
                                ("Stream Start", second), ("Stream End", second)]
    assert broadcast.states == [ChannelState.LIVE] * 3 and broadcast.state() == ChannelState.IDLE
    assert broadcast.total_broadcasts() == 2


def test_a_reconnect_is_reported_as_one(broadcast: Broadcast) -> None:
    broadcast.at_poll[1] = broadcast.stop_stream

    broadcast.run(seconds=2, reconnect=True)

    first, second = broadcast.streams()
    assert broadcast.lines[1].startswith(f"stream {first} ended (stopped on IVS): "), broadcast.lines
    assert broadcast.lines[2].startswith(
        f"the encoder reconnected with its key: streaming on 'Sim' ({broadcast.channel['id']}) as {second}, 6 viewers: "
    ), broadcast.lines


def test_a_dropped_connection_is_reported_and_the_reconnected_stream_started(broadcast: Broadcast) -> None:
    broadcast.at_poll[1] = broadcast.drop_connection

    broadcast.run(seconds=2, reconnect=True)

    first, second = broadcast.streams()
    assert broadcast.sent() == [("Stream Start", first), ("Stream End", first),
                                ("Stream Start", second), ("Stream End", second)]
    assert broadcast.lines[1].startswith(f"stream {first} ended (the connection dropped): "), broadcast.lines


def test_a_stop_that_revoked_the_key_first_ends_the_broadcast_as_the_encoder_is_refused(broadcast: Broadcast) -> None:
    broadcast.at_poll[1] = broadcast.revoke_key_then_stop_stream

    status = broadcast.run(seconds=60, reconnect=True)

    [stream_id] = broadcast.streams()
    assert status == 0
    assert broadcast.sent() == [("Stream Start", stream_id), ("Stream End", stream_id)]
    assert broadcast.lines[-1] == "the encoder could not reconnect: its stream key was revoked"
    assert len(broadcast.sleeps) == 1 and broadcast.state() == ChannelState.IDLE


def test_without_reconnect_a_stop_ends_the_broadcast(broadcast: Broadcast) -> None:
    broadcast.at_poll[1] = broadcast.stop_stream

    status = broadcast.run(seconds=60)

    [stream_id] = broadcast.streams()
    assert status == 0
    assert broadcast.sent() == [("Stream Start", stream_id), ("Stream End", stream_id)]
    assert broadcast.lines[-1] == "the encoder does not reconnect: the broadcast is over (--reconnect plays one that does)"
    assert len(broadcast.sleeps) == 1


def test_an_interrupt_ends_the_broadcast(broadcast: Broadcast) -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    broadcast.at_poll[1] = interrupt

    status = broadcast.run(seconds=60, reconnect=True)

    [stream_id] = broadcast.streams()
    assert status == 0
    assert broadcast.sent() == [("Stream Start", stream_id), ("Stream End", stream_id)]
    assert "interrupted: ending the broadcast" in broadcast.lines and broadcast.state() == ChannelState.IDLE


def test_stream_events_carry_the_stand_ins_stream_times(broadcast: Broadcast) -> None:
    broadcast.run(seconds=1)

    [record] = broadcast.stand_in.stream_history(broadcast.channel["arn"])
    assert record.ended_at is not None
    assert [e["time"] for e in broadcast.events] == [record.started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                                     record.ended_at.strftime("%Y-%m-%dT%H:%M:%SZ")]


@pytest.mark.parametrize("settings", RECORDING, indirect=True)
def test_a_recorded_channel_gets_recording_start_and_end_for_each_stream(broadcast: Broadcast) -> None:
    broadcast.at_poll[1] = broadcast.stop_stream

    broadcast.run(seconds=2, reconnect=True)

    first, second = broadcast.streams()
    assert broadcast.sent() == [
        ("Stream Start", first), ("Recording Start", first), ("Stream End", first), ("Recording End", first),
        ("Stream Start", second), ("Recording Start", second), ("Stream End", second), ("Recording End", second),
    ]


@pytest.mark.parametrize("settings", RECORDING, indirect=True)
def test_a_recording_names_its_stream_its_session_and_where_ivs_wrote_it(broadcast: Broadcast) -> None:
    broadcast.run(seconds=1)

    [record] = broadcast.stand_in.stream_history(broadcast.channel["arn"])
    assert record.ended_at is not None
    start, end = (e["detail"] for e in broadcast.events if e["detail-type"] == "IVS Recording State Change")
    session = start["recording_session_id"]
    assert end["recording_session_id"] == session and len(session) == 12
    assert start["recording_session_stream_ids"] == end["recording_session_stream_ids"] == [record.stream_id]
    assert start["recording_s3_bucket_name"] == EMBEDDED_RECORDINGS_BUCKET
    assert start["recording_s3_key_prefix"] == end["recording_s3_key_prefix"]
    assert start["recording_s3_key_prefix"].endswith(f"/{broadcast.channel['arn'].rsplit('/', 1)[-1]}/"
                                                     f"{record.started_at.year}/{record.started_at.month}/"
                                                     f"{record.started_at.day}/{record.started_at.hour}/"
                                                     f"{record.started_at.minute}/{session}")
    # The stand-in tells another process its times to the millisecond, as IVS does.
    duration = int((to_milliseconds(record.ended_at) - to_milliseconds(record.started_at)).total_seconds() * 1000)
    assert (start["recording_duration_ms"], end["recording_duration_ms"]) == (0, duration)


def test_an_unrecorded_channel_gets_no_recording_events(broadcast: Broadcast) -> None:
    broadcast.run(seconds=1)

    assert [e["detail-type"] for e in broadcast.events] == ["IVS Stream State Change"] * 2


def test_a_key_ivs_no_longer_has_is_refused_at_connect(broadcast: Broadcast) -> None:
    ivs = broadcast.service.backend.ivs
    [key] = ivs.list_stream_keys(broadcast.channel["arn"])
    ivs.delete_stream_key(key.arn)

    status = broadcast.run()

    assert status == 2
    assert broadcast.lines == ["IVS refused the encoder: unknown stream key"]
    assert broadcast.events == [] and broadcast.streams() == []


def test_a_channel_that_does_not_exist_is_reported(broadcast: Broadcast) -> None:
    status = broadcast.run(channel_id="c-missing")

    assert status == 2
    assert broadcast.lines == ["no channel 'c-missing'"]
