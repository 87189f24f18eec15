"""The one door to IVS: channels, their stream keys, and the streams IVS is receiving on them.

IVS's errors become the contract's codes here (CONTRACT.md sections 3 and 7): throttling and
IVS-side failures are UPSTREAM_ERROR (retryable), ConflictException is CONFLICT, a resource IVS does
not have is NOT_FOUND, and a quota is CAPACITY_EXCEEDED, except where an operation gives a code a
meaning of its own (a channel that is not broadcasting is "no stream", not an error).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from domain.errors import CapacityExceeded, ChannelsError, Conflict, NotFound, UpstreamError
from domain.model import ChannelType, LatencyMode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IvsChannelSummary:
    arn: str
    name: str
    tags: dict[str, str]


@dataclass(frozen=True)
class IvsChannel:
    arn: str
    playback_url: str
    ingest_endpoint: str
    stream_key: str | None


class _IvsChannelsGateway:
    """Channels of IVS (IvsGateway below adds stream keys and streams)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def create_channel(
        self,
        *,
        name: str,
        channel_type: ChannelType,
        latency_mode: LatencyMode,
        recording_configuration_arn: str | None,
        tags: dict[str, str],
    ) -> IvsChannel:
        request: dict[str, Any] = {
            "name": name,
            "type": channel_type.value,
            "latencyMode": latency_mode.value,
            "tags": tags,
        }
        if recording_configuration_arn:
            request["recordingConfigurationArn"] = recording_configuration_arn
        try:
            response = self._client.create_channel(**request)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ServiceQuotaExceededException":
                raise CapacityExceeded("IVS refused the channel: the account's channel quota is reached.") from exc
            raise UpstreamError(f"IVS CreateChannel failed: {exc.response['Error']['Code']}.") from exc
        except BotoCoreError as exc:
            raise UpstreamError("IVS CreateChannel failed: the service could not be reached.") from exc
        channel = response["channel"]
        return IvsChannel(
            arn=channel["arn"],
            playback_url=channel["playbackUrl"],
            ingest_endpoint=channel["ingestEndpoint"],
            stream_key=(response.get("streamKey") or {}).get("value"),
        )

    def delete_channel(self, arn: str) -> None:
        """Delete a channel; one that is already gone counts as deleted."""
        try:
            self._client.delete_channel(arn=arn)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return
            raise UpstreamError(f"IVS DeleteChannel failed: {exc.response['Error']['Code']}.") from exc
        except BotoCoreError as exc:
            raise UpstreamError("IVS DeleteChannel failed: the service could not be reached.") from exc

    def list_channels(self) -> list[IvsChannelSummary]:
        """Every channel of the account and region (for `reconcile`; pages through the whole list)."""
        found: list[IvsChannelSummary] = []
        token: str | None = None
        try:
            while True:
                response = self._client.list_channels(**({"nextToken": token} if token else {}), maxResults=100)
                found.extend(
                    IvsChannelSummary(arn=c["arn"], name=c.get("name", ""), tags=dict(c.get("tags") or {}))
                    for c in response.get("channels", [])
                )
                token = response.get("nextToken")
                if not token:
                    return found
        except (ClientError, BotoCoreError) as exc:
            raise UpstreamError("IVS ListChannels failed.") from exc


# IVS's page sizes: ListStreams takes at most 100, ListStreamKeys and ListStreamSessions at most 50.
LIST_STREAMS_PAGE = 100
LIST_STREAM_KEYS_PAGE = 50


class StreamKeyExists(Conflict):
    """CreateStreamKey refused: IVS allows one stream key per channel and the channel has one."""


@dataclass(frozen=True)
class IvsStreamKey:
    arn: str
    channel_arn: str
    # Only CreateStreamKey and GetStreamKey return the key's value; ListStreamKeys does not.
    value: str | None = None

    def __repr__(self) -> str:  # never print the secret
        return f"IvsStreamKey(arn={self.arn!r}, channel_arn={self.channel_arn!r})"


@dataclass(frozen=True)
class IvsStream:
    """A stream IVS is receiving now (GetStream / ListStreams)."""

    channel_arn: str
    stream_id: str
    started_at: datetime
    health: str  # HEALTHY, STARVING or UNKNOWN
    viewer_count: int
    state: str = "LIVE"

    @property
    def is_live(self) -> bool:
        """Only a stream in state LIVE is broadcasting (ListStreams may list others)."""
        return self.state == "LIVE"


@dataclass(frozen=True)
class IvsStreamSession:
    stream_id: str
    started_at: datetime | None
    ended_at: datetime | None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def ivs_error(operation: str, exc: ClientError | BotoCoreError, resource: str = "") -> ChannelsError:
    """An IVS failure as the contract's error."""
    if isinstance(exc, BotoCoreError):
        return UpstreamError(f"IVS {operation} failed: the service could not be reached.")
    code = _code(exc)
    if code == "ResourceNotFoundException":
        return NotFound(f"IVS has no {resource or 'such resource'} ({operation}).")
    if code == "ConflictException":
        return Conflict(f"IVS {operation} refused: the resource is changing concurrently; retry.")
    if code == "ServiceQuotaExceededException":
        return CapacityExceeded(f"IVS {operation} refused: a service quota is reached.")
    # ThrottlingException, StreamUnavailable, InternalServerException, AccessDeniedException, ...
    return UpstreamError(f"IVS {operation} failed: {code}.")


