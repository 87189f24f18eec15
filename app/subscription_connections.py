"""Subscriptions over WebSocket (graphql-transport-ws, as strawberry serves it): the token sent in
`connection_init`, the connection closed when that token expires, and trusted documents applied to
each `subscribe` as to a POST (docs/live-updates.md, "Protocols" and "Authentication")."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

import jwt
from anyio import to_thread
from starlette.websockets import WebSocket, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData

from app.auth import LEEWAY_SECONDS, TokenVerifier, bearer_token
from app.persisted_documents import PersistedDocumentError
from domain.access import Caller
from domain.errors import ChannelsError

if TYPE_CHECKING:
    from schema.context import Context

log = logging.getLogger(__name__)

# graphql-transport-ws leaves codes 4000-4999 to the server; 4403 is the code it closes with when
# `connection_init` is refused, so an expired token closes the same way (the client reconnects).
TOKEN_EXPIRED_CLOSE_CODE = 4403
TOKEN_EXPIRED_REASON = "The token has expired; reconnect with a fresh token."


async def verified_caller(verifier: TokenVerifier, token: str) -> Caller:
    """The caller of `token`, verified off the event loop when the JWKS may have to be fetched."""
    caller = verifier.verify_without_io(token)
    return caller if caller is not None else await to_thread.run_sync(verifier.verify, token)


def accepted_until(token: str) -> float:
    """When a verified token stops being accepted: its `exp` plus the clock-skew leeway (epoch seconds)."""
    claims = jwt.decode(token, options={"verify_signature": False})  # verified already: only read here
    return float(claims["exp"]) + LEEWAY_SECONDS


async def authenticate_connection(verifier: TokenVerifier, context: Context) -> None:
    """Admit a WebSocket connection whose `connection_init` carries a valid `Authorization: Bearer`
    token, and close it when that token expires; refuse it (4403) otherwise."""
    params = context.connection_params or {}
    header = params.get("Authorization", params.get("authorization"))
    try:
        token = bearer_token(header if isinstance(header, str) else None)
        if token is None:
            refusal = 'Send {"Authorization": "Bearer <token>"} in connection_init.'
            raise ConnectionRejectionError({"message": refusal})
        context.caller = await verified_caller(verifier, token)
    except ChannelsError as refusal:
        raise ConnectionRejectionError({"message": refusal.message, "code": refusal.code}) from None
    context.auth_rejection = None
    context.caller_expires_at = accepted_until(token)
    if isinstance(context.websocket, WebSocket):
        close_at_expiry(context.websocket, context.caller_expires_at)


def close_at_expiry(websocket: WebSocket, expires_at: float) -> None:
    """Close the connection at `expires_at`, unless it has closed by then."""
    loop = asyncio.get_running_loop()

    def expire() -> None:
        if websocket.application_state is not WebSocketState.DISCONNECTED:
            task = loop.create_task(_close(websocket))
            websocket.state.expiry_close = task  # held until done

    websocket.state.expiry = loop.call_later(max(0.0, expires_at - time.time()), expire)


def forget_expiry(websocket: WebSocket) -> None:
    """The connection ended: its expiry timer goes with it."""
    timer = getattr(websocket.state, "expiry", None)
    if timer is not None:
        timer.cancel()


async def _close(websocket: WebSocket) -> None:
    try:
        await websocket.close(code=TOKEN_EXPIRED_CLOSE_CODE, reason=TOKEN_EXPIRED_REASON)
    except RuntimeError:  # closed meanwhile
        pass


class SubscriptionSocket(ASGIWebSocketAdapter):
    """strawberry's WebSocket adapter, with each `subscribe` message's document resolved as a POST's is
    (app.persisted_documents): by `documentId` or APQ hash, and refused in trusted-documents-only mode
    unless trusted. A refused operation gets graphql-transport-ws's `error` message; the connection stays."""

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        async for message in super().iter_json(ignore_parsing_errors=ignore_parsing_errors):
            payload = message.get("payload") if isinstance(message, dict) else None
            if isinstance(message, dict) and message.get("type") == "subscribe" and isinstance(payload, dict):
                try:
                    message["payload"]["query"] = self._document(message["payload"])
                except PersistedDocumentError as refusal:
                    error = {"message": refusal.message, "extensions": {"code": refusal.code}}
                    await self.send_json({"id": message.get("id"), "type": "error", "payload": [error]})
                    continue
            yield message

    def _document(self, payload: dict[str, Any]) -> str | None:
        extensions = payload.get("extensions")
        query = payload.get("query")
        data = GraphQLRequestData(
            query=query if isinstance(query, str) else None,
            variables=None,
            operation_name=None,
            extensions=extensions if isinstance(extensions, dict) else None,
        )
        return self.view.persisted.resolve(data, payload.get("documentId")).query  # type: ignore[attr-defined]
