"""`shelcaster-channels smoke --url URL --token TOKEN [--host-token TOKEN]`: the seed's eleven
automated tests (test-persistent-channels.ps1), then the channel request path of Program Manager and
Vista Stream (request, queue, approve, the requester sees the channel: steps 12 to 15) and a schedule
on the SHARED channel the approval made (book, list, cancel a slot: steps 16 to 18, commands.smoke_slots), through
GraphQL, against any running deployment, with an admin token. The request is made with
`--host-token` (a producer's), or with the admin's own token when none is given.

Prints one line per step (`PASS  1 capacity: used 3 of 20`, `FAIL  8 go LIVE: CONFLICT ...`) and one
for the cleanup, which always runs: the channels the run made are taken back to OFFLINE without hosts
and deleted, and a request still PENDING is cancelled. Exit status: 0 when every step and the cleanup passed, 1 otherwise, 2 for usage errors.

A step that needs what an earlier step failed to make (no channel, no assignment) is a FAIL saying
so, without a request. Listings read DynamoDB indexes, which are eventually consistent: a new channel
is looked for again for a few seconds before the step fails.
"""

from __future__ import annotations

import secrets
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from commands.operations import document
from commands.smoke_slots import SlotSteps
from commands.smoke_endpoint import (
    REQUEST_TIMEOUT_SECONDS,
    GraphQLEndpoint,
    StepFailed,
    Unreachable,
    UsageError,
    bearer,
    graphql_url,
)

Printer = Callable[[str], None]

LISTING_WAIT_SECONDS = 10.0
LISTING_POLL_SECONDS = 0.5
LISTING_PAGE_SIZE = 100
LISTING_MAX_PAGES = 10

# The documents of operations/smoke/, sent as their files' exact text (the manifest's ids hash it).
CAPACITY = document("SmokeCapacity")
CREATE = document("SmokeCreate")
CHANNEL = document("SmokeChannel")
CHANNELS = document("SmokeChannels")
ASSIGN = document("SmokeAssign")
UNASSIGN = document("SmokeUnassign")
HOST_CHANNEL = document("SmokeHostChannel")
SET_STATE = document("SmokeSetState")
DELETE = document("SmokeDelete")
# The channel request path (steps 12 to 15).
REQUEST_CHANNEL = document("SmokeRequestChannel")
PENDING_REQUESTS = document("SmokePendingRequests")
APPROVE_REQUEST = document("SmokeApproveRequest")
MY_CHANNEL = document("SmokeMyChannel")
MY_REQUESTS = document("SmokeMyRequests")
CANCEL_REQUEST = document("SmokeCancelRequest")


