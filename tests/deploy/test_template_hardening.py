"""deploy/template.yaml holds what it promises on AWS (issue 14): logs reach CloudWatch at INFO, the
issuer is the pool's region, the shared table is writable only on the service's own partition keys,
the functions and the HTTP API are bounded, earlier KMS keys still open stream keys, recordings age
out, dead letters alarm, and every function is traced.

Each check iterates over every function and role of the template, so a function added later (a
scheduled check, ...) is held to the same rules without editing this file.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from app.settings import Settings
from data.table import WRITTEN_PARTITION_KEYS
from tests.deploy.test_template import (
    ISSUER,
    TABLE_ARN,
    TEMPLATE,
    actions,
    as_list,
    resources,
    role_statements,
)

ROOT = Path(__file__).resolve().parents[2]
# The service's own code (the packages pyproject.toml installs; not tests, not the benchmark): what
# runs, and so what writes.
CODE_PACKAGES = tuple(
    pattern.rstrip("*")
    for pattern in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
)
# Every action that writes an item, or checks one inside a transaction (authorised per item).
DYNAMODB_ITEM_WRITES = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
}


def _parsed() -> dict[str, Any]:
    parsed, problems = decode(str(TEMPLATE))
    assert not problems, [str(problem) for problem in problems]
    return parsed


_TEMPLATE = _parsed()
FUNCTIONS = sorted(resources(_TEMPLATE, "AWS::Serverless::Function"))
ROLES = sorted(resources(_TEMPLATE, "AWS::IAM::Role"))


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return _parsed()


def properties(template: dict[str, Any], name: str) -> dict[str, Any]:
    """A function's properties as SAM deploys them: Globals first, its own over them (environment
    variables merged one by one)."""
    shared, own = template["Globals"]["Function"], template["Resources"][name]["Properties"]
    variables = {**shared.get("Environment", {}).get("Variables", {}),
                 **own.get("Environment", {}).get("Variables", {})}
    return {**shared, **own, "Environment": {"Variables": variables}}


def parameter(template: dict[str, Any], value: Any) -> dict[str, Any]:
    assert set(value) == {"Ref"}, value
    return template["Parameters"][value["Ref"]]


def evaluate(value: Any, parameters: dict[str, str]) -> Any:
    """The few intrinsic functions the issuer uses, evaluated as CloudFormation would."""
    if isinstance(value, dict):
        ((name, argument),) = value.items()
        if name == "Ref":
            return parameters[argument]
        if name == "Fn::Split":
            return evaluate(argument[1], parameters).split(argument[0])
        if name == "Fn::Select":
            return evaluate(argument[1], parameters)[int(argument[0])]
        if name == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            values = parameters | {key: evaluate(item, parameters) for key, item in variables.items()}
            for key, item in values.items():
                text = text.replace("${" + key + "}", item)
            assert "${" not in text, text
            return text
        raise AssertionError(f"not evaluated here: {name}")
    return value


# --- Logs -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_logs_json_at_info_to_its_own_group_with_retention(template: dict[str, Any], name: str) -> None:
    logging = properties(template, name)["LoggingConfig"]
    # The level from a parameter (INFO unless changed), so that a deploy publishes it behind the alias.
    assert (logging["LogFormat"], logging["ApplicationLogLevel"]) == ("JSON", {"Ref": "ApplicationLogLevel"})
    assert template["Parameters"]["ApplicationLogLevel"]["Default"] == "INFO"
    group = template["Resources"][logging["LogGroup"]["Ref"]]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    # The role may write there (a role without it would log nothing).
    role = properties(template, name)["Role"]["Fn::GetAtt"][0]
    writes = [s for s in role_statements(template, role) if "logs:PutLogEvents" in as_list(s["Action"])]
    assert [s["Resource"] for s in writes] == [{"Fn::GetAtt": [logging["LogGroup"]["Ref"], "Arn"]}]


# --- The issuer ---------------------------------------------------------------------------------------------


def test_issuer_is_in_the_pool_region_not_the_stack_region(template: dict[str, Any]) -> None:
    (api,) = resources(template, "AWS::Serverless::HttpApi").values()
    authorizer = api["Properties"]["Auth"]["Authorizers"]["CognitoJwt"]["JwtConfiguration"]
    issuers = [authorizer["issuer"]] + [properties(template, name)["Environment"]["Variables"]["CHANNELS_AUTH_ISSUER"]
                                        for name in FUNCTIONS]
    stack = {"AWS::Region": "us-west-2", "CognitoUserPoolId": "eu-west-1_AbCdEf123"}
    for issuer in issuers:
        assert issuer == ISSUER
        assert evaluate(issuer, stack) == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
    # The pool id parameter only accepts ids with a region prefix, so the split always has one.
    assert template["Parameters"]["CognitoUserPoolId"]["AllowedPattern"] == "^[\\w-]+_[0-9a-zA-Z]+$"
    Settings(auth_issuer=evaluate(ISSUER, stack))


# --- The shared table: the service's own partition keys only --------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_table_write_is_limited_to_the_service_partition_keys(template: dict[str, Any], role: str) -> None:
    for statement in role_statements(template, role):
        if not actions([statement], "dynamodb") & DYNAMODB_ITEM_WRITES:
            continue
        assert statement["Effect"] == "Allow"
        assert as_list(statement["Resource"]) == [{"Fn::Sub": TABLE_ARN}], statement
        # ForAllValues: every leading key the request names must match one of the service's (each
        # function's exact list: tests/deploy/test_function_writes.py).
        assert list(statement["Condition"]) == ["ForAllValues:StringLike"], statement
        (condition,) = statement["Condition"]["ForAllValues:StringLike"].items()
        assert condition[0] == "dynamodb:LeadingKeys" and condition[1], statement
        assert set(condition[1]) <= set(WRITTEN_PARTITION_KEYS), statement


@pytest.mark.parametrize("role", ROLES)
def test_no_role_writes_the_table_in_bulk_or_through_partiql(template: dict[str, Any], role: str) -> None:
    # BatchWriteItem and PartiQL are unused; nothing grants them.
    granted = actions(role_statements(template, role), "dynamodb")
    assert granted & {"dynamodb:BatchWriteItem", "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate",
                      "dynamodb:PartiQLDelete"} == set()


def _module_strings(tree: ast.Module) -> dict[str, str]:
    names = {}
    for node in tree.body:
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            for target in targets:
                if isinstance(target, ast.Name):
                    names[target.id] = value.value
    return names


def code_files() -> list[Path]:
    return [path for package in CODE_PACKAGES for path in sorted((ROOT / package).rglob("*.py"))]


def _written_partition_keys(files: list[Path]) -> tuple[set[tuple[str, bool]], list[str]]:
    """Every partition key the code builds (a `"pk": ...` entry of a dict literal), as (text, whether
    an id follows it), and the places where a key is built in a way this scan cannot read (which fail
    the test: build keys from data/table.py's constants)."""
    trees = {path: ast.parse(path.read_text()) for path in files}
    constants: dict[str, str] = {}
    for tree in trees.values():
        constants.update(_module_strings(tree))

    def head(node: ast.expr) -> tuple[str, bool] | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value, False
        if isinstance(node, ast.Name) and node.id in constants:
            return constants[node.id], False
        if isinstance(node, ast.Dict):  # a typed value, {"S": ...}
            typed = [value for key, value in zip(node.keys, node.values)
                     if isinstance(key, ast.Constant) and key.value == "S"]
            return head(typed[0]) if typed else None
        if isinstance(node, ast.JoinedStr):
            text = ""
            for part in node.values:
                if isinstance(part, ast.Constant):
                    text += str(part.value)
                elif isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Name) \
                        and part.value.id in constants:
                    text += constants[part.value.id]
                else:
                    return text, True
            return text, False
        return None

    found: set[tuple[str, bool]] = set()
    unreadable: list[str] = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Dict):
                continue
            for key, value in zip(node.keys, node.values):
                if not (isinstance(key, ast.Constant) and key.value == "pk"):
                    continue
                if _copied(value):  # item["pk"]: the key of an item already read
                    continue
                derived = head(value)
                if derived is None or not derived[0]:
                    unreadable.append(f"{path}:{node.lineno}")
                else:
                    found.add(derived)
    return found, unreadable


