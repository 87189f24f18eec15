"""The clients come from a plain botocore session (no boto3 import): the same models, endpoints,
credentials and configuration as boto3's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from data.clients import SERVICES, AwsConnection, _session, build_clients, build_sqs_client

CONNECTION = AwsConnection(region="eu-west-1", endpoint_url="http://127.0.0.1:9", access_key_id="AKIDEXAMPLE",
                           secret_access_key="secret")
ROOT = Path(__file__).resolve().parents[2]


def boto3_client(service: str) -> object:
    return boto3.session.Session(region_name=CONNECTION.region, aws_access_key_id=CONNECTION.access_key_id,
                                 aws_secret_access_key=CONNECTION.secret_access_key).client(
        service, endpoint_url=CONNECTION.endpoint_url)


@pytest.mark.parametrize("service", SERVICES)
def test_each_client_is_the_one_boto3_would_make(service: str) -> None:
    clients = build_clients(CONNECTION)
    ours = {"dynamodb": clients.dynamodb, "dynamodbstreams": clients.dynamodbstreams, "ivs": clients.ivs,
            "kms": clients.kms, "sqs": build_sqs_client(CONNECTION)}[service]
    theirs = boto3_client(service)
    assert (ours.meta.service_model.service_name, ours.meta.service_model.api_version) == (
        theirs.meta.service_model.service_name, theirs.meta.service_model.api_version)  # type: ignore[attr-defined]
    assert ours.meta.service_model.operation_names == theirs.meta.service_model.operation_names  # type: ignore[attr-defined]
    assert (ours.meta.region_name, ours.meta.endpoint_url) == (theirs.meta.region_name, theirs.meta.endpoint_url)  # type: ignore[attr-defined]
    credentials = ours._request_signer._credentials
    assert (credentials.access_key, credentials.secret_key) == ("AKIDEXAMPLE", "secret")
    config = ours.meta.config
    assert (config.retries, config.max_pool_connections, config.connect_timeout, config.read_timeout) == (
        {"mode": "standard", "total_max_attempts": 5}, 64, 3, 10)


def test_aws_data_path_is_still_searched_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    loader = _session(CONNECTION).get_component("data_loader")
    assert loader.search_paths[0] == str(tmp_path)


def test_building_the_clients_imports_no_boto3() -> None:
    code = ("import sys; from data.clients import build_clients, AwsConnection; "
            "build_clients(AwsConnection(region='us-east-1')).build_all(); "
            "print(sorted(m for m in ('boto3', 's3transfer') if m in sys.modules))")
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                               check=True)
    assert completed.stdout.strip() == "[]"
