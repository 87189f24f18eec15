"""`shelcaster-channels simulate-broadcast` against a running embedded `serve` (CONTRACT.md section 7),
over the service app.bootstrap.bootstrap_attached builds.

simulate-broadcast plays an encoder: it connects to the embedded IVS stand-in with the channel's
stream key (so a rotated or OFFLINE channel's old key is refused, as IVS refuses it), then hands
IVS's `Stream Start`, and at the end `Stream End`, to services.ivs_events.apply_ivs_event, the code
the events function runs for IVS's EventBridge events, against the running serve's own data.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from app.bootstrap import Service
from app.embedded_ivs_stand_in import CONTROL_PREFIX
from domain.clock import format_timestamp


def stream_state_event(channel_arn: str, stream_id: str, name: str, at: datetime, channel_name: str) -> dict[str, Any]:
    """An `IVS Stream State Change` event in the shape EventBridge delivers it."""
    return {
        "version": "0",
        "id": f"simulated-{stream_id}-{name.replace(' ', '-').lower()}",
        "detail-type": "IVS Stream State Change",
        "source": "aws.ivs",
        "account": channel_arn.split(":")[4],
        "time": format_timestamp(at),
        "region": channel_arn.split(":")[3],
        "resources": [channel_arn],
        "detail": {"event_name": name, "channel_name": channel_name, "stream_id": stream_id},
    }


def _control(endpoint_url: str, action: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(f"{endpoint_url}{CONTROL_PREFIX}{action}", data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read() or b"{}")


def simulate_broadcast(service: Service, channel_id: str, seconds: float, viewers: int,
                       report: Callable[[str], None] = print, sleep: Callable[[float], None] = time.sleep) -> int:
    """Broadcast on a channel of the running embedded serve for `seconds`; returns an exit status."""
    from services.ivs_events import apply_ivs_event

    if service.embedded is not None or service.settings.backend != "embedded":
        report("simulate-broadcast plays an encoder against a running embedded serve only")
        return 2
    endpoint = str(service.clients.ivs.meta.endpoint_url)
    channel = service.backend.repository.get_channel(channel_id)
    if channel is None:
        report(f"no channel '{channel_id}'")
        return 2
    key = channel.stream_key
    if key is None and channel.sealed_stream_key is not None and service.backend.stream_keys is not None:
        key = service.backend.stream_keys.open(channel.id, channel.sealed_stream_key)
    if key is None:
        report(f"channel '{channel_id}' has no stream key (it is {channel.state.value}); set it IDLE first")
        return 2
    status, answer = _control(endpoint, "connect", {"streamKey": key, "viewers": viewers})
    if status != 200:
        report(f"IVS refused the encoder: {answer.get('message', status)}")
        return 2
    stream = answer["stream"]
    started = datetime.fromisoformat(stream["startTime"].replace("Z", "+00:00"))
    outcome = apply_ivs_event(service.backend, stream_state_event(
        channel.arn, stream["streamId"], "Stream Start", started, channel.name))
    report(f"streaming on '{channel.name}' ({channel_id}) as {stream['streamId']}, {viewers} viewers: {outcome}")
    try:
        sleep(seconds)
    except KeyboardInterrupt:
        report("interrupted: ending the broadcast")
    _control(endpoint, "disconnect", {"channelArn": channel.arn})
    outcome = apply_ivs_event(service.backend, stream_state_event(
        channel.arn, stream["streamId"], "Stream End", datetime.now(UTC), channel.name))
    report(f"stream {stream['streamId']} ended: {outcome}")
    return 0