def _copied(node: ast.expr | None) -> bool:
    if isinstance(node, ast.Dict):  # a typed value, {"S": ...}
        return any(_copied(value) for key, value in zip(node.keys, node.values)
                   if isinstance(key, ast.Constant) and key.value == "S")
    return isinstance(node, ast.Subscript)


def _covered(key: tuple[str, bool]) -> bool:
    text, open_ended = key
    if open_ended:  # an id follows: a prefix pattern must hold every such key
        return any(pattern.endswith("*") and text.startswith(pattern[:-1]) for pattern in WRITTEN_PARTITION_KEYS)
    return any(fnmatch.fnmatchcase(text, pattern) for pattern in WRITTEN_PARTITION_KEYS)


def test_every_partition_key_the_code_builds_is_one_the_roles_may_write() -> None:
    found, unreadable = _written_partition_keys(code_files())
    assert unreadable == [], "build partition keys from data/table.py's constants, so they can be checked"
    assert {key for key in found if not _covered(key)} == set(), "add the prefix to data/table.py WRITTEN_PARTITION_KEYS"
    # And nothing is granted that no code writes.
    unused = [pattern for pattern in WRITTEN_PARTITION_KEYS
              if not any(_covered(key) and fnmatch.fnmatchcase(key[0] + ("x" if key[1] else ""), pattern)
                         for key in found)]
    assert unused == []


