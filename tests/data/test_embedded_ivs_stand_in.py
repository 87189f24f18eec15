"""The embedded IVS stand-in, through the same gateway and with the same expectations as the Stubber
tests (tests/data/test_ivs_streams.py); every response it sends is checked against botocore's IVS
output shapes, as the Stubber checks its canned ones."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.validate import ParamValidator

from app.embedded import EmbeddedAws
from app.embedded_ivs_stand_in import LocalIvsStreamsStandIn
from data.clients import AwsClients
from data.ivs import IvsGateway, StreamKeyExists
from domain.errors import NotFound
from domain.model import ChannelType, LatencyMode


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