class SmokeRun:
    """The seed's eleven steps in its order, then the channel requests' (12-15) and a slot's (16-18), then the
    cleanup; remembers what it made."""

    def __init__(self, api: GraphQLEndpoint, report: Printer, requester: GraphQLEndpoint | None = None) -> None:
        self.api = api
        # Who asks for a channel in steps 12 to 15: a producer, or the admin themselves.
        self.requester = requester or api
        self.report = report
        self.failures = 0
        self.unreachable: str | None = None  # the step that found the deployment unreachable
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.channel_name = f"smoke-{stamp}"
        self.host_id = f"smoke-host-{secrets.token_hex(4)}"
        self.channel_id: str | None = None
        self.assigned = False
        self.went_live = False
        self.unassigned = False
        self.request_id: str | None = None
        self.requester_id: str | None = None
        self.requested_channel_id: str | None = None
        self.slots = SlotSteps(api)

    # Running

    def run(self) -> int:
        try:
            self.step(1, "capacity", self.capacity)
            self.step(2, "create channel", self.create)
            self.step(3, "list channels", self.listed, needs=self.needs_channel)
            self.step(4, "filter by state", self.filtered, needs=self.needs_channel)
            self.step(5, "channel stats", self.stats, needs=self.needs_channel)
            self.step(6, "assign to host", self.assign, needs=self.needs_channel)
            self.step(7, "host's channel", self.host_channel, needs=self.needs_assignment)
            self.step(8, "go LIVE", self.go_live, needs=self.needs_channel)
            self.step(9, "back to IDLE", self.back_to_idle, needs=lambda: None if self.went_live else "step 8 failed")
            self.step(10, "unassign", self.unassign, needs=self.needs_assignment)
            self.step(11, "verify unassignment", self.verify_unassigned,
                      needs=lambda: None if self.unassigned else "step 10 failed")
            self.step(12, "request channel", self.request_channel)
            self.step(13, "request queue", self.queued, needs=self.needs_request)
            self.step(14, "approve request", self.approve, needs=self.needs_request)
            self.step(15, "requester's channel", self.requester_channel,
                      needs=lambda: None if self.requested_channel_id else "step 14 failed")
            self.step(16, "book slot", lambda: self.slots.book(self.requested_channel_id or "", self.requester_id or ""),
                      needs=lambda: None if self.requested_channel_id else "no SHARED channel (step 14 failed)")
            self.step(17, "channel's slots", lambda: self.slots.listed(self.requested_channel_id or ""),
                      needs=self.slots.needs_slot)
            self.step(18, "cancel slot", self.slots.cancel, needs=self.slots.needs_slot)
        finally:
            self.clean_up()
        return 0 if self.failures == 0 else 1

    def step(self, number: int, title: str, action: Callable[[], str],
             needs: Callable[[], str | None] = lambda: None) -> None:
        label = f"{number} {title}"
        missing = f"the deployment cannot be reached ({self.unreachable})" if self.unreachable else needs()
        if missing:
            self.fail(label, f"not run: {missing}")
            return
        try:
            detail = action()
        except StepFailed as exc:
            self.fail(label, str(exc))
        except Unreachable as exc:
            self.unreachable = f"step {number}"
            self.fail(label, str(exc))
        except (KeyError, TypeError) as exc:
            # A GraphQL answer without the fields asked for: not this service's schema.
            self.fail(label, f"unexpected answer (missing {exc}); is --url this service?")
        else:
            self.report(f"PASS  {label}: {detail}")

    def fail(self, label: str, detail: str) -> None:
        self.failures += 1
        self.report(f"FAIL  {label}: {detail}")

    def needs_channel(self) -> str | None:
        return None if self.channel_id else "no channel (step 2 failed)"

    def needs_assignment(self) -> str | None:
        return None if self.assigned else "no assignment (step 6 failed)"

    def needs_request(self) -> str | None:
        return None if self.request_id else "no request (step 12 failed)"

    # The steps

    def capacity(self) -> str:
        capacity = self.api(CAPACITY)["capacity"]
        return f"used {capacity['used']} of {capacity['limit']} ({capacity['available']} available)"

    def create(self) -> str:
        variables = {"input": {
            "name": self.channel_name,
            "assignmentModel": "HOST_OWNED",
            # A retry after a lost answer returns the same channel instead of making a second one.
            "idempotencyKey": f"smoke-{uuid.uuid4()}",
        }}
        try:
            channel = self.api(CREATE, variables)["createChannel"]
        except Unreachable:
            channel = self.api(CREATE, variables)["createChannel"]
        self.channel_id = channel["id"]
        expect(channel["name"] == self.channel_name, f"name {channel['name']!r}, expected {self.channel_name!r}")
        expect(channel["state"] == "IDLE", f"state {channel['state']}, expected IDLE")
        expect(channel["assignmentModel"] == "HOST_OWNED", f"assignmentModel {channel['assignmentModel']}")
        expect(bool(channel["streamKey"]), "no streamKey for an admin")
        return f"{self.channel_name} ({self.channel_id})"

    def listed(self) -> str:
        expect(self.eventually_listed(None), f"{self.channel_id} is not in channels (waited {LISTING_WAIT_SECONDS:.0f} s)")
        return f"{self.channel_name} is listed"

    def filtered(self) -> str:
        expect(self.eventually_listed("IDLE"), f"{self.channel_id} is not in channels(state: IDLE)")
        expect(not self.is_listed("LIVE"), f"{self.channel_id} is in channels(state: LIVE) while IDLE")
        return "in IDLE, not in LIVE"

    def stats(self) -> str:
        channel = self.api(CHANNEL, {"id": self.channel_id})["channel"]
        expect(channel is not None, f"channel(id: {self.channel_id}) is null")
        stats = channel["stats"]
        zeros = {"totalBroadcasts": 0, "totalStreamingMinutes": 0.0, "lastBroadcastAt": None}
        expect(stats == zeros, f"stats {stats}, expected {zeros}")
        return "0 broadcasts, 0 minutes"

    def assign(self) -> str:
        assignment = self.api(ASSIGN, {"channelId": self.channel_id, "hostUserId": self.host_id})["assignChannel"]
        self.assigned = True
        expect(assignment["hostUserId"] == self.host_id, f"assigned to {assignment['hostUserId']}, expected {self.host_id}")
        expect(assignment["channel"]["id"] == self.channel_id, f"assignment names channel {assignment['channel']['id']}")
        return f"assigned to {self.host_id}"

    def host_channel(self) -> str:
        assignment = self.api(HOST_CHANNEL, {"hostUserId": self.host_id})["hostChannel"]
        expect(assignment is not None, f"hostChannel({self.host_id}) is null")
        expect(assignment["channel"]["id"] == self.channel_id, f"hostChannel returns channel {assignment['channel']['id']}")
        return f"hostChannel({self.host_id}) returns {self.channel_name}"

    def go_live(self) -> str:
        channel = self.api(SET_STATE, {"channelId": self.channel_id, "state": "LIVE"})["setChannelState"]
        self.went_live = channel["state"] == "LIVE"
        expect(self.went_live, f"state {channel['state']}, expected LIVE")
        broadcasts = channel["stats"]["totalBroadcasts"]
        expect(broadcasts == 1, f"totalBroadcasts {broadcasts}, expected 1")
        return "LIVE, totalBroadcasts 1"

    def back_to_idle(self) -> str:
        channel = self.api(SET_STATE, {"channelId": self.channel_id, "state": "IDLE"})["setChannelState"]
        expect(channel["state"] == "IDLE", f"state {channel['state']}, expected IDLE")
        stats = channel["stats"]
        expect(stats["totalBroadcasts"] == 1, f"totalBroadcasts {stats['totalBroadcasts']}, expected 1")
        minutes = stats["totalStreamingMinutes"]
        expect(isinstance(minutes, (int, float)) and minutes >= 0, f"totalStreamingMinutes {minutes}, expected >= 0")
        return f"IDLE, {minutes:g} minutes streamed"

    def unassign(self) -> str:
        removed = self.api(UNASSIGN, {"channelId": self.channel_id, "hostUserId": self.host_id})["unassignChannel"]
        self.assigned = False
        self.unassigned = True
        expect(removed["hostUserId"] == self.host_id, f"removed {removed['hostUserId']}, expected {self.host_id}")
        return f"{self.host_id} unassigned"

    def verify_unassigned(self) -> str:
        assignment = self.api(HOST_CHANNEL, {"hostUserId": self.host_id})["hostChannel"]
        expect(assignment is None, f"hostChannel({self.host_id}) still returns channel {assignment and assignment['channel']['id']}")
        return f"hostChannel({self.host_id}) is null"

    def request_channel(self) -> str:
        variables = {"input": {"name": f"{self.channel_name}-requested", "reason": "shelcaster-channels smoke",
                               "assignmentModel": "SHARED"}}  # steps 16 to 18 book a slot on it
        request = self.requester(REQUEST_CHANNEL, variables)["requestChannel"]
        self.request_id, self.requester_id = request["id"], request["requesterId"]
        expect(request["status"] == "PENDING", f"status {request['status']}, expected PENDING")
        return f"{request['name']} requested by {self.requester_id} ({self.request_id})"

    def queued(self) -> str:
        expect(self.eventually(self.is_queued),
               f"{self.request_id} is not in channelRequests(status: PENDING) (waited {LISTING_WAIT_SECONDS:.0f} s)")
        return "in the PENDING queue"

    def approve(self) -> str:
        try:
            request = self.api(APPROVE_REQUEST, {"id": self.request_id})["approveChannelRequest"]
        except Unreachable:
            # Safe to retry: an approved request is answered as it is, with the one channel it made.
            request = self.api(APPROVE_REQUEST, {"id": self.request_id})["approveChannelRequest"]
        expect(request["status"] == "APPROVED", f"status {request['status']}, expected APPROVED")
        channel = request["channel"]
        expect(channel is not None, "an approved request without its channel")
        self.requested_channel_id = channel["id"]
        hosts = [assignment["hostUserId"] for assignment in channel["assignments"]]
        expect(hosts == [self.requester_id], f"hosts {hosts}, expected [{self.requester_id!r}]")
        return f"channel {self.requested_channel_id} made and assigned to {self.requester_id}"

    def requester_channel(self) -> str:
        assignment = self.requester(MY_CHANNEL)["myChannel"]
        expect(assignment is not None, f"myChannel of {self.requester_id} is null")
        expect(assignment["channel"]["id"] == self.requested_channel_id,
               f"myChannel returns channel {assignment['channel']['id']}, expected {self.requested_channel_id}")
        expect(bool(assignment["channel"]["streamKey"]), "no streamKey for the requester")
        return f"myChannel of {self.requester_id} is {self.requested_channel_id}, with its stream key"

    # Listings

    def is_listed(self, state: str | None) -> bool:
        after = None
        for _ in range(LISTING_MAX_PAGES):
            page = self.api(CHANNELS, {"state": state, "first": LISTING_PAGE_SIZE, "after": after})["channels"]
            if any(edge["node"]["id"] == self.channel_id for edge in page["edges"]):
                return True
            if not page["pageInfo"]["hasNextPage"]:
                return False
            after = page["pageInfo"]["endCursor"]
        return False

    def eventually_listed(self, state: str | None) -> bool:
        return self.eventually(lambda: self.is_listed(state))

    def is_queued(self) -> bool:
        after = None
        for _ in range(LISTING_MAX_PAGES):
            page = self.api(PENDING_REQUESTS, {"first": LISTING_PAGE_SIZE, "after": after})["channelRequests"]
            if any(edge["node"]["id"] == self.request_id for edge in page["edges"]):
                return True
            if not page["pageInfo"]["hasNextPage"]:
                return False
            after = page["pageInfo"]["endCursor"]
        return False

    @staticmethod
    def eventually(listed: Callable[[], bool]) -> bool:
        # The listings read GSIs, which DynamoDB updates shortly after the write.
        deadline = time.monotonic() + LISTING_WAIT_SECONDS
        while not listed():
            if time.monotonic() >= deadline:
                return False
            time.sleep(LISTING_POLL_SECONDS)
        return True

    # Cleanup

    def clean_up(self) -> None:
        """Cancel or undo the request, take each channel back to OFFLINE without hosts and delete it;
        runs whatever happened before. One line: PASS when everything was removed."""
        done: list[str] = []
        failed: list[str] = []
        if self.request_id is not None:
            self._clean_up_part(self._clean_up_request, done, failed,
                                f"request {self.request_id} (and its channel) may be left behind; remove it by hand")
        if self.channel_id is None:
            done.append("nothing to remove (no channel was created)")
        else:
            self._clean_up_part(lambda: self._remove_channel(self.channel_id or "", self.channel_name, self.host_id),
                                done, failed,
                                f"channel {self.channel_name} ({self.channel_id}) is left behind; delete it by hand")
        if failed:
            self.fail("cleanup", "; ".join(failed + done))
        else:
            self.report(f"PASS  cleanup: {'; '.join(done)}")

    @staticmethod
    def _clean_up_part(part: Callable[[], str], done: list[str], failed: list[str], left_behind: str) -> None:
        try:
            done.append(part())
        except (StepFailed, Unreachable) as exc:
            failed.append(f"{exc}; {left_behind}")
        except (KeyError, TypeError) as exc:
            failed.append(f"unexpected answer (missing {exc}); {left_behind}")

    def _clean_up_request(self) -> str:
        """Cancel the request while PENDING; once approved, remove the channel the approval made."""
        own = self.requester(MY_REQUESTS)["myChannelRequests"]
        request = next((found for found in own if found["id"] == self.request_id), None)
        if request is not None and request["status"] == "PENDING":
            self.requester(CANCEL_REQUEST, {"id": self.request_id})
            return f"request {self.request_id} cancelled"
        channel_id = self.requested_channel_id or (request and request["channel"] and request["channel"]["id"])
        if not channel_id:
            return f"request {self.request_id} left {request['status'] if request else 'unknown'}, without a channel"
        return self._remove_channel(channel_id, f"{self.channel_name}-requested", self.requester_id or "")

    def _remove_channel(self, channel_id: str, name: str, host_id: str) -> str:
        # What the deployment holds now, not what the steps believe: an answer may have been lost.
        channel = self.api(CHANNEL, {"id": channel_id})["channel"]
        if channel is None:
            return f"channel {channel_id} is already gone"
        state = channel["state"]
        if state == "LIVE":
            # Unassigning is refused while LIVE: IDLE first.
            state = self.api(SET_STATE, {"channelId": channel_id, "state": "IDLE"})["setChannelState"]["state"]
        if any(assignment["hostUserId"] == host_id for assignment in channel["assignments"]):
            self.api(UNASSIGN, {"channelId": channel_id, "hostUserId": host_id})
        if state != "OFFLINE":
            self.api(SET_STATE, {"channelId": channel_id, "state": "OFFLINE"})
        deleted = self.api(DELETE, {"id": channel_id})["deleteChannel"]
        expect(deleted["id"] == channel_id, f"deleteChannel returned {deleted['id']}")
        return f"channel {name} ({channel_id}) set OFFLINE and deleted"


def expect(condition: bool, failure: str) -> None:
    if not condition:
        raise StepFailed(failure)


def run_smoke(url: str, token: str, report: Printer = print, transport: httpx.BaseTransport | None = None,
              host_token: str | None = None) -> int:
    """Run the steps and the cleanup against `url`; the exit status (0 all passed, 1 otherwise).

    `host_token` is the producer who requests a channel in steps 12 to 15 (default: the admin).
    Raises UsageError for a URL or token that cannot be used.
    """
    endpoint = graphql_url(url)
    token = bearer(token)
    with httpx.Client(timeout=REQUEST_TIMEOUT_SECONDS, transport=transport) as client:
        requester = GraphQLEndpoint(endpoint, bearer(host_token), client) if host_token is not None else None
        return SmokeRun(GraphQLEndpoint(endpoint, token, client), report, requester).run()


def run_smoke_command(url: str, token: str, host_token: str | None = None) -> int:
    """`shelcaster-channels smoke`: the exit status, 2 for usage errors (on stderr)."""
    try:
        return run_smoke(url, token, report=lambda line: print(line, flush=True), host_token=host_token)
    except UsageError as exc:
        print(f"shelcaster-channels: {exc}", file=sys.stderr)
        return 2
