"""IAM's policy evaluation for one role, as far as deploy/template.yaml's policies need it.

An identity-based policy allows a request when some Allow statement matches it (action, resource and
every condition) and no Deny statement does (AWS IAM User Guide, "Policy evaluation logic"). What is
implemented is what the template uses, by AWS's documented rules:

- Action: case-insensitive, `*` any run of characters, `?` one ("IAM JSON policy elements: Action").
- Resource: ARN wildcards, case-sensitive, `*` and `?` within the whole ARN ("Resource").
- Condition: every operator block must hold and every key in it (AND); a key's several values are
  alternatives (OR); key names are case-insensitive. Single-valued operators on a key the request
  lacks are false, `...IfExists` true; `ForAllValues:` is true when each request value matches some
  policy value (so also for an absent or empty key), `ForAnyValue:` when at least one does
  ("Condition operators", "Multivalued context keys").

The template's intrinsic functions are resolved for one fixed stack (`Stack`): parameters, pseudo
parameters, the physical names and ARNs its resources would have.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any

NO_VALUE = object()


@dataclass(frozen=True)
class IamRequest:
    """One authorisation IAM makes: an action on a resource, with the request's context keys.

    Context values are strings (single-valued keys) or tuples (multivalued ones such as
    `dynamodb:LeadingKeys` or `aws:TagKeys`)."""

    action: str
    resource: str
    context: dict[str, str | tuple[str, ...]] = field(default_factory=dict)

    def describe(self) -> str:
        keys = ", ".join(f"{name}={value!r}" for name, value in sorted(self.context.items()))
        return f"{self.action} on {self.resource}" + (f" [{keys}]" if keys else "")


# --- Matching -----------------------------------------------------------------------------------------


def _wildcard(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    """IAM's wildcards: `*` any characters (a colon or a slash included), `?` exactly one."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE | re.DOTALL) is not None


def action_matches(pattern: str, action: str) -> bool:
    return _wildcard(pattern, action, case_sensitive=False)


def resource_matches(pattern: str, resource: str) -> bool:
    return _wildcard(pattern, resource, case_sensitive=True)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _string_test(operator: str) -> Any:
    """The comparison of one request value with one policy value, for a base operator."""
    tests = {
        "StringEquals": lambda have, want: have == want,
        "StringEqualsIgnoreCase": lambda have, want: have.lower() == want.lower(),
        "StringLike": lambda have, want: fnmatch.fnmatchcase(have, want.replace("[", "[[]")),
        "ArnEquals": lambda have, want: have == want,
        "ArnLike": lambda have, want: resource_matches(want, have),
        "Bool": lambda have, want: have.lower() == str(want).lower(),
    }
    negated = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals",
               "ArnNotLike": "ArnLike", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase"}
    if operator in tests:
        return tests[operator], False
    if operator in negated:
        return tests[negated[operator]], True
    raise NotImplementedError(f"condition operator {operator} is not evaluated here: add it with its AWS rule")


def _condition_holds(operator: str, key: str, wanted: Any, context: dict[str, Any]) -> bool:
    found = {name.lower(): value for name, value in context.items()}.get(key.lower())
    wanted_values = [str(value) if not isinstance(value, bool) else str(value).lower() for value in _as_list(wanted)]
    if operator == "Null":
        return (found is None) == (str(wanted_values[0]).lower() == "true")
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    compare, negated = _string_test(base)

    def one(value: str) -> bool:
        matched = any(compare(value, want) for want in wanted_values)
        return not matched if negated else matched

    values = list(found) if isinstance(found, (tuple, list)) else [] if found is None else [found]
    if qualifier == "ForAllValues":
        return all(one(value) for value in values)
    if qualifier == "ForAnyValue":
        return any(one(value) for value in values)
    if qualifier:
        raise NotImplementedError(f"set operator {qualifier} is not evaluated here")
    if found is None:
        return if_exists or negated  # a negated operator on an absent key is true
    if isinstance(found, tuple):
        raise ValueError(f"{key} is multivalued: a policy must test it with ForAllValues or ForAnyValue")
    return one(found)


def conditions_hold(condition: dict[str, dict[str, Any]] | None, context: dict[str, Any]) -> bool:
    return all(_condition_holds(operator, key, wanted, context)
               for operator, keys in (condition or {}).items() for key, wanted in keys.items())


def statement_matches(statement: dict[str, Any], request: IamRequest) -> bool:
    """Whether the statement applies to the request (its effect aside)."""
    if "Action" in statement:
        action_ok = any(action_matches(pattern, request.action) for pattern in _as_list(statement["Action"]))
    else:
        action_ok = not any(action_matches(pattern, request.action) for pattern in _as_list(statement["NotAction"]))
    if "Resource" in statement:
        resource_ok = any(resource_matches(pattern, request.resource) for pattern in _as_list(statement["Resource"]))
    else:
        resource_ok = not any(resource_matches(pattern, request.resource) for pattern in _as_list(statement["NotResource"]))
    return action_ok and resource_ok and conditions_hold(statement.get("Condition"), request.context)


def allowing_statements(statements: list[dict[str, Any]], request: IamRequest) -> list[dict[str, Any]]:
    """The Allow statements that allow the request; empty when it is refused (no Allow, or a Deny)."""
    if any(s["Effect"] == "Deny" and statement_matches(s, request) for s in statements):
        return []
    return [s for s in statements if s["Effect"] == "Allow" and statement_matches(s, request)]


# --- The template, for one stack ------------------------------------------------------------------------


