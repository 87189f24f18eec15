"""deploy/template.yaml: cfn-lint finds nothing, and what cfn-lint cannot know holds — the table's layout is
the one the code reads, IAM is least privilege, and the HTTP API authorizes every route but health.

The template is parsed with cfn-lint's own decoder (it reads !Ref, !Sub and the other short forms).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file
from cfnlint.data import AdditionalSpecs
from cfnlint.decode import decode
from cfnlint.helpers import load_resource

from app.settings import Settings
from data.provisioning import required_indexes
from data.stream_specification import STREAM_SPECIFICATION
from data.table import EXPIRY_ATTRIBUTE

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "template.yaml"

TABLE_ARN = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${TableName}"
INDEX_ARN = TABLE_ARN + "/index/*"
# The pool's region is its id's prefix, not the stack's region.
ISSUER = {
    "Fn::Sub": [
        "https://cognito-idp.${PoolRegion}.amazonaws.com/${CognitoUserPoolId}",
        {"PoolRegion": {"Fn::Select": [0, {"Fn::Split": ["_", {"Ref": "CognitoUserPoolId"}]}]}},
    ]
}
API_DYNAMODB_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",  # a booking checks its host's assignment (docs/schedules.md)
    "dynamodb:DescribeTable",  # /readyz
}
EVENTS_DYNAMODB_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
}
# Index name -> (partition key, sort key or None, projection).
EXPECTED_INDEXES = {
    "entityType-index": ("entityType", None, "ALL"),
    "channels-by-created-index": ("channelCatalog", "createdAt", "ALL"),
    "channels-by-state-index": ("channelState", "createdAt", "ALL"),
    "channels-by-arn-index": ("channelArn", None, "KEYS_ONLY"),
    "channel-requests-by-status-index": ("channelRequestStatus", "createdAt", "ALL"),
    "channel-requests-by-created-index": ("channelRequestCatalog", "createdAt", "ALL"),
    "channel-requests-by-requester-index": ("channelRequesterId", "createdAt", "ALL"),
    "slots-by-host-index": ("slotHostUserId", "endsAt", "ALL"),
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    parsed, problems = decode(str(TEMPLATE))
    assert not problems, [str(problem) for problem in problems]
    return parsed


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in template["Resources"].items() if body["Type"] == kind}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def logical_id(template: dict[str, Any], handler: str) -> str:
    (name,) = [name for name, body in resources(template, "AWS::Serverless::Function").items()
               if body["Properties"]["Handler"] == handler]
    return name


def function(template: dict[str, Any], handler: str) -> dict[str, Any]:
    return template["Resources"][logical_id(template, handler)]


def resolve_conditions(value: Any, conditions: dict[str, bool]) -> Any:
    """`value` with every `Fn::If` decided by `conditions` and `AWS::NoValue` dropped."""
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            name, when_true, when_false = value["Fn::If"]
            return resolve_conditions(when_true if conditions[name] else when_false, conditions)
        resolved = {key: resolve_conditions(item, conditions) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item != NO_VALUE}
    if isinstance(value, list):
        return [item for item in (resolve_conditions(item, conditions) for item in value) if item != NO_VALUE]
    return value


NO_VALUE = {"Ref": "AWS::NoValue"}


def all_conditions(template: dict[str, Any], value: bool = True) -> dict[str, bool]:
    return dict.fromkeys(template.get("Conditions", {}), value)


def role_statements(template: dict[str, Any], role_name: str,
                    conditions: dict[str, bool] | None = None) -> list[dict[str, Any]]:
    """Every statement of a role's inline policies, conditional ones in (all conditions true) unless
    `conditions` says otherwise."""
    role = template["Resources"][role_name]
    assert role["Type"] == "AWS::IAM::Role"
    decided = all_conditions(template) | (conditions or {})
    return [statement for policy in role["Properties"]["Policies"]
            for statement in resolve_conditions(policy["PolicyDocument"], decided)["Statement"]]


def function_role(template: dict[str, Any], handler: str) -> str:
    role_name, attribute = function(template, handler)["Properties"]["Role"]["Fn::GetAtt"]
    assert attribute == "Arn"
    return str(role_name)


def function_statements(template: dict[str, Any], handler: str,
                        conditions: dict[str, bool] | None = None) -> list[dict[str, Any]]:
    """Every statement of the role the function runs as (its `Role: !GetAtt <role>.Arn`)."""
    return role_statements(template, function_role(template, handler), conditions)


def actions(statements: list[dict[str, Any]], service: str) -> set[str]:
    return {action for s in statements for action in as_list(s["Action"]) if action.startswith(service + ":")}


def table(template: dict[str, Any]) -> dict[str, Any]:
    (found,) = resources(template, "AWS::DynamoDB::Table").values()
    return found


def routes(template: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(method, path) -> the HttpApi event's properties, over every function."""
    return {
        (event["Properties"]["Method"].upper(), event["Properties"]["Path"]): event["Properties"]
        for body in resources(template, "AWS::Serverless::Function").values()
        for event in body["Properties"].get("Events", {}).values()
        if event["Type"] == "HttpApi"
    }


