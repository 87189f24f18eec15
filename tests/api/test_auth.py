"""Who may do what (CONTRACT.md section 4), and which bearer tokens are accepted, through HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import jwt
import jwt.jwk_set_cache
import pytest
from cryptography.hazmat.primitives import serialization

from app.auth import JWKS_CACHE_SECONDS, RemoteJwks, TokenVerifier
from app.bootstrap import bootstrap
from app.settings import Settings
from data.clients import AwsConnection
from tests.api import queries
from tests.support import (
    CLIENT_ID,
    ISSUER,
    SCOPE_PREFIX,
    SERVICE_CLIENT_ID,
    GraphQLClient,
    JwksServer,
    TokenFactory,
    app_client,
    error_codes,
    new_rsa_key,
    public_jwk,
)

OWNER = "host-owner"
OTHER_HOST = "host-other"
NEW_HOST = "host-new"

ANONYMOUS, ASSIGNED_HOST, ANOTHER_HOST, ADMIN = "anonymous", "assigned-host", "other-host", "admin"
# Services (client-credentials access tokens), and tokens whose scopes must grant nothing.
SESSIONS_SCOPE, ADMIN_SCOPE, NO_SCOPE = "service-sessions", "service-admin", "service-no-scope"
FOREIGN_SCOPES = "service-foreign-scopes"  # another resource server's `sessions` and `admin`
OUTSIDE_AUDIENCE = "service-outside-audience"  # both scopes, but a client id not in the audience
ID_TOKEN_SCOPES = "id-token-with-scopes"  # an ID token carrying both scopes (sub and aud: the service's)
PERSON_ACCESS_SCOPES = "person-access-token-with-scopes"  # a user's access token carrying both scopes
BOTH_SCOPES = f"{SCOPE_PREFIX}/sessions {SCOPE_PREFIX}/admin"

# Small selections, so that each answer can be compared whole.
CHANNEL = "query Channel($id: ID!) { channel(id: $id) { id } }"
CHANNELS = "query Channels($first: Int! = 20) { channels(first: $first) { edges { node { id } } } }"
CAPACITY = "{ capacity { used } }"
HOST_CHANNEL = "query HostChannel($hostUserId: ID!) { hostChannel(hostUserId: $hostUserId) { hostUserId channelId } }"
MY_CHANNEL = "{ myChannel { hostUserId channelId } }"
CREATE = "mutation Create($input: CreateChannelInput!) { createChannel(input: $input) { name state } }"
ASSIGN = (
    "mutation Assign($channelId: ID!, $hostUserId: ID!) {"
    " assignChannel(channelId: $channelId, hostUserId: $hostUserId) { hostUserId channelId } }"
)
UNASSIGN = (
    "mutation Unassign($channelId: ID!, $hostUserId: ID!) {"
    " unassignChannel(channelId: $channelId, hostUserId: $hostUserId) { hostUserId channelId } }"
)
SET_STATE = (
    "mutation SetState($channelId: ID!, $state: ChannelState!) {"
    " setChannelState(channelId: $channelId, state: $state) { id state } }"
)
CHANNEL_STREAM_KEY = "query Channel($id: ID!) { channel(id: $id) { id streamKey } }"
OTHER_ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OtherPool"
UNKNOWN_CHANNEL_ID = "5f0c1e52-9a57-4f7e-9d8c-000000000000"


async def send(
    gql: GraphQLClient, document: str, variables: dict[str, Any] | None = None, *, authorization: str | None = None
) -> dict[str, Any]:
    """Post with exactly this Authorization header (or none)."""
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await gql.http.post("/graphql", json={"query": document, "variables": variables or {}}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def create_channel(gql: GraphQLClient, admin: str, name: str, **fields: Any) -> dict[str, Any]:
    result = await gql(queries.CREATE, {"input": {"name": name, **fields}}, token=admin)
    assert "errors" not in result, result
    return result["data"]["createChannel"]


async def assign(gql: GraphQLClient, admin: str, channel_id: str, host_user_id: str) -> None:
    result = await gql(queries.ASSIGN, {"channelId": channel_id, "hostUserId": host_user_id}, token=admin)
    assert "errors" not in result, result


def assert_refused(result: dict[str, Any], field: str, code: str, *, nullable: bool) -> None:
    """One error with `code` at `field`; a nullable field reads null, a non-null one nulls `data`."""
    assert error_codes(result) == [code], result
    assert result["errors"][0]["path"] == [field]
    assert result["data"] == ({field: None} if nullable else None)


# The authorization matrix


@dataclass(frozen=True)
class World:
    """A HOST_OWNED channel with OWNER on it, OTHER_HOST on a second channel, a third with nobody."""

    channel_id: str
    other_channel_id: str
    spare_channel_id: str
    stream_key: str
    authorization: dict[str, str | None]


@pytest.fixture
async def world(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> World:
    channel = await create_channel(gql, admin, "Morning Show")
    other = await create_channel(gql, admin, "Evening Show")
    spare = await create_channel(gql, admin, "Spare")
    await assign(gql, admin, channel["id"], OWNER)
    await assign(gql, admin, other["id"], OTHER_HOST)
    return World(
        channel_id=channel["id"],
        other_channel_id=other["id"],
        spare_channel_id=spare["id"],
        stream_key=channel["streamKey"],
        authorization={
            ANONYMOUS: None,
            ASSIGNED_HOST: f"Bearer {tokens.host(OWNER)}",
            ANOTHER_HOST: f"Bearer {tokens.host(OTHER_HOST)}",
            ADMIN: f"Bearer {admin}",
            SESSIONS_SCOPE: f"Bearer {tokens.service_token('sessions')}",
            ADMIN_SCOPE: f"Bearer {tokens.service_token('admin')}",
            NO_SCOPE: f"Bearer {tokens.service_token()}",
            FOREIGN_SCOPES: f"Bearer {tokens.service_token('other-api/sessions', 'other-api/admin')}",
            OUTSIDE_AUDIENCE: f"Bearer {tokens.service_token('sessions', 'admin', client_id='outsideclient123456789')}",
            ID_TOKEN_SCOPES: f"Bearer {tokens.id_token(SERVICE_CLIENT_ID, aud=SERVICE_CLIENT_ID, scope=BOTH_SCOPES)}",
            PERSON_ACCESS_SCOPES: f"Bearer {tokens.access_token('scoped-person', scope=BOTH_SCOPES)}",
        },
    )


@dataclass(frozen=True)
class Operation:
    field: str
    document: str
    nullable: bool  # a refused nullable field reads null; a refused non-null field nulls `data`
    variables: Callable[[World], dict[str, Any]] = lambda world: {}


OPERATIONS = {
    "channel": Operation("channel", CHANNEL, True, lambda w: {"id": w.channel_id}),
    "channels": Operation("channels", CHANNELS, False),
    "capacity": Operation("capacity", CAPACITY, False),
    "hostChannel": Operation("hostChannel", HOST_CHANNEL, True, lambda w: {"hostUserId": OWNER}),
    "myChannel": Operation("myChannel", MY_CHANNEL, True),
    "createChannel": Operation("createChannel", CREATE, False, lambda w: {"input": {"name": "Late Show"}}),
    "assignChannel": Operation(
        "assignChannel", ASSIGN, False, lambda w: {"channelId": w.spare_channel_id, "hostUserId": NEW_HOST}
    ),
    "unassignChannel": Operation(
        "unassignChannel", UNASSIGN, False, lambda w: {"channelId": w.channel_id, "hostUserId": OWNER}
    ),
    "setChannelState": Operation(
        "setChannelState", SET_STATE, False, lambda w: {"channelId": w.channel_id, "state": "LIVE"}
    ),
}


@dataclass(frozen=True)
class Refused:
    code: str


@dataclass(frozen=True)
class Answers:
    value: Callable[[World], Any]


UNAUTHENTICATED, FORBIDDEN = Refused("UNAUTHENTICATED"), Refused("FORBIDDEN")

# CONTRACT.md section 4, one row per operation; the hosts are OWNER (assigned to the channel asked
# about) and OTHER_HOST (assigned to another channel). A service with the admin scope answers as an
# admin, one with the sessions scope as its row of the contract's scope table says; no scope, another
# API's scopes: FORBIDDEN; a client id outside the audience: UNAUTHENTICATED; scopes on an ID token or
# on a person's access token grant nothing (a person without groups or channel).
# The same in every row: a service without a scope of this API, and one outside the audience.
WITHOUT_THIS_APIS_SCOPE: dict[str, Refused | Answers] = {
    NO_SCOPE: FORBIDDEN,
    FOREIGN_SCOPES: FORBIDDEN,
    OUTSIDE_AUDIENCE: UNAUTHENTICATED,
}

MATRIX: dict[str, dict[str, Refused | Answers]] = {
    "channel": {
        ANONYMOUS: UNAUTHENTICATED,
        ASSIGNED_HOST: Answers(lambda w: {"id": w.channel_id}),
        ANOTHER_HOST: Answers(lambda w: None),
        ADMIN: Answers(lambda w: {"id": w.channel_id}),
        SESSIONS_SCOPE: Answers(lambda w: {"id": w.channel_id}),
        ADMIN_SCOPE: Answers(lambda w: {"id": w.channel_id}),
        ID_TOKEN_SCOPES: Answers(lambda w: None),
        PERSON_ACCESS_SCOPES: Answers(lambda w: None),
        **WITHOUT_THIS_APIS_SCOPE,
    },
    "channels": {
        ANONYMOUS: UNAUTHENTICATED,
        ASSIGNED_HOST: FORBIDDEN,
        ANOTHER_HOST: FORBIDDEN,
        ADMIN: Answers(lambda w: sorted([w.channel_id, w.other_channel_id, w.spare_channel_id])),
        SESSIONS_SCOPE: FORBIDDEN,
        ADMIN_SCOPE: Answers(lambda w: sorted([w.channel_id, w.other_channel_id, w.spare_channel_id])),
        ID_TOKEN_SCOPES: FORBIDDEN,
        PERSON_ACCESS_SCOPES: FORBIDDEN,
        **WITHOUT_THIS_APIS_SCOPE,
    },
    "capacity": {
        ANONYMOUS: UNAUTHENTICATED,
        ASSIGNED_HOST: FORBIDDEN,
        ANOTHER_HOST: FORBIDDEN,
        ADMIN: Answers(lambda w: {"used": 3}),
        SESSIONS_SCOPE: FORBIDDEN,
        ADMIN_SCOPE: Answers(lambda w: {"used": 3}),
        ID_TOKEN_SCOPES: FORBIDDEN,
        PERSON_ACCESS_SCOPES: FORBIDDEN,
        **WITHOUT_THIS_APIS_SCOPE,
    },
    "hostChannel": {
        ANONYMOUS: UNAUTHENTICATED,
        ASSIGNED_HOST: Answers(lambda w: {"hostUserId": OWNER, "channelId": w.channel_id}),
        ANOTHER_HOST: FORBIDDEN,
        ADMIN: Answers(lambda w: {"hostUserId": OWNER, "channelId": w.channel_id}),
        SESSIONS_SCOPE: Answers(lambda w: {"hostUserId": OWNER, "channelId": w.channel_id}),
        ADMIN_SCOPE: Answers(lambda w: {"hostUserId": OWNER, "channelId": w.channel_id}),
        ID_TOKEN_SCOPES: FORBIDDEN,
        PERSON_ACCESS_SCOPES: FORBIDDEN,
        **WITHOUT_THIS_APIS_SCOPE,
    },
    "myChannel": {
        ANONYMOUS: UNAUTHENTICATED,
        ASSIGNED_HOST: Answers(lambda w: {"hostUserId": OWNER, "channelId": w.channel_id}),
        ANOTHER_HOST: Answers(lambda w: {"hostUserId": OTHER_HOST, "channelId": w.other_channel_id}),
        ADMIN: Answers(lambda w: None),  # the admin holds no channel
        SESSIONS_SCOPE: FORBIDDEN,
        ADMIN_SCOPE: Answers(lambda w: None),  # a service holds no channel
        ID_TOKEN_SCOPES: Answers(lambda w: None),
        PERSON_ACCESS_SCOPES: Answers(lambda w: None),
        **WITHOUT_THIS_APIS_SCOPE,
    },
    "createChannel": {
        ANONYMOUS: UNAUTHENTICATED,
        ASSIGNED_HOST: FORBIDDEN,
        ANOTHER_HOST: FORBIDDEN,
        ADMIN: Answers(lambda w: {"name": "Late Show", "state": "IDLE"}),
        SESSIONS_SCOPE: FORBIDDEN,
        ADMIN_SCOPE: Answers(lambda w: {"name": "Late Show", "state": "IDLE"}),
        ID_TOKEN_SCOPES: FORBIDDEN,
        PERSON_ACCESS_SCOPES: FORBIDDEN,
        **WITHOUT_THIS_APIS_SCOPE,
    },
    "assignChannel": {
        ANONYMOUS: UNAUTHENTICATED,
        ASSIGNED_HOST: FORBIDDEN,
        ANOTHER_HOST: FORBIDDEN,
        ADMIN: Answers(lambda w: {"hostUserId": NEW_HOST, "channelId": w.spare_channel_id}),
        SESSIONS_SCOPE: FORBIDDEN,
        ADMIN_SCOPE: Answers(lambda w: {"hostUserId": NEW_HOST, "channelId": w.spare_channel_id}),
        ID_TOKEN_SCOPES: FORBIDDEN,
        PERSON_ACCESS_SCOPES: FORBIDDEN,
        **WITHOUT_THIS_APIS_SCOPE,
    },
    "unassignChannel": {
        ANONYMOUS: UNAUTHENTICATED,
        ASSIGNED_HOST: FORBIDDEN,
        ANOTHER_HOST: FORBIDDEN,
        ADMIN: Answers(lambda w: {"hostUserId": OWNER, "channelId": w.channel_id}),
        SESSIONS_SCOPE: FORBIDDEN,
        ADMIN_SCOPE: Answers(lambda w: {"hostUserId": OWNER, "channelId": w.channel_id}),
        ID_TOKEN_SCOPES: FORBIDDEN,
        PERSON_ACCESS_SCOPES: FORBIDDEN,
        **WITHOUT_THIS_APIS_SCOPE,
    },
    "setChannelState": {
        ANONYMOUS: UNAUTHENTICATED,
        ASSIGNED_HOST: Answers(lambda w: {"id": w.channel_id, "state": "LIVE"}),
        ANOTHER_HOST: FORBIDDEN,
        ADMIN: Answers(lambda w: {"id": w.channel_id, "state": "LIVE"}),
        SESSIONS_SCOPE: Answers(lambda w: {"id": w.channel_id, "state": "LIVE"}),
        ADMIN_SCOPE: Answers(lambda w: {"id": w.channel_id, "state": "LIVE"}),
        ID_TOKEN_SCOPES: FORBIDDEN,
        PERSON_ACCESS_SCOPES: FORBIDDEN,
        **WITHOUT_THIS_APIS_SCOPE,
    },
}


def _projected(field: str, data: Any) -> Any:
    """`channels` answers with ids in any order (ordering has its own tests): compare them sorted."""
    if field == "channels" and data is not None:
        return sorted(edge["node"]["id"] for edge in data["edges"])
    return data


@pytest.mark.parametrize(
    ("operation", "role", "expected"),
    [
        pytest.param(OPERATIONS[name], role, outcome, id=f"{name}-{role}")
        for name, row in MATRIX.items()
        for role, outcome in row.items()
    ],
)
async def test_who_may_do_what(
    gql: GraphQLClient, world: World, operation: Operation, role: str, expected: Refused | Answers
) -> None:
    result = await send(gql, operation.document, operation.variables(world), authorization=world.authorization[role])
    if isinstance(expected, Refused):
        assert_refused(result, operation.field, expected.code, nullable=operation.nullable)
    else:
        assert "errors" not in result, result
        assert _projected(operation.field, result["data"][operation.field]) == expected.value(world)


async def test_refused_host_mutations_change_nothing(gql: GraphQLClient, world: World, admin: str) -> None:
    host = world.authorization[ASSIGNED_HOST]
    for name in ("createChannel", "assignChannel", "unassignChannel"):
        operation = OPERATIONS[name]
        result = await send(gql, operation.document, operation.variables(world), authorization=host)
        assert error_codes(result) == ["FORBIDDEN"]
    assert (await gql(CAPACITY, token=admin))["data"] == {"capacity": {"used": 3}}
    spare = await gql(queries.CHANNEL, {"id": world.spare_channel_id}, token=admin)
    assert spare["data"]["channel"]["assignments"] == []
    owner = await gql(HOST_CHANNEL, {"hostUserId": OWNER}, token=admin)
    assert owner["data"] == {"hostChannel": {"hostUserId": OWNER, "channelId": world.channel_id}}


async def test_host_asking_about_their_own_id_without_a_channel_gets_null(
    gql: GraphQLClient, tokens: TokenFactory
) -> None:
    result = await gql(HOST_CHANNEL, {"hostUserId": "host-idle"}, token=tokens.host("host-idle"))
    assert result == {"data": {"hostChannel": None}}


# setChannelState for hosts


async def test_host_may_take_own_channel_live_and_back_to_idle(gql: GraphQLClient, world: World) -> None:
    host = world.authorization[ASSIGNED_HOST]
    live = await send(gql, SET_STATE, {"channelId": world.channel_id, "state": "LIVE"}, authorization=host)
    idle = await send(gql, SET_STATE, {"channelId": world.channel_id, "state": "IDLE"}, authorization=host)
    assert live == {"data": {"setChannelState": {"id": world.channel_id, "state": "LIVE"}}}
    assert idle == {"data": {"setChannelState": {"id": world.channel_id, "state": "IDLE"}}}


async def test_host_may_not_take_own_channel_offline(gql: GraphQLClient, world: World, admin: str) -> None:
    host = world.authorization[ASSIGNED_HOST]
    result = await send(gql, SET_STATE, {"channelId": world.channel_id, "state": "OFFLINE"}, authorization=host)
    assert_refused(result, "setChannelState", "FORBIDDEN", nullable=False)
    after = await gql(queries.CHANNEL, {"id": world.channel_id}, token=admin)
    assert after["data"]["channel"]["state"] == "IDLE"


async def test_admin_may_take_any_channel_offline(gql: GraphQLClient, world: World, admin: str) -> None:
    result = await gql(SET_STATE, {"channelId": world.spare_channel_id, "state": "OFFLINE"}, token=admin)
    assert result == {"data": {"setChannelState": {"id": world.spare_channel_id, "state": "OFFLINE"}}}


async def test_host_may_not_change_state_of_a_channel_nobody_holds(gql: GraphQLClient, world: World) -> None:
    host = world.authorization[ASSIGNED_HOST]
    result = await send(gql, SET_STATE, {"channelId": world.spare_channel_id, "state": "LIVE"}, authorization=host)
    assert_refused(result, "setChannelState", "FORBIDDEN", nullable=False)


@pytest.mark.parametrize("state", ["IDLE", "LIVE", "OFFLINE"])
@pytest.mark.parametrize("sub", [OWNER, "host-without-channel"])
async def test_host_on_unknown_channel_id_is_forbidden_not_not_found(
    gql: GraphQLClient, world: World, tokens: TokenFactory, sub: str, state: str
) -> None:
    # No probing for ids: the answer is the same as for a channel that exists but is not theirs.
    result = await gql(SET_STATE, {"channelId": UNKNOWN_CHANNEL_ID, "state": state}, token=tokens.host(sub))
    assert_refused(result, "setChannelState", "FORBIDDEN", nullable=False)


async def test_admin_on_unknown_channel_id_is_not_found(gql: GraphQLClient, admin: str) -> None:
    result = await gql(SET_STATE, {"channelId": UNKNOWN_CHANNEL_ID, "state": "LIVE"}, token=admin)
    assert_refused(result, "setChannelState", "NOT_FOUND", nullable=False)


async def test_host_reading_unknown_channel_id_gets_null(gql: GraphQLClient, world: World) -> None:
    host = world.authorization[ASSIGNED_HOST]
    assert await send(gql, CHANNEL, {"id": UNKNOWN_CHANNEL_ID}, authorization=host) == {"data": {"channel": None}}


# Channel.streamKey


async def test_admin_sees_stream_key_of_every_channel(gql: GraphQLClient, world: World, admin: str) -> None:
    result = await gql(CHANNEL_STREAM_KEY, {"id": world.channel_id}, token=admin)
    assert result == {"data": {"channel": {"id": world.channel_id, "streamKey": world.stream_key}}}
    spare = (await gql(CHANNEL_STREAM_KEY, {"id": world.spare_channel_id}, token=admin))["data"]["channel"]
    assert spare["streamKey"].startswith("sk_")


async def test_assigned_host_sees_stream_key_through_my_channel(gql: GraphQLClient, world: World) -> None:
    result = await send(gql, queries.MY_CHANNEL, authorization=world.authorization[ASSIGNED_HOST])
    assert result["data"]["myChannel"]["channel"]["streamKey"] == world.stream_key


async def test_assigned_host_sees_stream_key_through_channel(gql: GraphQLClient, world: World) -> None:
    host = world.authorization[ASSIGNED_HOST]
    result = await send(gql, CHANNEL_STREAM_KEY, {"id": world.channel_id}, authorization=host)
    assert result == {"data": {"channel": {"id": world.channel_id, "streamKey": world.stream_key}}}


async def test_assigned_host_sees_stream_key_through_host_channel(gql: GraphQLClient, world: World) -> None:
    result = await send(
        gql, queries.HOST_CHANNEL, {"hostUserId": OWNER}, authorization=world.authorization[ASSIGNED_HOST]
    )
    assert result["data"]["hostChannel"]["channel"]["streamKey"] == world.stream_key


async def test_other_host_gets_null_channel_and_so_no_stream_key(gql: GraphQLClient, world: World) -> None:
    other = world.authorization[ANOTHER_HOST]
    result = await send(gql, CHANNEL_STREAM_KEY, {"id": world.channel_id}, authorization=other)
    assert result == {"data": {"channel": None}}


async def test_host_without_a_channel_gets_null_channel(gql: GraphQLClient, world: World, tokens: TokenFactory) -> None:
    lonely = tokens.host("host-without-channel")
    assert await gql(CHANNEL_STREAM_KEY, {"id": world.channel_id}, token=lonely) == {"data": {"channel": None}}
    assert await gql(queries.MY_CHANNEL, token=lonely) == {"data": {"myChannel": None}}


async def test_every_host_of_a_shared_channel_sees_its_stream_key(
    gql: GraphQLClient, admin: str, tokens: TokenFactory
) -> None:
    shared = await create_channel(gql, admin, "Panel", assignmentModel="SHARED")
    for host in ("panelist-1", "panelist-2"):
        await assign(gql, admin, shared["id"], host)
    for host in ("panelist-1", "panelist-2"):
        mine = await gql(queries.MY_CHANNEL, token=tokens.host(host))
        assert mine["data"]["myChannel"]["hostUserId"] == host
        assert mine["data"]["myChannel"]["channel"]["streamKey"] == shared["streamKey"]
        read = await gql(CHANNEL_STREAM_KEY, {"id": shared["id"]}, token=tokens.host(host))
        assert read == {"data": {"channel": {"id": shared["id"], "streamKey": shared["streamKey"]}}}


async def test_unassigned_host_no_longer_sees_the_channel(gql: GraphQLClient, world: World, admin: str) -> None:
    result = await gql(queries.UNASSIGN, {"channelId": world.channel_id, "hostUserId": OWNER}, token=admin)
    assert "errors" not in result, result
    host = world.authorization[ASSIGNED_HOST]
    assert await send(gql, CHANNEL_STREAM_KEY, {"id": world.channel_id}, authorization=host) == {
        "data": {"channel": None}
    }
    assert await send(gql, queries.MY_CHANNEL, authorization=host) == {"data": {"myChannel": None}}


# Tokens


async def test_id_token_is_accepted(gql: GraphQLClient, world: World, tokens: TokenFactory) -> None:
    result = await gql(MY_CHANNEL, token=tokens.id_token(OWNER))
    assert result == {"data": {"myChannel": {"hostUserId": OWNER, "channelId": world.channel_id}}}


async def test_access_token_is_accepted(gql: GraphQLClient, world: World, tokens: TokenFactory) -> None:
    result = await gql(MY_CHANNEL, token=tokens.access_token(OWNER))
    assert result == {"data": {"myChannel": {"hostUserId": OWNER, "channelId": world.channel_id}}}


async def test_access_token_of_an_admin_is_admin(gql: GraphQLClient, tokens: TokenFactory) -> None:
    result = await gql(CAPACITY, token=tokens.access_token("admin-2", ["admin"]))
    assert result == {"data": {"capacity": {"used": 0}}}


async def test_id_token_with_several_audiences_is_accepted_when_one_is_ours(
    gql: GraphQLClient, tokens: TokenFactory
) -> None:
    result = await gql(MY_CHANNEL, token=tokens.id_token("h1", aud=["another-client", CLIENT_ID]))
    assert result == {"data": {"myChannel": None}}


@pytest.mark.parametrize(
    ("groups", "is_admin"),
    [
        pytest.param(["admin"], True, id="admin"),
        pytest.param(["editors", "admin"], True, id="editors-and-admin"),
        pytest.param(["editors"], False, id="editors"),
        pytest.param(["admins"], False, id="admins-is-not-admin"),
        pytest.param([], False, id="no-groups"),
    ],
)
async def test_admin_is_membership_of_the_admin_group(
    gql: GraphQLClient, tokens: TokenFactory, groups: list[str], is_admin: bool
) -> None:
    result = await gql(CAPACITY, token=tokens.id_token("someone", groups))
    if is_admin:
        assert result == {"data": {"capacity": {"used": 0}}}
    else:
        assert_refused(result, "capacity", "FORBIDDEN", nullable=False)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def unsigned(tokens: TokenFactory) -> str:
    """`alg: none`: a valid header and payload with an empty signature."""
    header = _b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": tokens.kid}).encode())
    payload = _b64url(json.dumps(_claims(tokens.id_token("h1"))).encode())
    return f"{header}.{payload}."


def hmac_with_public_key(tokens: TokenFactory) -> str:
    """The algorithm-confusion attack: HS256 keyed with the (public) RSA key's PEM bytes."""
    public_pem = tokens.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": tokens.kid}).encode())
    payload = _b64url(json.dumps(_claims(tokens.id_token("h1"))).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


def foreign_key_same_kid(tokens: TokenFactory) -> str:
    return TokenFactory(key=new_rsa_key(), kid=tokens.kid).id_token("h1")


def unknown_kid(tokens: TokenFactory) -> str:
    return tokens.sign(_claims(tokens.id_token("h1")), kid="unknown-key")


def without_sub(tokens: TokenFactory) -> str:
    claims = _claims(tokens.id_token("h1"))
    del claims["sub"]
    return tokens.sign(claims)


def expired(tokens: TokenFactory) -> str:
    now = int(time.time())
    return tokens.id_token("h1", iat=now - 7200, auth_time=now - 7200, exp=now - 3600)


REFUSED_AUTHORIZATIONS: dict[str, Callable[[TokenFactory], str]] = {
    "expired": lambda t: f"Bearer {expired(t)}",
    "wrong-issuer": lambda t: f"Bearer {t.id_token('h1', iss=OTHER_ISSUER)}",
    "id-token-wrong-audience": lambda t: f"Bearer {t.id_token('h1', aud='anotherclient')}",
    "access-token-wrong-client-id": lambda t: f"Bearer {t.access_token('h1', client_id='anotherclient')}",
    "access-token-client-id-only-in-aud": lambda t: f"Bearer {t.access_token('h1', client_id=None, aud=CLIENT_ID)}",
    "foreign-key-same-kid": lambda t: f"Bearer {foreign_key_same_kid(t)}",
    "alg-none": lambda t: f"Bearer {unsigned(t)}",
    "hs256-with-public-key": lambda t: f"Bearer {hmac_with_public_key(t)}",
    "refresh-token-use": lambda t: f"Bearer {t.id_token('h1', token_use='refresh')}",
    "no-token-use": lambda t: f"Bearer {t.id_token('h1', token_use=None)}",
    "missing-exp": lambda t: f"Bearer {t.id_token('h1', exp=None)}",
    "not-valid-before-an-hour-from-now": lambda t: f"Bearer {t.id_token('h1', nbf=int(time.time()) + 3600)}",
    "issued-an-hour-from-now": lambda t: f"Bearer {t.id_token('h1', iat=int(time.time()) + 3600)}",
    "missing-sub": lambda t: f"Bearer {without_sub(t)}",
    "exp-a-string": lambda t: f"Bearer {t.id_token('h1', exp=str(int(time.time()) + 3600))}",
    "exp-a-boolean": lambda t: f"Bearer {t.id_token('h1', exp=True)}",
    "nbf-a-string": lambda t: f"Bearer {t.id_token('h1', nbf='0')}",
    "iat-a-string": lambda t: f"Bearer {t.id_token('h1', iat=str(int(time.time())))}",
    "iat-a-list": lambda t: f"Bearer {t.id_token('h1', iat=[1])}",
    "unknown-kid": lambda t: f"Bearer {unknown_kid(t)}",
    "garbage": lambda t: "Bearer abc",
    "bearer-without-token": lambda t: "Bearer",
    "basic-scheme": lambda t: "Basic xyz",
    "token-without-scheme": lambda t: t.id_token("h1"),
}


@pytest.mark.parametrize("make_authorization", REFUSED_AUTHORIZATIONS.values(), ids=REFUSED_AUTHORIZATIONS.keys())
async def test_refused_token_is_unauthenticated(
    gql: GraphQLClient, tokens: TokenFactory, make_authorization: Callable[[TokenFactory], str]
) -> None:
    result = await send(gql, MY_CHANNEL, authorization=make_authorization(tokens))
    assert_refused(result, "myChannel", "UNAUTHENTICATED", nullable=True)


async def test_refused_admin_token_grants_nothing(gql: GraphQLClient, tokens: TokenFactory) -> None:
    foreign_admin = TokenFactory(key=new_rsa_key(), kid=tokens.kid).admin()
    result = await gql(CAPACITY, token=foreign_admin)
    assert_refused(result, "capacity", "UNAUTHENTICATED", nullable=False)


async def test_token_expired_within_the_leeway_is_still_accepted(gql: GraphQLClient, tokens: TokenFactory) -> None:
    # Clock skew between Cognito and this service is tolerated for a few seconds.
    now = int(time.time())
    result = await gql(MY_CHANNEL, token=tokens.id_token("h1", iat=now - 3600, exp=now - 5))
    assert result == {"data": {"myChannel": None}}


# Error precedence (CONTRACT.md section 3): UNAUTHENTICATED, BAD_USER_INPUT, FORBIDDEN, NOT_FOUND


async def test_host_asking_for_too_large_a_page_gets_bad_user_input_not_forbidden(
    gql: GraphQLClient, tokens: TokenFactory
) -> None:
    result = await gql(CHANNELS, {"first": 500}, token=tokens.host("h1"))
    assert_refused(result, "channels", "BAD_USER_INPUT", nullable=False)


async def test_anonymous_asking_for_too_large_a_page_gets_unauthenticated(gql: GraphQLClient) -> None:
    result = await send(gql, CHANNELS, {"first": 500})
    assert_refused(result, "channels", "UNAUTHENTICATED", nullable=False)


async def test_refused_token_with_bad_input_gets_unauthenticated(gql: GraphQLClient) -> None:
    result = await send(gql, CHANNELS, {"first": 500}, authorization="Bearer abc")
    assert_refused(result, "channels", "UNAUTHENTICATED", nullable=False)


async def test_anonymous_with_a_mistyped_variable_gets_unauthenticated(gql: GraphQLClient) -> None:
    result = await send(gql, CHANNELS, {"first": "abc"})
    assert error_codes(result) == ["UNAUTHENTICATED"]
    assert result["data"] is None


async def test_host_with_a_mistyped_variable_gets_bad_user_input(gql: GraphQLClient, tokens: TokenFactory) -> None:
    result = await gql(CHANNELS, {"first": "abc"}, token=tokens.host("h1"))
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert result["data"] is None


async def test_host_creating_a_channel_with_a_blank_name_gets_bad_user_input(
    gql: GraphQLClient, tokens: TokenFactory
) -> None:
    result = await gql(CREATE, {"input": {"name": "   "}}, token=tokens.host("h1"))
    assert_refused(result, "createChannel", "BAD_USER_INPUT", nullable=False)


async def test_host_setting_state_with_an_oversized_channel_id_gets_bad_user_input(
    gql: GraphQLClient, tokens: TokenFactory
) -> None:
    result = await gql(SET_STATE, {"channelId": "x" * 129, "state": "LIVE"}, token=tokens.host("h1"))
    assert_refused(result, "setChannelState", "BAD_USER_INPUT", nullable=False)


# The signing keys


async def test_jwks_is_fetched_lazily_once_then_cached(
    gql: GraphQLClient, tokens: TokenFactory, jwks_server: JwksServer
) -> None:
    before = jwks_server.fetches
    assert error_codes(await send(gql, MY_CHANNEL)) == ["UNAUTHENTICATED"]
    assert jwks_server.fetches == before  # nobody sent a token: nothing to verify
    for sub in ("h1", "h2", "h3"):
        assert "errors" not in await gql(MY_CHANNEL, token=tokens.id_token(sub))
        assert "errors" not in await gql(MY_CHANNEL, token=tokens.access_token(sub))
    assert jwks_server.fetches == before + 1


async def test_key_withdrawn_from_the_jwks_is_refused_once_the_cache_expires(
    gql: GraphQLClient, tokens: TokenFactory, jwks_server: JwksServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "errors" not in await gql(MY_CHANNEL, token=tokens.id_token("h1"))
    # The pool rotates: the JWKS now holds another key only (restored after the test).
    monkeypatch.setattr(jwks_server, "jwks", {"keys": [public_jwk(new_rsa_key(), "rotated-key")]})
    # PyJWT's JWK set cache reads the clock through its module's `time`: move only that clock on.
    later = time.monotonic() + JWKS_CACHE_SECONDS + 1
    monkeypatch.setattr(jwt.jwk_set_cache, "time", SimpleNamespace(monotonic=lambda: later))
    result = await gql(MY_CHANNEL, token=tokens.id_token("h1"))
    assert_refused(result, "myChannel", "UNAUTHENTICATED", nullable=True)



async def test_a_jwks_outage_is_upstream_error_not_a_500(
    tokens: TokenFactory, settings: Settings, aws_connection: AwsConnection
) -> None:
    """The keys cannot be fetched (the JWKS host is down): the caller is told to retry, nothing breaks."""
    down = JwksServer({"keys": []})
    url = down.url
    down.stop()  # nothing listens there any more
    verifier = TokenVerifier(
        issuer=ISSUER, audiences=frozenset({CLIENT_ID}), admin_group="admin", keys=RemoteJwks(url, timeout=2)
    )
    service = bootstrap(settings, connection=aws_connection, verifier=verifier)
    async with app_client(service) as client:
        response = await client.post(
            "/graphql", json={"query": "{ myChannel { channelId } }"}, headers={"Authorization": f"Bearer {tokens.admin()}"}
        )
    assert response.status_code == 200
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["UPSTREAM_ERROR"]