def _time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def _stream(data: dict[str, Any]) -> IvsStream:
    return IvsStream(
        channel_arn=str(data["channelArn"]),
        stream_id=str(data["streamId"]),
        started_at=_time(data.get("startTime")) or datetime.now(UTC),
        health=str(data.get("health") or "UNKNOWN"),
        viewer_count=int(data.get("viewerCount") or 0),
        state=str(data.get("state") or "LIVE"),
    )


class IvsStreamsGateway:
    """Stream keys and streams of IVS channels (mixed into IvsGateway: one door to IVS)."""

    _client: Any

    def create_stream_key(self, channel_arn: str) -> IvsStreamKey:
        """A new stream key; StreamKeyExists when the channel has one (IVS allows one per channel)."""
        try:
            response = self._client.create_stream_key(channelArn=channel_arn)
        except ClientError as exc:
            if _code(exc) == "ServiceQuotaExceededException":
                raise StreamKeyExists(f"IVS channel {channel_arn} has a stream key already.") from exc
            raise ivs_error("CreateStreamKey", exc, f"channel {channel_arn}") from exc
        except BotoCoreError as exc:
            raise ivs_error("CreateStreamKey", exc) from exc
        key = response["streamKey"]
        return IvsStreamKey(arn=key["arn"], channel_arn=key.get("channelArn", channel_arn), value=key.get("value"))

    def get_stream_key(self, arn: str) -> IvsStreamKey | None:
        """The key with its value; None when IVS no longer has it."""
        try:
            key = self._client.get_stream_key(arn=arn)["streamKey"]
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return None
            raise ivs_error("GetStreamKey", exc) from exc
        except BotoCoreError as exc:
            raise ivs_error("GetStreamKey", exc) from exc
        return IvsStreamKey(arn=key["arn"], channel_arn=key["channelArn"], value=key.get("value"))

    def delete_stream_key(self, arn: str) -> None:
        """Delete a stream key (it stops working at once); one already gone counts as deleted."""
        try:
            self._client.delete_stream_key(arn=arn)
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return
            raise ivs_error("DeleteStreamKey", exc) from exc
        except BotoCoreError as exc:
            raise ivs_error("DeleteStreamKey", exc) from exc

    def list_stream_keys(self, channel_arn: str) -> list[IvsStreamKey]:
        """Every stream key of a channel (without values), through all pages."""
        found: list[IvsStreamKey] = []
        token: str | None = None
        try:
            while True:
                extra = {"nextToken": token} if token else {}
                response = self._client.list_stream_keys(
                    channelArn=channel_arn, maxResults=LIST_STREAM_KEYS_PAGE, **extra
                )
                found.extend(
                    IvsStreamKey(arn=k["arn"], channel_arn=k.get("channelArn", channel_arn))
                    for k in response.get("streamKeys", [])
                )
                token = response.get("nextToken")
                if not token:
                    return found
        except (ClientError, BotoCoreError) as exc:
            raise ivs_error("ListStreamKeys", exc, f"channel {channel_arn}") from exc

    def get_stream(self, channel_arn: str) -> IvsStream | None:
        """The stream IVS is receiving on the channel; None when it is not broadcasting."""
        try:
            response = self._client.get_stream(channelArn=channel_arn)
        except ClientError as exc:
            if _code(exc) == "ChannelNotBroadcasting":
                return None
            raise ivs_error("GetStream", exc, f"channel {channel_arn}") from exc
        except BotoCoreError as exc:
            raise ivs_error("GetStream", exc) from exc
        return _stream(response["stream"])

    def list_streams(self) -> list[IvsStream]:
        """Every live stream of the account and region, through all pages."""
        found: list[IvsStream] = []
        token: str | None = None
        try:
            while True:
                extra = {"nextToken": token} if token else {}
                response = self._client.list_streams(maxResults=LIST_STREAMS_PAGE, **extra)
                found.extend(_stream(stream) for stream in response.get("streams", []))
                token = response.get("nextToken")
                if not token:
                    return found
        except (ClientError, BotoCoreError) as exc:
            raise ivs_error("ListStreams", exc) from exc

    def stop_stream(self, channel_arn: str) -> bool:
        """Disconnect the channel's encoder. False when the channel was not broadcasting."""
        try:
            self._client.stop_stream(channelArn=channel_arn)
        except ClientError as exc:
            if _code(exc) == "ChannelNotBroadcasting":
                return False
            raise ivs_error("StopStream", exc, f"channel {channel_arn}") from exc
        except BotoCoreError as exc:
            raise ivs_error("StopStream", exc) from exc
        return True

    def list_stream_sessions(self, channel_arn: str, max_results: int = LIST_STREAM_KEYS_PAGE) -> list[IvsStreamSession]:
        """The channel's most recent stream sessions as IVS keeps them (one page, newest first)."""
        try:
            response = self._client.list_stream_sessions(channelArn=channel_arn, maxResults=max_results)
        except (ClientError, BotoCoreError) as exc:
            raise ivs_error("ListStreamSessions", exc, f"channel {channel_arn}") from exc
        return [
            IvsStreamSession(
                stream_id=str(s["streamId"]), started_at=_time(s.get("startTime")), ended_at=_time(s.get("endTime"))
            )
            for s in response.get("streamSessions", [])
        ]


class IvsGateway(_IvsChannelsGateway, IvsStreamsGateway):
    """The one door to IVS."""