def environment(template: dict[str, Any], handler: str) -> dict[str, Any]:
    """The function's variables as SAM deploys them: Globals merged with its own."""
    shared = template["Globals"]["Function"]["Environment"]["Variables"]
    own = function(template, handler)["Properties"].get("Environment", {}).get("Variables", {})
    return {**shared, **own}


SESSION_CLIENT = "session-client-id"
PARAMETERS: dict[str, Any] = {"CognitoAppClientIds": ["web-1", "web-2"], "SessionServiceClient": SESSION_CLIENT}


def evaluate(node: Any, conditions: dict[str, bool]) -> Any:
    """The value of the intrinsic functions the audience uses, for given conditions and parameters."""
    if not isinstance(node, dict):
        return [evaluate(item, conditions) for item in node] if isinstance(node, list) else node
    ((function, argument),) = node.items()
    if function == "Ref":
        return PARAMETERS[argument]
    if function == "Fn::If":
        condition, when_true, when_false = argument
        return evaluate(when_true if conditions[condition] else when_false, conditions)
    if function == "Fn::Join":
        return argument[0].join(evaluate(argument[1], conditions))
    if function == "Fn::Split":
        return evaluate(argument[1], conditions).split(argument[0])
    if function == "Fn::Sub":
        text, variables = argument
        values = {name: evaluate(value, conditions) for name, value in variables.items()}
        return re.sub(r"\$\{([^}]+)\}", lambda m: values.get(m[1]) or PARAMETERS[m[1]], text)
    raise AssertionError(f"unexpected {function}")


# --- cfn-lint -------------------------------------------------------------------------------------------


def test_cfn_lint_finds_nothing() -> None:
    # Informational checks included: no finding of any level is accepted. A new cfn-lint rule that
    # fires should be read and either fixed in the template or ignored here by id, with the reason.
    matches = lint_file(TEMPLATE, config=ManualArgs(include_checks=["I"]))
    assert [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in matches] == []


def test_cfn_lint_reports_an_invalid_template(tmp_path: Path) -> None:
    # Proves the lint above really validates the file (a wrong call would lint nothing and pass).
    broken = tmp_path / "template.yaml"
    broken.write_text(TEMPLATE.read_text().replace("PAY_PER_REQUEST", "PAY_PER_SECOND"))
    assert "E3030" in {m.rule.id for m in lint_file(broken)}


# --- The table ------------------------------------------------------------------------------------------


def test_table_indexes_are_exactly_the_expected_keys_and_projections(template: dict[str, Any]) -> None:
    found = {}
    for index in table(template)["Properties"]["GlobalSecondaryIndexes"]:
        keys = {key["KeyType"]: key["AttributeName"] for key in index["KeySchema"]}
        found[index["IndexName"]] = (keys["HASH"], keys.get("RANGE"), index["Projection"]["ProjectionType"])
    assert found == EXPECTED_INDEXES


