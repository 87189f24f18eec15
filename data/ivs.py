"""The IVS side of a channel: create it with its stream key, delete it again."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from domain.errors import CapacityExceeded, UpstreamError
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


class IvsGateway:
    """The one door to IVS."""

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