def test_the_partition_key_scan_sees_a_new_record_kind(tmp_path: Path) -> None:
    # Proves the scan above reads the code: a module writing a new prefix is found and is not covered,
    # and a key built from a variable is reported rather than skipped.
    module = tmp_path / "sessions.py"
    module.write_text(
        'SESSION_PK_PREFIX = "session#"\n'
        'def session_key(session_id):\n'
        '    return {"pk": f"{SESSION_PK_PREFIX}{session_id}", "sk": "info"}\n'
        'def anything(pk):\n'
        '    return {"pk": pk}\n'
    )
    found, unreadable = _written_partition_keys([*code_files(), module])
    assert ("channel#", True) in found and ("keyring#streamKeys", False) in found
    assert ("session#", True) in found and not _covered(("session#", True))
    assert unreadable == [f"{module}:5"]


def test_condition_checks_are_made_by_the_slot_store_only_and_granted_to_the_api_only(template: dict[str, Any]) -> None:
    # A booking checks its host's assignment in its transaction (docs/schedules.md): the API's writes.
    makers = sorted(str(path.relative_to(ROOT)) for path in code_files()
                    if "condition_check(" in path.read_text())
    assert makers == ["data/dynamo.py", "data/slots.py"]
    granted = {role: "dynamodb:ConditionCheckItem" in actions(role_statements(template, role), "dynamodb")
               for role in ROLES}
    assert {role for role, grants in granted.items() if grants} == {"ApiFunctionRole"}


# --- Bounds: concurrency, throttling, access log --------------------------------------------------------------


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_has_reserved_concurrency_from_a_parameter(template: dict[str, Any], name: str) -> None:
    declared = parameter(template, properties(template, name)["ReservedConcurrentExecutions"])
    assert declared["Type"] == "Number"
    assert declared["MinValue"] >= 1 and declared["Default"] >= declared["MinValue"]


def test_http_api_throttles_every_route_and_logs_every_request(template: dict[str, Any]) -> None:
    (api,) = resources(template, "AWS::Serverless::HttpApi").values()
    throttle = api["Properties"]["DefaultRouteSettings"]
    for limit in ("ThrottlingRateLimit", "ThrottlingBurstLimit"):
        declared = parameter(template, throttle[limit])
        assert declared["Type"] == "Number" and declared["MinValue"] >= 1
    access = api["Properties"]["AccessLogSettings"]
    group = template["Resources"][access["DestinationArn"]["Fn::GetAtt"][0]]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    fields = json.loads(access["Format"])  # one JSON document per line
    assert {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "authorizerError": "$context.authorizer.error",
        "integrationError": "$context.integrationErrorMessage",
    }.items() <= fields.items()


# --- Stream keys sealed under earlier KMS keys ---------------------------------------------------------------