def test_table_has_every_index_that_provision_creates(template: dict[str, Any]) -> None:
    # `provision` adds these to an existing table; a new table from the template must have the same.
    in_template = {index["IndexName"]: index for index in table(template)["Properties"]["GlobalSecondaryIndexes"]}
    for index in required_indexes("entityType-index"):
        assert index["IndexName"] in in_template
        assert in_template[index["IndexName"]]["KeySchema"] == index["KeySchema"]
        assert in_template[index["IndexName"]]["Projection"] == index["Projection"]


def test_table_key_attributes_are_strings(template: dict[str, Any]) -> None:
    properties = table(template)["Properties"]
    assert properties["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    key_attributes = {"pk", "sk"} | {key[0] for key in EXPECTED_INDEXES.values()} | {"createdAt", "endsAt"}
    assert {d["AttributeName"]: d["AttributeType"] for d in properties["AttributeDefinitions"]} == dict.fromkeys(
        key_attributes, "S"
    )


def test_table_has_point_in_time_recovery_and_expiry_on_the_service_attribute(template: dict[str, Any]) -> None:
    properties = table(template)["Properties"]
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["TimeToLiveSpecification"] == {"AttributeName": EXPIRY_ATTRIBUTE, "Enabled": True}
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert properties["BillingMode"] == "PAY_PER_REQUEST"


def test_table_streams_each_change_with_both_images_as_provision_enables_it(template: dict[str, Any]) -> None:
    assert table(template)["Properties"]["StreamSpecification"] == {"StreamViewType": STREAM_SPECIFICATION[
        "StreamViewType"]}


def test_the_feed_policy_is_offered_for_the_containers_task_role(template: dict[str, Any]) -> None:
    assert template["Resources"]["LiveUpdatesFeedPolicy"]["Type"] == "AWS::IAM::ManagedPolicy"
    assert template["Outputs"]["LiveUpdatesFeedPolicyArn"]["Value"] == {"Ref": "LiveUpdatesFeedPolicy"}
    attached = [name for name, body in template["Resources"].items() if body["Type"] == "AWS::IAM::Role"
                and {"Ref": "LiveUpdatesFeedPolicy"} in body["Properties"].get("ManagedPolicyArns", [])]
    assert attached == []  # the functions have no subscriptions: only the container reads the stream


def test_table_is_retained_and_made_only_when_no_existing_table_is_used(template: dict[str, Any]) -> None:
    body = table(template)
    assert (body["DeletionPolicy"], body["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert template["Conditions"][body["Condition"]] == {"Fn::Equals": [{"Ref": "UseExistingTable"}, "false"]}
    # With an existing table the functions use its name, and their policies name it the same way.
    assert environment(template, "server.handler")["CHANNELS_TABLE"] == {
        "Fn::If": [body["Condition"], {"Ref": "ChannelsTable"}, {"Ref": "TableName"}]
    }
    assert body["Properties"]["TableName"] == {"Ref": "TableName"}


# --- IAM ------------------------------------------------------------------------------------------------


def assert_table_reads_named_and_index_queries_named(statements: list[dict[str, Any]]) -> None:
    """Index queries in statements of their own, on named indexes (never `index/*`, never the platform's
    entityType-index); every other DynamoDB action on the table, and every item read or table Query
    limited to the service's partition keys (a bare Query there would read any partition of the
    platform's table)."""
    for statement in statements:
        if not actions([statement], "dynamodb"):
            continue
        resources_ = as_list(statement["Resource"])
        if any("/index/" in resource["Fn::Sub"] for resource in resources_):
            assert as_list(statement["Action"]) == ["dynamodb:Query"], statement
            for resource in resources_:
                assert resource["Fn::Sub"].startswith(INDEX_ARN.removesuffix("*")), resource
                assert not resource["Fn::Sub"].endswith("/index/*"), resource
                assert "entityType-index" not in resource["Fn::Sub"], resource
            continue
        assert resources_ == [{"Fn::Sub": TABLE_ARN}], statement
        if set(as_list(statement["Action"])) & {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}:
            assert statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"], statement


@pytest.mark.parametrize("handler", ["server.handler", "server.events_handler", "server.live_check_handler"])
def test_function_roles_have_no_wildcard_action_and_no_bare_wildcard_resource(
    template: dict[str, Any], handler: str
) -> None:
    # "*" only for actions that IAM cannot scope to a resource (X-Ray's), per cfn-lint's IAM data.
    service_map = load_resource(AdditionalSpecs, "Policies.json")
    for statement in function_statements(template, handler):
        assert statement["Effect"] == "Allow"
        assert not [action for action in as_list(statement["Action"]) if "*" in action], statement
        if "*" in as_list(statement["Resource"]):
            for action in as_list(statement["Action"]):
                service, name = action.split(":")
                assert "Resources" not in service_map[service]["Actions"][name.lower()], statement


@pytest.mark.parametrize("handler", ["server.handler", "server.events_handler", "server.live_check_handler"])
def test_function_roles_have_inline_policies_only(template: dict[str, Any], handler: str) -> None:
    role_name = function(template, handler)["Properties"]["Role"]["Fn::GetAtt"][0]
    assert "ManagedPolicyArns" not in template["Resources"][role_name]["Properties"]
    assert "Policies" not in function(template, handler)["Properties"]  # SAM would ignore them beside a Role


@pytest.mark.parametrize("handler", ["server.handler", "server.events_handler", "server.live_check_handler"])
def test_function_role_actions_exist_in_iam(template: dict[str, Any], handler: str) -> None:
    # cfn-lint skips its IAM action check (W3037) on SAM templates: check against its IAM data here.
    service_map = load_resource(AdditionalSpecs, "Policies.json")
    for statement in function_statements(template, handler):
        for action in as_list(statement["Action"]):
            service, name = action.split(":")
            assert name.lower() in service_map[service]["Actions"], action


def test_api_function_dynamodb_actions_are_exactly_those_used_on_the_table_and_indexes(
    template: dict[str, Any],
) -> None:
    statements = function_statements(template, "server.handler")
    assert actions(statements, "dynamodb") == API_DYNAMODB_ACTIONS
    assert_table_reads_named_and_index_queries_named(statements)


def test_api_function_ivs_actions_are_scoped_to_the_services_tagged_channels(template: dict[str, Any]) -> None:
    statements = {s["Sid"]: s for s in function_statements(template, "server.handler") if actions([s], "ivs")}
    assert actions(list(statements.values()), "ivs") == {
        "ivs:CreateChannel", "ivs:DeleteChannel", "ivs:TagResource",
        # Live streams (CONTRACT.md section 7); no ListStreams, no GetStreamKey (reconcile's only)
        "ivs:GetStream", "ivs:StopStream", "ivs:CreateStreamKey", "ivs:DeleteStreamKey", "ivs:ListStreamKeys",
    }
    prefix = "arn:${AWS::Partition}:ivs:${AWS::Region}:${AWS::AccountId}:"
    tag = "shelcaster:managedBy"
    for created in ("IvsCreateOwnChannels", "IvsTagOwnChannelsAtCreation"):
        assert statements[created]["Condition"] == {"StringEquals": {f"aws:RequestTag/{tag}": "shelcaster-channels"}}
    assert statements["IvsTagOwnChannelsAtCreation"]["Resource"] == {"Fn::Sub": prefix + "channel/*"}
    assert statements["IvsOwnChannels"]["Resource"] == {"Fn::Sub": prefix + "channel/*"}
    assert statements["IvsOwnChannels"]["Condition"] == {
        "StringEquals": {f"aws:ResourceTag/{tag}": "shelcaster-channels"}}
    # Stream keys carry no tag: this statement alone is on stream keys, none on channels.
    assert statements["IvsStreamKeys"]["Resource"] == {"Fn::Sub": prefix + "stream-key/*"}
    assert "Condition" not in statements["IvsStreamKeys"]


def test_the_tag_the_api_role_tests_is_the_one_the_service_sets() -> None:
    from services.channels import SERVICE_TAG

    assert SERVICE_TAG == "shelcaster:managedBy"


def test_api_function_uses_the_stream_key_key_only_for_data_keys_with_the_service_context(
    template: dict[str, Any],
) -> None:
    # Without ExistingKmsKeyArns: the stack's key only (see test_template_hardening for earlier keys).
    (statement,) = [s for s in function_statements(template, "server.handler", {"HasExistingKmsKeys": False})
                    if actions([s], "kms")]
    assert set(as_list(statement["Action"])) == {"kms:GenerateDataKey", "kms:Decrypt"}
    assert statement["Resource"] == {"Fn::GetAtt": ["StreamKeyEncryptionKey", "Arn"]}
    assert statement["Condition"]["StringEquals"] == {
        "kms:EncryptionContext:service": "shelcaster-channels",
        "kms:EncryptionContext:purpose": "stream-keys",
    }


def test_events_function_reads_and_stops_streams_only_and_has_no_encryption(template: dict[str, Any]) -> None:
    # A Stream Start opens a session only while IVS streams it; a stream on an OFFLINE channel is
    # stopped (docs/broadcasts.md). No stream keys.
    statements = function_statements(template, "server.events_handler")
    assert actions(statements, "ivs") == {"ivs:GetStream", "ivs:StopStream"}
    assert "kms:Encrypt" not in actions(statements, "kms")
    assert "kms:GenerateDataKey" not in actions(statements, "kms")


def test_events_function_dynamodb_actions_are_exactly_those_it_needs(template: dict[str, Any]) -> None:
    statements = function_statements(template, "server.events_handler")
    assert actions(statements, "dynamodb") == EVENTS_DYNAMODB_ACTIONS
    assert_table_reads_named_and_index_queries_named(statements)


def test_stream_key_key_rotates_and_only_the_account_administers_it(template: dict[str, Any]) -> None:
    (key,) = resources(template, "AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True
    principals = [s["Principal"] for s in key["Properties"]["KeyPolicy"]["Statement"]]
    assert principals == [{"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}]


# --- The HTTP API ---------------------------------------------------------------------------------------


def test_http_api_default_authorizer_is_the_cognito_pool_jwt(template: dict[str, Any]) -> None:
    (api,) = resources(template, "AWS::Serverless::HttpApi").values()
    auth = api["Properties"]["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
    assert authorizer["IdentitySource"] == "$request.header.Authorization"
    assert authorizer["JwtConfiguration"]["issuer"] == ISSUER
    # The service checks the same issuer and audience itself.
    variables = environment(template, "server.handler")
    assert variables["CHANNELS_AUTH_ISSUER"] == ISSUER


@pytest.mark.parametrize(
    ("in_stack", "expected"), [(True, ["web-1", "web-2", SESSION_CLIENT]), (False, ["web-1", "web-2"])]
)
def test_authorizer_and_service_accept_the_app_clients_and_the_session_service_made_here(
    template: dict[str, Any], in_stack: bool, expected: list[str]
) -> None:
    (api,) = resources(template, "AWS::Serverless::HttpApi").values()
    auth = api["Properties"]["Auth"]
    audience = auth["Authorizers"][auth["DefaultAuthorizer"]]["JwtConfiguration"]["audience"]
    conditions = {"SessionServiceClientInStack": in_stack}
    assert evaluate(audience, conditions) == expected
    variable = environment(template, "server.handler")["CHANNELS_AUTH_AUDIENCE"]
    assert evaluate(variable, conditions) == ",".join(expected)


def test_the_session_service_client_uses_the_client_credentials_flow_with_the_sessions_scope_only(
    template: dict[str, Any],
) -> None:
    (client_name, client), = resources(template, "AWS::Cognito::UserPoolClient").items()
    (server_name, server), = resources(template, "AWS::Cognito::UserPoolResourceServer").items()
    assert client["Condition"] == server["Condition"] == "SessionServiceClientInStack"
    assert template["Conditions"]["SessionServiceClientInStack"] == {
        "Fn::Equals": [{"Ref": "CreateSessionServiceClient"}, "true"]
    }
    # On the pool the stack is given, named as the service reads scopes (CHANNELS_AUTH_SCOPE_PREFIX).
    assert server["Properties"]["UserPoolId"] == client["Properties"]["UserPoolId"] == {"Ref": "CognitoUserPoolId"}
    # The given prefix, else the stack's name (tests/deploy/test_template_drift.py resolves both).
    identifier = {"Fn::If": ["ScopePrefixGiven", {"Ref": "ScopePrefix"}, {"Ref": "AWS::StackName"}]}
    assert server["Properties"]["Identifier"] == identifier
    assert environment(template, "server.handler")["CHANNELS_AUTH_SCOPE_PREFIX"] == identifier
    assert {scope["ScopeName"] for scope in server["Properties"]["Scopes"]} == {"sessions", "admin"}
    properties = client["Properties"]
    assert (properties["GenerateSecret"], properties["AllowedOAuthFlowsUserPoolClient"]) == (True, True)
    assert properties["AllowedOAuthFlows"] == ["client_credentials"]
    assert properties["AllowedOAuthScopes"] == [{"Fn::Sub": ["${Identifier}/sessions", {"Identifier": identifier}]}]
    assert properties["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"]  # no user sign-in through it
    assert client["DependsOn"] == server_name
    assert template["Outputs"]["SessionServiceClientId"]["Value"] == {"Ref": client_name}
    assert template["Outputs"]["SessionServiceClientId"]["Condition"] == "SessionServiceClientInStack"


def test_the_scope_prefix_parameter_allows_what_cognito_allows_in_an_identifier(template: dict[str, Any]) -> None:
    pattern = re.compile(template["Parameters"]["ScopePrefix"]["AllowedPattern"])
    for accepted in ("shelcaster-channels", "https://channels.example.com", "a", ""):  # "": the stack's name
        assert pattern.fullmatch(accepted)
    for refused in ("with space", 'quote"', "back\\slash", "x" * 257):
        assert not pattern.fullmatch(refused)



def test_graphql_is_behind_the_authorizer_and_only_health_and_preflight_are_open(template: dict[str, Any]) -> None:
    found = routes(template)
    assert "Auth" not in found[("ANY", "/graphql")]  # the default authorizer applies
    open_routes = {route for route, properties in found.items()
                   if properties.get("Auth", {}).get("Authorizer") == "NONE"}
    # Browsers' CORS preflights carry no token; the app's allow-list answers them.
    assert open_routes == {("GET", "/healthz"), ("GET", "/readyz"), ("OPTIONS", "/graphql")}


# --- Functions and their settings -----------------------------------------------------------------------


@pytest.mark.parametrize("handler", ["server.handler", "server.events_handler", "server.live_check_handler"])
def test_function_runs_the_repository_on_python_312_arm64(template: dict[str, Any], handler: str) -> None:
    properties = {**template["Globals"]["Function"], **function(template, handler)["Properties"]}
    assert (properties["Runtime"], properties["Architectures"], properties["CodeUri"]) == (
        "python3.12", ["arm64"], ".build/source/"
    )
    assert function(template, handler)["Metadata"] == {"BuildMethod": "makefile"}
    # `sam build` runs deploy/Makefile's target for the function.
    assert f"build-{logical_id(template, handler)}" in (ROOT / "deploy" / "Makefile").read_text()


@pytest.mark.parametrize(
    "handler",
    [
        "server.handler",
        "server.events_handler",
        "server.live_check_handler",
    ],
)
def test_function_handler_exists(handler: str) -> None:
    module, name = handler.rsplit(".", 1)
    assert callable(getattr(importlib.import_module(module), name, None))


@pytest.mark.parametrize("handler", ["server.handler", "server.events_handler", "server.live_check_handler"])
def test_function_environment_names_only_settings_the_service_reads(template: dict[str, Any], handler: str) -> None:
    # Settings ignore unknown CHANNELS_* variables, so a misspelt one would be silently dropped.
    read = {f"CHANNELS_{name.upper()}" for name, field in Settings.model_fields.items()
            if field.validation_alias is None}
    assert set(environment(template, handler)) - read == set()


def test_api_function_environment_configures_the_aws_backend(template: dict[str, Any]) -> None:
    variables = environment(template, "server.handler")
    assert (variables["CHANNELS_BACKEND"], variables["CHANNELS_ENV"]) == ("aws", "production")
    assert variables["CHANNELS_LIMIT"] == {"Ref": "ChannelLimit"}
    assert variables["CHANNELS_AUTH_ADMIN_GROUP"] == {"Ref": "AdminGroup"}
    assert variables["CHANNELS_RECORDING_CONFIGURATION_ARN"] == {"Fn::GetAtt": ["RecordingConfiguration", "Arn"]}
    assert variables["CHANNELS_KMS_KEY_ID"] == {"Fn::GetAtt": ["StreamKeyEncryptionKey", "Arn"]}


# --- IVS events and recordings --------------------------------------------------------------------------


def test_events_function_receives_ivs_state_changes_with_retries_and_a_dead_letter_queue(
    template: dict[str, Any],
) -> None:
    (event,) = function(template, "server.events_handler")["Properties"]["Events"].values()
    assert event["Type"] == "EventBridgeRule"
    properties = event["Properties"]
    assert properties["Pattern"] == {
        "source": ["aws.ivs"],
        "detail-type": ["IVS Stream State Change", "IVS Recording State Change"],
    }
    assert properties["RetryPolicy"]["MaximumRetryAttempts"] > 0
    queue = properties["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert template["Resources"][queue]["Type"] == "AWS::SQS::Queue"
    # The queue accepts the rule's dead letters: its policy names this rule.
    (policy,) = [p for p in resources(template, "AWS::SQS::QueuePolicy").values()
                 if p["Properties"]["Queues"] == [{"Ref": queue}]]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    source_arn = statement["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"]
    assert source_arn.endswith("rule/" + properties["RuleName"]["Fn::Sub"])


def test_recordings_go_to_a_private_encrypted_retained_bucket(template: dict[str, Any]) -> None:
    (configuration,) = resources(template, "AWS::IVS::RecordingConfiguration").values()
    bucket_name = configuration["Properties"]["DestinationConfiguration"]["S3"]["BucketName"]["Ref"]
    bucket = template["Resources"][bucket_name]
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert set(bucket["Properties"]["PublicAccessBlockConfiguration"].values()) == {True}
    (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}


def test_outputs_name_the_endpoint_table_key_and_recording_configuration(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert outputs["GraphQLUrl"]["Value"] == {"Fn::Sub": "${ChannelsHttpApi.ApiEndpoint}/graphql"}
    assert outputs["TableName"]["Value"] == environment(template, "server.handler")["CHANNELS_TABLE"]
    assert outputs["KmsKeyId"]["Value"] == {"Ref": "StreamKeyEncryptionKey"}
    assert outputs["RecordingConfigurationArn"]["Value"] == {"Fn::GetAtt": ["RecordingConfiguration", "Arn"]}


# --- The live-state check -------------------------------------------------------------------------------


def test_live_check_runs_every_minute_without_retries(template: dict[str, Any]) -> None:
    properties = function(template, "server.live_check_handler")["Properties"]
    (event,) = properties["Events"].values()
    assert event == {"Type": "Schedule", "Properties": {"Schedule": "rate(1 minute)",
                                                        "Description": "shelcaster-channels check-live"}}
    assert properties["Timeout"] < 60
    # No retries; the failure destination and the event age: tests/deploy/test_alarms.py.
    assert properties["EventInvokeConfig"]["MaximumRetryAttempts"] == 0


def test_live_check_may_list_and_stop_streams_and_write_channel_state_only(template: dict[str, Any]) -> None:
    statements = function_statements(template, "server.live_check_handler")
    assert actions(statements, "ivs") == {"ivs:ListStreams", "ivs:StopStream"}  # stops OFFLINE channels' streams
    assert actions(statements, "kms") == set()
    # BatchGetItem and DescribeTable: the LIVE listing's fallbacks while its index is misshapen or
    # rebuilt (data/listing_indexes.py); reads only.
    assert actions(statements, "dynamodb") == {
        "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:DescribeTable", "dynamodb:Query", "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    }
    # Index queries in a statement of their own; every other action on the table only.
    assert_table_reads_named_and_index_queries_named(statements)