_ARN_OF = {
    "AWS::Logs::LogGroup": "arn:{p}:logs:{r}:{a}:log-group:{name}:*",
    "AWS::SQS::Queue": "arn:{p}:sqs:{r}:{a}:{name}",
    "AWS::KMS::Key": "arn:{p}:kms:{r}:{a}:key/{name}",
    "AWS::DynamoDB::Table": "arn:{p}:dynamodb:{r}:{a}:table/{name}",
    "AWS::SNS::Topic": "arn:{p}:sns:{r}:{a}:{name}",
    "AWS::IVS::RecordingConfiguration": "arn:{p}:ivs:{r}:{a}:recording-configuration/{name}",
    "AWS::S3::Bucket": "arn:{p}:s3:::{name}",
    "AWS::IAM::Role": "arn:{p}:iam::{a}:role/{name}",
}


@dataclass
class Stack:
    """One deployment of the template: its parameters (defaults unless given), pseudo parameters, and
    the physical names of its resources (`physical`, else the logical id)."""

    template: dict[str, Any]
    parameters: dict[str, Any] = field(default_factory=dict)
    region: str = "us-east-1"
    account: str = "123456789012"
    partition: str = "aws"
    name: str = "channels-test"
    physical: dict[str, str] = field(default_factory=dict)

    def parameter(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        declared = self.template["Parameters"][name]
        default = declared.get("Default", "")
        if declared["Type"] == "CommaDelimitedList":
            return [item for item in str(default).split(",")] if default != "" else [""]
        return str(default)

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def ref(self, name: str) -> Any:
        pseudo = {"AWS::Region": self.region, "AWS::AccountId": self.account, "AWS::Partition": self.partition,
                  "AWS::StackName": self.name, "AWS::NoValue": NO_VALUE, "AWS::URLSuffix": "amazonaws.com"}
        if name in pseudo:
            return pseudo[name]
        if name in self.template.get("Parameters", {}):
            return self.parameter(name)
        resource = self.template["Resources"][name]
        if resource["Type"] in ("AWS::KMS::Key",):
            return self.physical.get(name, name)
        if resource["Type"] == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{self.physical.get(name, name)}"
        if resource["Type"] in ("AWS::SNS::Topic", "AWS::IVS::RecordingConfiguration"):
            return self.get_att(name, "Arn")
        if name in self.physical:
            return self.physical[name]
        if resource["Type"] == "AWS::DynamoDB::Table":
            return self.resolve(resource["Properties"]["TableName"])
        return name

    def get_att(self, name: str, attribute: str) -> Any:
        resource = self.template["Resources"][name]
        physical = self.physical.get(name, name)
        if resource["Type"] == "AWS::Logs::LogGroup":
            physical = self.resolve(resource["Properties"]["LogGroupName"])
        if attribute == "Arn" and resource["Type"] in _ARN_OF:
            if resource["Type"] == "AWS::KMS::Key" and physical.startswith("arn:"):
                return physical
            return _ARN_OF[resource["Type"]].format(p=self.partition, r=self.region, a=self.account, name=physical)
        if attribute in ("QueueName", "TopicName", "Name"):
            return physical
        return f"{physical}.{attribute}"

    def resolve(self, node: Any) -> Any:
        """The value CloudFormation would give `node` in this stack (NO_VALUE for AWS::NoValue)."""
        if isinstance(node, list):
            return [value for value in (self.resolve(item) for item in node) if value is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((function, argument),) = node.items()
            if function == "Ref":
                return self.ref(argument)
            if function == "Fn::GetAtt":
                name, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.get_att(name, attribute)
            if function == "Fn::If":
                chosen = argument[1] if self.condition(argument[0]) else argument[2]
                return self.resolve(chosen)
            if function == "Fn::Sub":
                return self._sub(argument)
            if function == "Fn::Join":
                return argument[0].join(str(item) for item in self.resolve(argument[1]))
            if function == "Fn::Split":
                return str(self.resolve(argument[1])).split(argument[0])
            if function == "Fn::Select":
                return self.resolve(argument[1])[int(self.resolve(argument[0]))]
            if function == "Fn::Equals":  # parameters compare as the strings CloudFormation passes
                left, right = (self.resolve(item) for item in argument)
                return str(left) == str(right)
            if function == "Fn::Not":
                return not self.resolve(argument[0])
            if function == "Fn::And":
                return all(self.resolve(item) for item in argument)
            if function == "Fn::Or":
                return any(self.resolve(item) for item in argument)
            if function == "Condition":
                return self.condition(argument)
            if function == "Fn::Contains":  # a Rules function: the value is one of the list's
                values, value = (self.resolve(item) for item in argument)
                return str(value) in [str(item) for item in values]
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {name: self.resolve(value) for name, value in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match[1]
            if name in values:
                return str(values[name])
            if "." in name:
                return str(self.get_att(*name.split(".", 1)))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!]+)\}", substitute, text)

    def role_statements(self, role: str) -> list[dict[str, Any]]:
        """Every statement of the role's inline policies, resolved for this stack."""
        body = self.template["Resources"][role]
        return [statement for policy in body["Properties"].get("Policies", [])
                for statement in _as_list(self.resolve(policy["PolicyDocument"])["Statement"])]

    def managed_policy_statements(self, policy: str) -> list[dict[str, Any]]:
        """The statements of an AWS::IAM::ManagedPolicy of the template, resolved for this stack."""
        body = self.template["Resources"][policy]
        assert body["Type"] == "AWS::IAM::ManagedPolicy"
        return _as_list(self.resolve(body["Properties"]["PolicyDocument"])["Statement"])

    def function_role(self, function: str) -> str:
        """The logical id of the role a function runs as (its `Role: !GetAtt <role>.Arn`)."""
        role, attribute = self.template["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"]
        assert attribute == "Arn"
        return str(role)