def test_earlier_kms_keys_may_only_decrypt_with_the_service_context(template: dict[str, Any]) -> None:
    declared = template["Parameters"]["ExistingKmsKeyArns"]
    assert (declared["Type"], declared["Default"]) == ("CommaDelimitedList", "")
    assert template["Conditions"]["HasExistingKmsKeys"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "ExistingKmsKeyArns"}]}, ""]}]
    }
    for role in ROLES:
        with_keys = [s for s in role_statements(template, role, {"HasExistingKmsKeys": True})
                     if s["Resource"] == {"Ref": "ExistingKmsKeyArns"}]
        without = [s for s in role_statements(template, role, {"HasExistingKmsKeys": False})
                   if s["Resource"] == {"Ref": "ExistingKmsKeyArns"}]
        assert without == []  # an empty list parameter never reaches IAM
        for statement in with_keys:
            assert as_list(statement["Action"]) == ["kms:Decrypt"]
            assert statement["Condition"]["StringEquals"] == {
                "kms:EncryptionContext:service": "shelcaster-channels",
                "kms:EncryptionContext:purpose": "stream-keys",
            }
    # The API function (the one that opens stream keys) has it.
    api_role = template["Resources"]["ApiFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]
    assert [s["Sid"] for s in role_statements(template, api_role, {"HasExistingKmsKeys": True})
            if s["Resource"] == {"Ref": "ExistingKmsKeyArns"}] == ["StreamKeysSealedUnderEarlierKeys"]


# --- Recordings, dead letters, tracing ------------------------------------------------------------------------


def test_recordings_move_to_infrequent_access_expire_and_drop_unfinished_uploads(template: dict[str, Any]) -> None:
    (configuration,) = resources(template, "AWS::IVS::RecordingConfiguration").values()
    bucket = template["Resources"][configuration["Properties"]["DestinationConfiguration"]["S3"]["BucketName"]["Ref"]]
    rules = {rule["Id"]: rule for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert {rule["Status"] for rule in rules.values()} == {"Enabled"}
    (transition,) = rules["AgeRecordings"]["Transitions"]
    assert transition["StorageClass"] == "STANDARD_IA"
    assert min(parameter(template, transition["TransitionInDays"])["AllowedValues"]) == 30  # S3's minimum for Standard-IA
    assert rules["AgeRecordings"]["ExpirationInDays"] == {
        "Fn::If": ["ExpireRecordings", {"Ref": "RecordingsExpirationDays"}, {"Ref": "AWS::NoValue"}]
    }
    assert template["Conditions"]["ExpireRecordings"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "RecordingsExpirationDays"}, 0]}]
    }
    assert rules["AbortIncompleteUploads"]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] >= 1


def test_an_alarm_fires_on_any_message_in_the_dead_letter_queue(template: dict[str, Any]) -> None:
    queues = set(resources(template, "AWS::SQS::Queue"))
    alarms = [a["Properties"] for a in resources(template, "AWS::CloudWatch::Alarm").values()
              if a["Properties"].get("Namespace") == "AWS/SQS"]
    watched = set()
    for alarm in alarms:
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        ((dimension),) = alarm["Dimensions"]
        assert dimension["Name"] == "QueueName"
        queue, attribute = dimension["Value"]["Fn::GetAtt"]
        assert attribute == "QueueName"
        watched.add(queue)
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
        assert alarm["TreatMissingData"] == "notBreaching"
        # The operator's topic, else the stack's own (tests/deploy/test_alarms.py resolves both).
        topic = {"Fn::If": ["HasAlarmTopic", {"Ref": "AlarmTopicArn"}, {"Ref": "AlarmTopic"}]}
        assert alarm["AlarmActions"] == alarm["OKActions"] == [topic]
    assert watched == queues


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_is_traced_and_may_send_its_traces(template: dict[str, Any], name: str) -> None:
    assert properties(template, name)["Tracing"] == "Active"
    role = properties(template, name)["Role"]["Fn::GetAtt"][0]
    assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} <= actions(role_statements(template, role), "xray")


def test_earlier_kms_key_values_must_be_key_arns(template: dict[str, Any]) -> None:
    pattern = template["Parameters"]["ExistingKmsKeyArns"]["AllowedPattern"]
    assert re.fullmatch(pattern, "")  # the default, an empty list
    assert re.fullmatch(pattern, "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    for wrong in ("alias/old-key", "1234abcd-12ab-34cd-56ef-1234567890ab", "arn:aws:kms:us-east-1:123456789012:alias/x"):
        assert not re.fullmatch(pattern, wrong)
