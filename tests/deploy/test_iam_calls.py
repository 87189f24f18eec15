"""Every AWS call each function makes is one its role in deploy/template.yaml allows, and nothing more is granted.

moto does not enforce IAM, so without this a call the role refuses passes every test and fails on AWS.
tests/deploy/function_paths.py runs each function's end-to-end paths with every call recorded
(tests/deploy/aws_calls.py); each call, as the authorisations IAM makes for it, is evaluated against
the function's role with IAM's rules (tests/deploy/iam_policy.py), for one fixed stack: this run's
table, its KMS key, moto's account and region. The operator's commands run with an operator's own
credentials: their actions are listed in deploy/README.md instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from embedded.emulator import EmbeddedAws
from data.clients import AwsConnection, build_clients
from tests.deploy.aws_calls import AwsCall, AwsCallRecorder, Where, iam_requests
from tests.deploy.function_paths import (
    ACCOUNT,
    FEED,
    FEED_POLICY,
    FUNCTIONS,
    OPERATOR,
    REGION,
    Recorded,
    recorded_paths,
)
from tests.deploy.iam_policy import IamRequest, Stack, allowing_statements, statement_matches
from tests.support import JwksServer, TokenFactory

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "template.yaml"
DEPLOY_README = ROOT / "deploy" / "README.md"
# Granted for what boto3 does not always call: Lambda's runtime writes the logs and X-Ray traces, Lambda's
# destinations send failed invocations to the queues (the events function also sends its refused events,
# which the paths record and check).
NOT_THROUGH_BOTO3 = {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments",
                     "xray:PutTelemetryRecords", "sqs:SendMessage"}
# Statements for paths no test reaches, each with its reason in the template.
UNREACHED_STATEMENTS = {"ReadWhileStateIndexIsRebuilt"}


# Its tests are marked slow (`make test-fast` skips them, `make test` runs them).
@pytest.fixture(scope="module")
def recorded(aws: EmbeddedAws, signing: tuple[TokenFactory, JwksServer]) -> Iterator[Recorded]:
    with recorded_paths(aws, signing) as found:
        yield found


@pytest.fixture(scope="module")
def stack(recorded: Recorded) -> Stack:
    template, problems = decode(str(TEMPLATE))
    assert not problems
    return Stack(template, parameters={"TableName": recorded.table, "UseExistingTable": "true",
                                       "CognitoUserPoolId": "us-east-1_TestPool1", "CognitoAppClientIds": ["web"]},
                 region=REGION, account=ACCOUNT, physical={"StreamKeyEncryptionKey": recorded.kms_key_arn,
                                                           "EventsDeadLetterQueue": recorded.queue_name})


def _where(recorded: Recorded) -> Where:
    return Where(REGION, ACCOUNT, recorded.kms_key_arn, recorded.recorder.tags)


def _statements(stack: Stack, function: str) -> list[dict[str, Any]]:
    """What the function's role allows; for the feed, the policy the container's task role is given."""
    if function == FEED:
        return stack.managed_policy_statements(FEED_POLICY)
    return stack.role_statements(stack.function_role(FUNCTIONS[function]))


def _refused(stack: Stack, recorded: Recorded, function: str) -> list[str]:
    statements = _statements(stack, function)
    found = []
    for call in recorded.recorder.of(function):
        for request in iam_requests(call, _where(recorded)):
            if not allowing_statements(statements, request):
                found.append(f"{request.describe()}\n    made by {call.describe()}")
    return sorted(set(found))


@pytest.mark.slow
@pytest.mark.parametrize("function", [*sorted(FUNCTIONS), FEED])
def test_every_call_the_function_makes_is_allowed_by_its_role(stack: Stack, recorded: Recorded, function: str) -> None:
    assert recorded.recorder.of(function), f"no call recorded for the {function} function: the recorder sees nothing"
    refused = _refused(stack, recorded, function)
    assert not refused, f"{FUNCTIONS.get(function, FEED_POLICY)} refuses:\n" + "\n".join(refused)


def _unused(stack: Stack, recorded: Recorded, function: str) -> list[str]:
    """(statement, action) pairs of the role that no recorded call needs."""
    statements = _statements(stack, function)
    requests = [request for call in recorded.recorder.of(function) for request in iam_requests(call, _where(recorded))]
    unused = []
    for statement in statements:
        if statement.get("Sid") in UNREACHED_STATEMENTS:
            continue
        for action in statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]:
            if action in NOT_THROUGH_BOTO3:
                continue
            single = {**statement, "Action": action}
            if not any(statement_matches(single, request) for request in requests):
                unused.append(f"{statement.get('Sid', '?')}: {action}")
    return unused


@pytest.mark.slow
@pytest.mark.parametrize("function", [*sorted(FUNCTIONS), FEED])
def test_the_role_grants_nothing_the_function_does_not_call(stack: Stack, recorded: Recorded, function: str) -> None:
    assert _unused(stack, recorded, function) == []


@pytest.mark.slow
def test_the_functions_never_read_a_stream_key_from_ivs(recorded: Recorded) -> None:
    functions = {call.function for call in recorded.recorder.calls if call.operation == "GetStreamKey"}
    assert functions == {OPERATOR}  # reconcile only: the functions keep the key sealed in the table


@pytest.mark.slow
def test_every_operator_action_is_listed_for_the_operators_policy(recorded: Recorded) -> None:
    needed = {request.action for call in recorded.recorder.of(OPERATOR)
              for request in iam_requests(call, _where(recorded))}
    listed = set(re.findall(r"`((?:dynamodb|ivs|kms|sqs|sts|servicequotas):[A-Za-z]+)`", _section(DEPLOY_README.read_text(), "Operator permissions")))
    assert needed - listed == set()


def _section(text: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"deploy/README.md has no section '## {title}'"
    return match[1]


# --- The recorder itself -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_call_records_its_operation_parameters_and_the_code_that_made_it(recorded: Recorded) -> None:
    queries = [call for call in recorded.recorder.of("API")
               if call.operation == "Query" and "IndexName" not in call.params]
    assert queries, "no Query on the table recorded (Channel.sessions queries it)"
    assert all(call.origin.startswith("data/") for call in queries), [call.origin for call in queries]


@pytest.mark.slow
def test_the_queries_async_reads_are_recorded_with_the_code_that_made_them(recorded: Recorded) -> None:
    """The queries' reads go through aiodynamo (data/dynamo_reads.py), announced on boto3's hooks: the
    recorder must hear them, or the API role's read grants would be checked against boto3's reads only."""
    made = {call.operation for call in recorded.recorder.of("API") if call.origin.startswith("data/dynamo_reads.py")}
    assert made == {"BatchGetItem", "GetItem", "Query"}


def test_the_recorder_hears_every_client_built_while_installed_and_none_after(aws_connection: AwsConnection) -> None:
    recorder = AwsCallRecorder()
    with recorder.installed(), recorder.acting_as("API"):
        build_clients(aws_connection).ivs.list_channels()  # a lazy client, built on this first use
    build_clients(aws_connection).ivs.list_channels()
    assert [(call.function, call.service, call.operation) for call in recorder.calls] == [("API", "ivs", "ListChannels")]


def test_a_table_query_is_authorised_on_the_table_with_its_partition_key() -> None:
    call = AwsCall("API", "dynamodb", "Query", {
        "TableName": "t", "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
        "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk"},
        "ExpressionAttributeValues": {":pk": {"S": "channel#c-1"}, ":prefix": {"S": "session#"}}}, "here")
    assert iam_requests(call, Where(REGION, ACCOUNT)) == [IamRequest(
        "dynamodb:Query", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t", {"dynamodb:LeadingKeys": ("channel#c-1",)})]


def test_each_item_of_a_transaction_is_authorised_as_its_own_write() -> None:
    call = AwsCall("API", "dynamodb", "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "t", "Item": {"pk": {"S": "channel#1"}}}},
        {"Update": {"TableName": "t", "Key": {"pk": {"S": "counter#persistentChannel"}}}},
    ]}, "here")
    assert [(r.action, r.context["dynamodb:LeadingKeys"]) for r in iam_requests(call, Where(REGION, ACCOUNT))] == [
        ("dynamodb:PutItem", ("channel#1",)), ("dynamodb:UpdateItem", ("counter#persistentChannel",))]


def test_an_ivs_call_on_a_channel_carries_the_channels_tags() -> None:
    arn = f"arn:aws:ivs:{REGION}:{ACCOUNT}:channel/abc"
    call = AwsCall("API", "ivs", "StopStream", {"channelArn": arn}, "here")
    where = Where(REGION, ACCOUNT, tags={arn: {"shelcaster:managedBy": "shelcaster-channels"}})
    assert iam_requests(call, where) == [
        IamRequest("ivs:StopStream", arn, {"aws:ResourceTag/shelcaster:managedBy": "shelcaster-channels"})]


def test_an_ivs_list_naming_no_channel_is_authorised_on_every_channel() -> None:
    assert iam_requests(AwsCall("live check", "ivs", "ListStreams", {"maxResults": 100}, "here"),
                        Where(REGION, ACCOUNT)) == [
        IamRequest("ivs:ListStreams", f"arn:aws:ivs:{REGION}:{ACCOUNT}:channel/*")]

