"""What deploy/template.yaml refuses before S3 or Cognito would, what the recordings bucket keeps, and the
documentation saying what the template does (counted where it counts)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from app.settings import Settings
from tests.deploy.iam_policy import Stack
from tests.deploy.test_template import TEMPLATE

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_README = ROOT / "deploy" / "README.md"
README = ROOT / "README.md"
REQUIRED = {"CognitoUserPoolId": "us-east-1_Pool1", "CognitoAppClientIds": ["web"]}
NUMBERS = {"four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    parsed, problems = decode(str(TEMPLATE))
    assert not problems
    return parsed


def _rule_holds(template: dict[str, Any], name: str, parameters: dict[str, Any]) -> bool:
    rule = template["Rules"][name]
    stack = Stack(template, parameters=REQUIRED | parameters)
    if "RuleCondition" in rule and not stack.resolve(rule["RuleCondition"]):
        return True
    return all(stack.resolve(assertion["Assert"]) for assertion in rule["Assertions"])


def _allowed(template: dict[str, Any], name: str) -> list[int]:
    return [int(value) for value in template["Parameters"][name]["AllowedValues"]]


def test_the_lifecycle_rule_accepts_exactly_an_expiration_after_the_transition_or_none(template: dict[str, Any]) -> None:
    # Every combination the parameters allow: refused exactly where S3 would refuse the bucket.
    for transition in _allowed(template, "RecordingsTransitionDays"):
        for expiration in _allowed(template, "RecordingsExpirationDays"):
            accepted = _rule_holds(template, "RecordingsExpireAfterTheyMove", {
                "RecordingsTransitionDays": str(transition), "RecordingsExpirationDays": str(expiration)})
            assert accepted is (expiration == 0 or expiration > transition), (transition, expiration)


def test_the_lifecycle_rule_refuses_expiring_recordings_the_day_they_move(template: dict[str, Any]) -> None:
    assert not _rule_holds(template, "RecordingsExpireAfterTheyMove",
                           {"RecordingsTransitionDays": "90", "RecordingsExpirationDays": "90"})


def test_the_lifecycle_defaults_pass_their_own_rule(template: dict[str, Any]) -> None:
    assert _rule_holds(template, "RecordingsExpireAfterTheyMove", {})


def test_recordings_are_versioned_and_older_versions_expire(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["RecordingsBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["DropOlderVersions"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert rules["DropOlderVersions"]["ExpiredObjectDeleteMarker"] is True


def test_recordings_access_is_logged_to_a_private_bucket_s3_logging_may_write(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    logging = resources["RecordingsBucket"]["Properties"]["LoggingConfiguration"]
    assert logging == {"DestinationBucketName": {"Ref": "RecordingsAccessLogBucket"}, "LogFilePrefix": "recordings/"}
    assert resources["RecordingsBucket"]["DependsOn"] == "RecordingsAccessLogBucketPolicy"
    logs = resources["RecordingsAccessLogBucket"]["Properties"]
    assert logs["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"], True)
    assert logs["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == {"Ref": "LogRetentionDays"}
    statements = {s["Sid"]: s for s in resources["RecordingsAccessLogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]}
    grant = statements["S3ServerAccessLogsOfThisAccount"]
    assert (grant["Principal"], grant["Action"]) == ({"Service": "logging.s3.amazonaws.com"}, "s3:PutObject")
    assert grant["Resource"] == {"Fn::Sub": "${RecordingsAccessLogBucket.Arn}/recordings/*"}
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"


def _identifier(template: dict[str, Any], stack_name: str, prefix: str = "") -> str:
    stack = Stack(template, parameters=REQUIRED | {"ScopePrefix": prefix}, name=stack_name)
    return str(stack.resolve(template["Resources"]["ChannelsResourceServer"]["Properties"]["Identifier"]))


def test_two_stacks_on_one_user_pool_get_their_own_resource_server(template: dict[str, Any]) -> None:
    assert _identifier(template, "channels-prod") != _identifier(template, "channels-staging")


def test_the_documented_stack_gets_the_services_default_scope_prefix(template: dict[str, Any]) -> None:
    (name,) = set(re.findall(r"--stack-name (\S+)", DEPLOY_README.read_text()))
    assert _identifier(template, name) == Settings.model_fields["auth_scope_prefix"].default


def test_a_given_scope_prefix_is_the_identifier_the_service_and_the_client_use(template: dict[str, Any]) -> None:
    stack = Stack(template, parameters=REQUIRED | {"ScopePrefix": "https://channels.example.com"})
    resources = template["Resources"]
    assert _identifier(template, "any", "https://channels.example.com") == "https://channels.example.com"
    assert stack.resolve(template["Globals"]["Function"]["Environment"]["Variables"]["CHANNELS_AUTH_SCOPE_PREFIX"]) == \
        "https://channels.example.com"
    assert stack.resolve(resources["SessionServiceClient"]["Properties"]["AllowedOAuthScopes"]) == [
        "https://channels.example.com/sessions"]


# --- The documentation says what the template does --------------------------------------------------------------


def test_deploy_readme_counts_the_tables_indexes(template: dict[str, Any]) -> None:
    indexes = template["Resources"]["ChannelsTable"]["Properties"]["GlobalSecondaryIndexes"]
    (said,) = re.findall(r"with its (\w+) indexes", DEPLOY_README.read_text())
    assert NUMBERS[said] == len(indexes)


def test_deploy_readme_lists_every_index_provision_adds() -> None:
    from data.provisioning import required_indexes

    section = re.search(r"^## Use the existing .*?(?=^## )", DEPLOY_README.read_text(), re.MULTILINE | re.DOTALL)
    assert section
    added = {index["IndexName"] for index in required_indexes("entityType-index")} - {"entityType-index"}
    (said,) = re.findall(r"adds the (\w+) indexes", section[0])
    assert NUMBERS[said] == len(added)
    assert all(f"`{name}`" in section[0] for name in added)


def test_deploy_readme_names_every_function_and_role(template: dict[str, Any]) -> None:
    text = DEPLOY_README.read_text()
    for name, body in template["Resources"].items():
        if body["Type"] in ("AWS::Serverless::Function", "AWS::IAM::Role"):
            assert f"`{name}`" in text, name


def test_no_readme_says_queries_go_to_the_indexes_only() -> None:
    # Channel.sessions and recording events Query the table itself (data/sessions.py).
    for path in (README, DEPLOY_README, *sorted((ROOT / "docs").glob("*.md"))):
        assert "Query` on its indexes only" not in path.read_text(), path


def test_the_log_level_procedure_changes_the_parameter_not_the_console() -> None:
    section = re.search(r"^## Log level\n(.*?)(?=^## |\Z)", DEPLOY_README.read_text(), re.MULTILINE | re.DOTALL)
    assert section, "deploy/README.md has no section '## Log level'"
    assert "ApplicationLogLevel=" in section[1] and "sam deploy" in section[1]
