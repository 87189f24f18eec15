"""deploy/template.yaml's alarms reach someone: each watches what it says, on the resource it names, and
notifies the one alarm topic (the operator's, else the stack's) on ALARM and OK; a production stack
without a recipient is refused; the dashboard shows the alarms and their metrics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cfnlint.decode import decode

from tests.deploy.iam_policy import Stack
from tests.deploy.test_template import TEMPLATE

STACK_TOPIC = "arn:aws:sns:us-east-1:123456789012:AlarmTopic"
OPERATORS_TOPIC = "arn:aws:sns:us-east-1:123456789012:ops-pager"
REQUIRED = {"CognitoUserPoolId": "us-east-1_Pool1", "CognitoAppClientIds": ["web"]}
# Alarm -> (namespace, metric, the resource its dimension names) for single-metric alarms.
SINGLE_METRIC = {
    "ApiLatencyAlarm": ("AWS/ApiGateway", "Latency", "ChannelsHttpApi"),
    **{f"{function}{metric}Alarm": ("AWS/Lambda", metric, function)
       for function in ("ApiFunction", "EventsFunction", "LiveCheckFunction") for metric in ("Errors", "Throttles")},
    "EventsDeadLetterAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "EventsDeadLetterQueue"),
    "LiveCheckFailuresAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "LiveCheckFailuresQueue"),
}
MATH = {"ApiErrorRateAlarm", "TableThrottlesAlarm"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    parsed, problems = decode(str(TEMPLATE))
    assert not problems
    return parsed


def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: body["Properties"] for name, body in template["Resources"].items()
            if body["Type"] == "AWS::CloudWatch::Alarm"}


def test_the_template_has_exactly_the_alarms_the_issue_lists(template: dict[str, Any]) -> None:
    assert set(alarms(template)) == set(SINGLE_METRIC) | MATH


@pytest.mark.parametrize("name", sorted(SINGLE_METRIC))
def test_alarm_watches_its_metric_on_its_own_resource(template: dict[str, Any], name: str) -> None:
    namespace, metric, resource = SINGLE_METRIC[name]
    alarm = alarms(template)[name]
    assert (alarm["Namespace"], alarm["MetricName"]) == (namespace, metric)
    first = alarm["Dimensions"][0]["Value"]
    assert first in ({"Ref": resource}, {"Fn::GetAtt": [resource, "QueueName"]})
    assert alarm["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize("name", sorted(SINGLE_METRIC) + sorted(MATH))
@pytest.mark.parametrize(("given", "notified"), [({}, STACK_TOPIC), ({"AlarmTopicArn": OPERATORS_TOPIC}, OPERATORS_TOPIC)])
def test_alarm_notifies_the_alarm_topic_on_alarm_and_ok(
    template: dict[str, Any], name: str, given: dict[str, str], notified: str
) -> None:
    resolved = Stack(template, parameters=REQUIRED | given).resolve(alarms(template)[name])
    assert (resolved["AlarmActions"], resolved["OKActions"]) == ([notified], [notified])


def test_the_stack_makes_its_topic_only_without_the_operators(template: dict[str, Any]) -> None:
    topic = template["Resources"]["AlarmTopic"]
    assert topic["Condition"] == "CreateAlarmTopic"
    assert Stack(template, parameters=REQUIRED).condition("CreateAlarmTopic")
    assert not Stack(template, parameters=REQUIRED | {"AlarmTopicArn": OPERATORS_TOPIC}).condition("CreateAlarmTopic")


def test_alarm_email_subscribes_to_the_stacks_topic(template: dict[str, Any]) -> None:
    stack = Stack(template, parameters=REQUIRED | {"AlarmEmail": "ops@example.com"})
    properties = stack.resolve(template["Resources"]["AlarmTopic"]["Properties"])
    assert properties["Subscription"] == [{"Protocol": "email", "Endpoint": "ops@example.com"}]


def test_cloudwatch_may_publish_to_the_stacks_topic_for_this_account_only(template: dict[str, Any]) -> None:
    (statement,) = template["Resources"]["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def _rule_holds(template: dict[str, Any], name: str, parameters: dict[str, Any]) -> bool:
    rule = template["Rules"][name]
    stack = Stack(template, parameters=REQUIRED | parameters)
    if "RuleCondition" in rule and not stack.resolve(rule["RuleCondition"]):
        return True
    return all(stack.resolve(assertion["Assert"]) for assertion in rule["Assertions"])


@pytest.mark.parametrize(("parameters", "accepted"), [
    ({"Stage": "prod"}, False),
    ({"Stage": "prod", "AlarmEmail": "ops@example.com"}, True),
    ({"Stage": "prod", "AlarmTopicArn": OPERATORS_TOPIC}, True),
    ({"Stage": "staging"}, True),
])
def test_a_production_stack_needs_a_recipient_for_its_alarms(
    template: dict[str, Any], parameters: dict[str, str], accepted: bool
) -> None:
    assert _rule_holds(template, "ProductionAlarmsReachSomeone", parameters) is accepted


def test_the_api_error_alarm_is_the_share_of_requests_answered_5xx(template: dict[str, Any]) -> None:
    alarm = alarms(template)["ApiErrorRateAlarm"]
    metrics = {metric["Id"]: metric for metric in alarm["Metrics"]}
    assert metrics["errors"]["MetricStat"]["Metric"]["MetricName"] == "5xx"
    assert metrics["requests"]["MetricStat"]["Metric"]["MetricName"] == "Count"
    assert metrics["rate"]["Expression"] == "IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)"
    assert [m["Id"] for m in alarm["Metrics"] if m["ReturnData"]] == ["rate"]
    assert alarm["Threshold"] == {"Ref": "ApiErrorRatePercent"}


def test_the_latency_alarm_watches_the_95th_percentile(template: dict[str, Any]) -> None:
    alarm = alarms(template)["ApiLatencyAlarm"]
    assert (alarm["ExtendedStatistic"], alarm["Threshold"]) == ("p95", {"Ref": "ApiLatencyP95Milliseconds"})


def test_the_table_alarm_adds_read_and_write_throttles_of_the_stacks_table(template: dict[str, Any]) -> None:
    alarm = alarms(template)["TableThrottlesAlarm"]
    watched = {m["MetricStat"]["Metric"]["MetricName"]: m["MetricStat"]["Metric"]["Dimensions"]
               for m in alarm["Metrics"] if "MetricStat" in m}
    table = [{"Name": "TableName", "Value": {"Fn::If": ["CreateTable", {"Ref": "ChannelsTable"}, {"Ref": "TableName"}]}}]
    assert watched == {"ReadThrottleEvents": table, "WriteThrottleEvents": table}
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")


def test_a_failed_or_late_live_check_goes_to_its_failure_queue(template: dict[str, Any]) -> None:
    config = template["Resources"]["LiveCheckFunction"]["Properties"]["EventInvokeConfig"]
    assert config == {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60, "DestinationConfig": {
        "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["LiveCheckFailuresQueue", "Arn"]}}}}
    statements = Stack(template, parameters=REQUIRED).role_statements("LiveCheckFunctionRole")
    assert {"Sid": "FailedChecksToQueue", "Effect": "Allow", "Action": "sqs:SendMessage",
            "Resource": "arn:aws:sqs:us-east-1:123456789012:LiveCheckFailuresQueue"} in statements


def test_the_dashboard_shows_every_alarm_and_is_valid_json(template: dict[str, Any]) -> None:
    body = Stack(template, parameters=REQUIRED).resolve(
        template["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"])
    widgets = json.loads(body)["widgets"]
    (status,) = [widget for widget in widgets if widget["type"] == "alarm"]
    shown = {arn.rsplit(":", 1)[-1] for arn in status["properties"]["alarms"]}
    assert shown == set(alarms(template))


def test_the_http_api_reports_metrics_per_route(template: dict[str, Any]) -> None:
    settings = template["Resources"]["ChannelsHttpApi"]["Properties"]["DefaultRouteSettings"]
    assert settings["DetailedMetricsEnabled"] is True
