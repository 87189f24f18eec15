"""The embedded IVS stand-in, through the same gateway and with the same expectations as the Stubber
tests (tests/data/test_ivs_streams.py); every response it sends is checked against botocore's IVS
output shapes, as the Stubber checks its canned ones."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator

from embedded.emulator import EmbeddedAws
from embedded.ivs_stand_in import LocalIvsStreamsStandIn
from commands.simulate_broadcast import StandInControl
from data.clients import AwsClients
from data.ivs import IvsGateway, StreamKeyExists
from domain.clock import format_timestamp
from domain.errors import NotFound
from domain.model import ChannelType, LatencyMode
from tests.concurrency import race


class ResponsesMatchTheModel:
    """Checks each parsed IVS response against its operation's output shape (botocore's model)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.checked: list[str] = []
        client.meta.events.register("after-call.ivs", self)

    def __call__(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if model.output_shape is None or "Error" in parsed:
            return
        body = {name: value for name, value in parsed.items() if name != "ResponseMetadata"}
        report = ParamValidator().validate(body, model.output_shape)
        assert not report.has_errors(), report.generate_report()
        self.checked.append(model.name)


@pytest.fixture
def stand_in(aws: EmbeddedAws) -> LocalIvsStreamsStandIn:
    assert aws.ivs_stand_in is not None
    return aws.ivs_stand_in


@pytest.fixture
def validated(clients: AwsClients) -> ResponsesMatchTheModel:
    return ResponsesMatchTheModel(clients.ivs)


@pytest.fixture
def gateway(clients: AwsClients, validated: ResponsesMatchTheModel) -> IvsGateway:
    return IvsGateway(clients.ivs)


def new_channel(gateway: IvsGateway, name: str = "persistent-test") -> tuple[str, str]:
    created = gateway.create_channel(name=name, channel_type=ChannelType.STANDARD, latency_mode=LatencyMode.LOW,
                                     recording_configuration_arn=None, tags={})
    assert created.stream_key is not None
    return created.arn, created.stream_key


def test_the_key_of_create_channel_is_the_channels_one_stream_key(gateway: IvsGateway) -> None:
    arn, key = new_channel(gateway)

    keys = gateway.list_stream_keys(arn)

    assert len(keys) == 1
    found = gateway.get_stream_key(keys[0].arn)
    assert found is not None and found.value == key


def test_a_second_stream_key_is_refused_as_ivs_refuses_it(gateway: IvsGateway) -> None:
    arn, _ = new_channel(gateway)

    with pytest.raises(StreamKeyExists):
        gateway.create_stream_key(arn)


def test_delete_then_create_replaces_the_key_and_the_old_one_is_refused_by_ivs(
    gateway: IvsGateway, stand_in: LocalIvsStreamsStandIn
) -> None:
    arn, old = new_channel(gateway)
    [key] = gateway.list_stream_keys(arn)

    gateway.delete_stream_key(key.arn)
    gateway.delete_stream_key(key.arn)  # already gone counts as deleted
    new = gateway.create_stream_key(arn)

    assert new.value is not None and new.value != old
    assert [k.arn for k in gateway.list_stream_keys(arn)] == [new.arn]
    with pytest.raises(PermissionError):
        stand_in.connect_encoder(old)
    assert stand_in.connect_encoder(new.value) == arn


def test_a_connected_encoder_is_a_live_stream_until_stopped(
    gateway: IvsGateway, stand_in: LocalIvsStreamsStandIn, validated: ResponsesMatchTheModel
) -> None:
    arn, key = new_channel(gateway)
    assert gateway.get_stream(arn) is None

    stand_in.connect_encoder(key, viewers=12)
    stream = gateway.get_stream(arn)
    assert stream is not None and (stream.channel_arn, stream.health, stream.viewer_count) == (arn, "HEALTHY", 12)
    assert stream.stream_id.startswith("st-") and len(stream.stream_id) == 26
    assert [s.stream_id for s in gateway.list_streams()] == [stream.stream_id]

    assert gateway.stop_stream(arn) is True
    assert gateway.stop_stream(arn) is False
    assert gateway.get_stream(arn) is None
    [session] = gateway.list_stream_sessions(arn)
    assert session.stream_id == stream.stream_id and session.ended_at is not None
    assert {"GetStream", "ListStreams", "ListStreamSessions", "CreateChannel"} <= set(validated.checked)


def test_list_streams_pages_through_every_stream(gateway: IvsGateway, stand_in: LocalIvsStreamsStandIn,
                                                  clients: AwsClients) -> None:
    arns = []
    for n in range(3):
        arn, key = new_channel(gateway, f"persistent-{n}")
        stand_in.connect_encoder(key)
        arns.append(arn)

    first = clients.ivs.list_streams(maxResults=2)

    assert len(first["streams"]) == 2 and first["nextToken"]
    assert sorted(s.channel_arn for s in gateway.list_streams()) == sorted(arns)


def test_unknown_channels_are_not_found(gateway: IvsGateway) -> None:
    missing = "arn:aws:ivs:us-east-1:123456789012:channel/missing1234"

    with pytest.raises(NotFound):
        gateway.create_stream_key(missing)
    with pytest.raises(NotFound):
        gateway.get_stream(missing)
    with pytest.raises(NotFound):
        gateway.list_stream_keys(missing)


def test_a_deleted_channel_takes_its_keys_and_stream_with_it(gateway: IvsGateway, stand_in: LocalIvsStreamsStandIn) -> None:
    arn, key = new_channel(gateway)
    stand_in.connect_encoder(key)

    gateway.delete_channel(arn)

    assert gateway.list_streams() == []
    with pytest.raises(PermissionError):
        stand_in.connect_encoder(key)


def test_other_ivs_operations_still_reach_moto(gateway: IvsGateway) -> None:
    arn, _ = new_channel(gateway)

    assert [c.arn for c in gateway.list_channels()] == [arn]


# Encoders as IVS sees them: a stream id per connection, StopStream, reconnects (issue 24)

STREAM_ID = re.compile(r"st-[A-Za-z0-9]{23}")


def to_milliseconds(at: datetime) -> datetime:
    """A time as IVS's ISO 8601 answers carry it (to the millisecond)."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def test_each_connection_of_an_encoder_is_a_new_stream_with_its_own_id(
    gateway: IvsGateway, stand_in: LocalIvsStreamsStandIn
) -> None:
    arn, key = new_channel(gateway)

    stand_in.connect_encoder(key)
    first = stand_in.disconnect_encoder(arn)
    stand_in.connect_encoder(key)

    history = stand_in.stream_history(arn)
    assert [r.stream_id for r in history][0] == first
    assert len({r.stream_id for r in history}) == 2
    assert all(STREAM_ID.fullmatch(r.stream_id) for r in history)
    assert [(r.ended_by, r.reconnected, r.ended_at is None) for r in history] == [
        ("encoder", False, False), (None, False, True)]


def test_stop_stream_ends_the_stream_of_an_encoder_that_does_not_reconnect(
    gateway: IvsGateway, stand_in: LocalIvsStreamsStandIn
) -> None:
    arn, key = new_channel(gateway)
    stand_in.connect_encoder(key)

    assert gateway.stop_stream(arn) is True

    assert gateway.get_stream(arn) is None
    assert stand_in.encoder_of(arn) is None
    assert [r.ended_by for r in stand_in.stream_history(arn)] == ["StopStream"]


def test_an_encoder_that_reconnects_starts_a_new_stream_after_stop_stream(
    gateway: IvsGateway, stand_in: LocalIvsStreamsStandIn
) -> None:
    arn, key = new_channel(gateway)
    stand_in.connect_encoder(key, viewers=4, reconnect=True)
    stopped = gateway.get_stream(arn)
    assert stopped is not None

    assert gateway.stop_stream(arn) is True

    again = gateway.get_stream(arn)
    assert again is not None and again.stream_id != stopped.stream_id and again.viewer_count == 4
    old, new = stand_in.stream_history(arn)
    assert (old.stream_id, old.ended_by, old.reconnected) == (stopped.stream_id, "StopStream", False)
    assert (new.stream_id, new.ended_at, new.reconnected) == (again.stream_id, None, True)
    assert [s.stream_id for s in gateway.list_stream_sessions(arn)] == [again.stream_id, stopped.stream_id]


def test_a_reconnecting_encoder_is_refused_when_its_key_was_revoked_before_the_stop_and_gives_up(
    gateway: IvsGateway, stand_in: LocalIvsStreamsStandIn
) -> None:
    arn, key = new_channel(gateway)
    stand_in.connect_encoder(key, viewers=4, reconnect=True)
    [old_key] = gateway.list_stream_keys(arn)
    gateway.delete_stream_key(old_key.arn)
    gateway.create_stream_key(arn)

    assert gateway.stop_stream(arn) is True

    assert gateway.get_stream(arn) is None
    assert [r.ended_by for r in stand_in.stream_history(arn)] == ["StopStream"]
    encoder = stand_in.encoder_of(arn)
    assert encoder is not None and (encoder.stream_key, encoder.reconnects, encoder.refused) == (key, True, True)


def test_deleting_the_stream_key_does_not_end_a_running_stream(
    gateway: IvsGateway, stand_in: LocalIvsStreamsStandIn
) -> None:
    arn, key = new_channel(gateway)
    stand_in.connect_encoder(key)
    [stream_key] = gateway.list_stream_keys(arn)

    gateway.delete_stream_key(stream_key.arn)

    live = gateway.get_stream(arn)
    assert live is not None and [r.ended_at for r in stand_in.stream_history(arn)] == [None]


def test_an_encoder_that_stops_by_itself_does_not_reconnect(
    gateway: IvsGateway, stand_in: LocalIvsStreamsStandIn
) -> None:
    arn, key = new_channel(gateway)
    stand_in.connect_encoder(key, reconnect=True)

    stand_in.disconnect_encoder(arn)

    assert gateway.get_stream(arn) is None and stand_in.encoder_of(arn) is None
    assert [r.ended_by for r in stand_in.stream_history(arn)] == ["encoder"]


def test_a_dropped_connection_ends_the_stream_and_an_encoder_that_reconnects_starts_a_new_one(
    gateway: IvsGateway, stand_in: LocalIvsStreamsStandIn
) -> None:
    arn, key = new_channel(gateway)
    stand_in.connect_encoder(key, reconnect=True)

    dropped = stand_in.drop_connection(arn)

    again = gateway.get_stream(arn)
    assert again is not None and dropped is not None and again.stream_id != dropped
    assert [(r.stream_id, r.ended_by, r.reconnected) for r in stand_in.stream_history(arn)] == [
        (dropped, "dropped", False), (again.stream_id, None, True)]


def test_a_dropped_connection_of_an_encoder_that_does_not_reconnect_ends_the_broadcast(
    gateway: IvsGateway, stand_in: LocalIvsStreamsStandIn
) -> None:
    arn, key = new_channel(gateway)
    stand_in.connect_encoder(key)

    stand_in.drop_connection(arn)

    assert gateway.get_stream(arn) is None and stand_in.encoder_of(arn) is None


def test_streams_are_stamped_with_the_clock_a_test_sets(gateway: IvsGateway, stand_in: LocalIvsStreamsStandIn) -> None:
    arn, key = new_channel(gateway)
    times = iter([datetime(2026, 12, 1, 10, 0, tzinfo=UTC), datetime(2026, 12, 1, 11, 30, tzinfo=UTC)])
    stand_in.set_clock(lambda: next(times))

    stand_in.connect_encoder(key)
    stand_in.disconnect_encoder(arn)

    [record] = stand_in.stream_history(arn)
    assert (record.started_at, record.ended_at) == (datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
                                                    datetime(2026, 12, 1, 11, 30, tzinfo=UTC))


def test_a_reset_gives_the_stand_in_its_own_clock_again(gateway: IvsGateway, stand_in: LocalIvsStreamsStandIn) -> None:
    stand_in.set_clock(lambda: datetime(2000, 1, 1, tzinfo=UTC))
    stand_in.reset()
    arn, key = new_channel(gateway)
    before = datetime.now(UTC)

    stand_in.connect_encoder(key)

    [record] = stand_in.stream_history(arn)
    assert record.started_at >= before


# IVS's shapes, through a real boto3 client (botocore validates each request and parses each answer)


def test_streams_are_listed_and_got_in_state_live(
    clients: AwsClients, gateway: IvsGateway, stand_in: LocalIvsStreamsStandIn, validated: ResponsesMatchTheModel
) -> None:
    arn, key = new_channel(gateway)
    stand_in.connect_encoder(key)

    [listed] = clients.ivs.list_streams()["streams"]
    got = clients.ivs.get_stream(channelArn=arn)["stream"]

    assert (listed["channelArn"], listed["state"]) == (arn, "LIVE")
    assert (got["streamId"], got["state"]) == (listed["streamId"], "LIVE")
    assert {"ListStreams", "GetStream"} <= set(validated.checked)


def test_list_streams_keeps_only_the_health_asked_for(
    clients: AwsClients, gateway: IvsGateway, stand_in: LocalIvsStreamsStandIn
) -> None:
    healthy_arn, healthy_key = new_channel(gateway, "persistent-healthy")
    starving_arn, starving_key = new_channel(gateway, "persistent-starving")
    stand_in.connect_encoder(healthy_key)
    stand_in.connect_encoder(starving_key)
    stand_in.set_stream_health(starving_arn, "STARVING")

    healthy = clients.ivs.list_streams(filterBy={"health": "HEALTHY"})["streams"]
    starving = clients.ivs.list_streams(filterBy={"health": "STARVING"})["streams"]

    assert [(s["channelArn"], s["health"]) for s in healthy] == [(healthy_arn, "HEALTHY")]
    assert [(s["channelArn"], s["health"]) for s in starving] == [(starving_arn, "STARVING")]


def test_stop_streams_racing_a_reconnecting_encoder_leave_one_live_stream_and_every_other_ended(
    gateway: IvsGateway, stand_in: LocalIvsStreamsStandIn
) -> None:
    arn, key = new_channel(gateway)
    stand_in.connect_encoder(key, reconnect=True)

    race(*[lambda: gateway.stop_stream(arn)] * 8)

    history = stand_in.stream_history(arn)
    live = gateway.get_stream(arn)
    assert live is not None and live.stream_id == history[-1].stream_id
    assert len(history) == 9 and len({r.stream_id for r in history}) == 9
    assert [r.ended_by for r in history] == ["StopStream"] * 8 + [None]
    assert [r.reconnected for r in history] == [False] + [True] * 8


def test_the_control_api_tells_another_process_the_streams_and_the_encoder(
    aws: EmbeddedAws, gateway: IvsGateway, stand_in: LocalIvsStreamsStandIn
) -> None:
    arn, key = new_channel(gateway)
    stand_in.connect_encoder(key, viewers=3, reconnect=True)
    gateway.stop_stream(arn)
    old, new = stand_in.stream_history(arn)
    assert old.ended_at is not None

    answer = StandInControl(aws.endpoint_url).streams(arn)

    assert answer == {
        "streams": [
            {"streamId": old.stream_id, "startTime": format_timestamp(old.started_at),
             "endTime": format_timestamp(old.ended_at), "reconnected": False,
             "endedBy": "StopStream"},
            {"streamId": new.stream_id, "startTime": format_timestamp(new.started_at), "endTime": None,
             "reconnected": True, "endedBy": None},
        ],
        "encoder": {"viewers": 3, "reconnects": True, "refused": False},
    }


def test_get_stream_session_gives_a_streams_start_end_and_channel(
    clients: AwsClients, gateway: IvsGateway, stand_in: LocalIvsStreamsStandIn, validated: ResponsesMatchTheModel
) -> None:
    arn, key = new_channel(gateway)
    stand_in.connect_encoder(key)
    stream_id = stand_in.disconnect_encoder(arn)
    assert stream_id is not None
    [record] = stand_in.stream_history(arn)

    session = clients.ivs.get_stream_session(channelArn=arn, streamId=stream_id)["streamSession"]

    assert session["streamId"] == stream_id
    assert record.ended_at is not None
    assert (session["startTime"], session["endTime"]) == (to_milliseconds(record.started_at),
                                                          to_milliseconds(record.ended_at))
    assert (session["channel"]["arn"], session["channel"]["name"]) == (arn, "persistent-test")
    assert [e["name"] for e in session["truncatedEvents"]] == ["Stream Start", "Stream End"]
    assert "GetStreamSession" in validated.checked


def test_get_stream_session_of_a_live_stream_has_no_end_time(
    clients: AwsClients, gateway: IvsGateway, stand_in: LocalIvsStreamsStandIn
) -> None:
    arn, key = new_channel(gateway)
    stand_in.connect_encoder(key)
    live = stand_in.stream_of(arn)
    assert live is not None

    session = clients.ivs.get_stream_session(channelArn=arn, streamId=live["streamId"])["streamSession"]

    assert session["streamId"] == live["streamId"] and "endTime" not in session


def test_get_stream_session_without_a_stream_id_is_the_newest(
    clients: AwsClients, gateway: IvsGateway, stand_in: LocalIvsStreamsStandIn
) -> None:
    arn, key = new_channel(gateway)
    stand_in.connect_encoder(key)
    stand_in.disconnect_encoder(arn)
    stand_in.connect_encoder(key)
    newest = stand_in.stream_history(arn)[-1].stream_id

    session = clients.ivs.get_stream_session(channelArn=arn)["streamSession"]

    assert session["streamId"] == newest


def test_get_stream_session_of_a_stream_the_channel_never_had_is_not_found(
    clients: AwsClients, gateway: IvsGateway
) -> None:
    arn, _ = new_channel(gateway)
    missing = "st-" + "A" * 23

    with pytest.raises(ClientError) as raised:
        clients.ivs.get_stream_session(channelArn=arn, streamId=missing)

    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert raised.value.response["Error"]["Message"] == f"stream session {missing} of channel {arn} not found"
