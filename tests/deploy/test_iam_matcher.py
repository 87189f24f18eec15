"""tests/deploy/iam_policy.py decides as IAM does, on the examples of AWS's own documentation (IAM User
Guide: "IAM JSON policy elements" Action, Resource, Condition and its operators, "Multivalued context
keys"; DynamoDB Developer Guide: fine-grained access control; KMS Developer Guide: encryption context)."""

from __future__ import annotations

from typing import Any

from tests.deploy.iam_policy import IamRequest, allowing_statements


def allows(statement: dict[str, Any], request: IamRequest, *more: dict[str, Any]) -> bool:
    return bool(allowing_statements([{"Effect": "Allow", **statement}, *more], request))


ACCESS_KEYS = {"Action": "iam:*AccessKey*", "Resource": "*"}
BUCKET_OBJECTS = {"Action": "s3:GetObject", "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/*"}
BOOKS = "arn:aws:dynamodb:us-east-2:123456789012:table/Books"
GAME_SCORES = "arn:aws:dynamodb:us-west-2:123456789012:table/GameScores"
OWN_ITEMS = {  # "${www.amazon.com:user_id}" substituted for the signed-in user
    "Action": ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"], "Resource": GAME_SCORES,
    "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["amzn1.account.AF6RHC7KZCJ"]}},
}


def test_an_action_wildcard_matches_any_run_of_characters() -> None:
    assert allows(ACCESS_KEYS, IamRequest("iam:CreateAccessKey", "*"))
    assert allows(ACCESS_KEYS, IamRequest("iam:ListAccessKeys", "*"))


def test_an_action_wildcard_does_not_match_another_action() -> None:
    assert not allows(ACCESS_KEYS, IamRequest("iam:CreateUser", "*"))


def test_action_names_are_case_insensitive() -> None:
    assert allows({"Action": "S3:getobject", "Resource": "*"}, IamRequest("s3:GetObject", "*"))


def test_a_resource_wildcard_spans_slashes_of_an_object_key() -> None:
    assert allows(BUCKET_OBJECTS, IamRequest("s3:GetObject", "arn:aws:s3:::amzn-s3-demo-bucket/folder/photo.jpg"))


def test_a_resource_question_mark_is_exactly_one_character() -> None:
    one = {"Action": "s3:GetObject", "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/?"}
    assert allows(one, IamRequest("s3:GetObject", "arn:aws:s3:::amzn-s3-demo-bucket/a"))
    assert not allows(one, IamRequest("s3:GetObject", "arn:aws:s3:::amzn-s3-demo-bucket/ab"))


def test_resource_arns_are_case_sensitive() -> None:
    assert not allows({"Action": "dynamodb:GetItem", "Resource": BOOKS},
                      IamRequest("dynamodb:GetItem", BOOKS.replace("Books", "books")))


def test_a_table_arn_does_not_cover_its_indexes() -> None:
    assert not allows({"Action": "dynamodb:Query", "Resource": BOOKS},
                      IamRequest("dynamodb:Query", BOOKS + "/index/ByAuthor"))


def test_leading_keys_allow_the_users_own_partition() -> None:
    assert allows(OWN_ITEMS, IamRequest("dynamodb:GetItem", GAME_SCORES,
                                        {"dynamodb:LeadingKeys": ("amzn1.account.AF6RHC7KZCJ",)}))


def test_leading_keys_refuse_another_users_partition() -> None:
    assert not allows(OWN_ITEMS, IamRequest("dynamodb:GetItem", GAME_SCORES,
                                            {"dynamodb:LeadingKeys": ("amzn1.account.SOMEONE",)}))


def test_for_all_values_refuses_a_batch_with_one_key_outside() -> None:
    keys = ("amzn1.account.AF6RHC7KZCJ", "amzn1.account.SOMEONE")
    assert not allows(OWN_ITEMS, IamRequest("dynamodb:BatchGetItem", GAME_SCORES, {"dynamodb:LeadingKeys": keys}))


def test_for_all_values_holds_when_the_request_has_no_such_key() -> None:
    # AWS's warning: ForAllValues with an absent key is true (hence DescribeTable apart in the template).
    assert allows(OWN_ITEMS, IamRequest("dynamodb:Query", GAME_SCORES))


def test_for_any_value_needs_one_matching_tag_key() -> None:
    tagging = {"Action": "ec2:CreateTags", "Resource": "*",
               "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}}}
    assert allows(tagging, IamRequest("ec2:CreateTags", "*", {"aws:TagKeys": ("environment", "owner")}))
    assert not allows(tagging, IamRequest("ec2:CreateTags", "*", {"aws:TagKeys": ("owner",)}))


def test_values_of_one_key_are_alternatives_and_keys_must_all_hold() -> None:
    statement = {"Action": "ivs:StopStream", "Resource": "*", "Condition": {"StringEquals": {
        "aws:ResourceTag/team": ["video", "audio"], "aws:ResourceTag/stage": "prod"}}}
    assert allows(statement, IamRequest("ivs:StopStream", "*", {"aws:ResourceTag/team": "audio",
                                                                "aws:ResourceTag/stage": "prod"}))
    assert not allows(statement, IamRequest("ivs:StopStream", "*", {"aws:ResourceTag/team": "audio"}))


def test_condition_key_names_are_case_insensitive_and_values_are_not() -> None:
    statement = {"Action": "ivs:StopStream", "Resource": "*",
                 "Condition": {"StringEquals": {"aws:ResourceTag/Team": "Video"}}}
    assert allows(statement, IamRequest("ivs:StopStream", "*", {"aws:resourcetag/team": "Video"}))
    assert not allows(statement, IamRequest("ivs:StopStream", "*", {"aws:ResourceTag/Team": "video"}))


def test_a_string_condition_on_an_absent_key_is_false_unless_if_exists() -> None:
    equals = {"Action": "ivs:StopStream", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/team": "video"}}}
    if_exists = {**equals, "Condition": {"StringEqualsIfExists": {"aws:ResourceTag/team": "video"}}}
    assert not allows(equals, IamRequest("ivs:StopStream", "*"))
    assert allows(if_exists, IamRequest("ivs:StopStream", "*"))


def test_an_explicit_deny_overrides_an_allow() -> None:
    deny_plain_http = {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    request = IamRequest("s3:GetObject", "arn:aws:s3:::amzn-s3-demo-bucket/a", {"aws:SecureTransport": "false"})
    assert not allows(BUCKET_OBJECTS, request, deny_plain_http)
    assert allows(BUCKET_OBJECTS, IamRequest(request.action, request.resource, {"aws:SecureTransport": "true"}),
                  deny_plain_http)


def test_an_encryption_context_condition_matches_its_pair_exactly() -> None:
    statement = {"Action": "kms:Decrypt", "Resource": "arn:aws:kms:us-west-2:111122223333:key/1234abcd",
                 "Condition": {"StringEquals": {"kms:EncryptionContext:AppName": "ExampleApp"}}}
    key = "arn:aws:kms:us-west-2:111122223333:key/1234abcd"
    assert allows(statement, IamRequest("kms:Decrypt", key, {"kms:EncryptionContext:AppName": "ExampleApp"}))
    assert not allows(statement, IamRequest("kms:Decrypt", key, {"kms:EncryptionContext:AppName": "OtherApp"}))
    assert not allows(statement, IamRequest("kms:Decrypt", key))
