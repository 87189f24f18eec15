"""The shipped, cut-down endpoints data (data/aws_endpoints.json) resolves as botocore's own file does,
is current with the installed botocore, and gives way to botocore's file whenever it may not apply."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.loaders
import botocore.session
import pytest
from botocore.regions import EndpointResolver

from data import aws_endpoints
from data.clients import SERVICES, AwsConnection, OwnServicesLoader, _session
from data.aws_endpoints import TRIMMED_FILE, generate, shipped

FIRST_CALLS = {"dynamodb": "list_tables", "ivs": "list_channels", "kms": "list_keys", "sqs": "list_queues"}
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1", "eu-central-2"]


class Sent(Exception):
    """Raised where a request would be signed: it carries what would be sent."""


def signed_request(session: botocore.session.Session, service: str, region: str) -> dict[str, Any]:
    client = session.create_client(service, region_name=region, aws_access_key_id="a", aws_secret_access_key="b")

    def capture(request: Any, signing_name: str, region_name: str, signature_version: str, **kwargs: Any) -> None:
        raise Sent({"url": request.url, "signing_name": signing_name, "region": region_name,
                    "signature_version": signature_version})

    client.meta.events.register("before-sign", capture)
    with pytest.raises(Sent) as sent:
        getattr(client, FIRST_CALLS[service])()
    found: dict[str, Any] = sent.value.args[0]
    return found


def test_each_session_gets_its_own_copy_which_botocore_may_change() -> None:
    first, second = _session(AwsConnection()), _session(AwsConnection())
    first.create_client("dynamodb", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    assert first.get_component("data_loader").load_data("endpoints") is not second.get_component(
        "data_loader").load_data("endpoints")
    assert shipped(SERVICES) == json.loads(TRIMMED_FILE.read_text())["endpoints"]


def test_the_shipped_file_is_cut_from_the_installed_botocore() -> None:
    on_disk = json.loads(TRIMMED_FILE.read_text())
    assert on_disk == generate(SERVICES), "data/aws_endpoints.json is stale: run `make endpoints`"
    assert shipped(SERVICES) == on_disk["endpoints"]


def test_each_region_resolves_exactly_as_with_botocores_whole_file() -> None:
    full = botocore.loaders.Loader().load_data("endpoints")
    ours = EndpointResolver(shipped(SERVICES), uses_builtin_data=True)
    theirs = EndpointResolver(full, uses_builtin_data=True)
    prefixes = json.loads(TRIMMED_FILE.read_text())["prefixes"]
    regions = {region for partition in full["partitions"] for region in partition["regions"]}
    for prefix in prefixes:
        for region in sorted(regions):
            for fips in (False, True):
                assert ours.construct_endpoint(prefix, region, use_fips_endpoint=fips) == theirs.construct_endpoint(
                    prefix, region, use_fips_endpoint=fips), (prefix, region, fips)
        assert ours.get_available_endpoints(prefix) == theirs.get_available_endpoints(prefix)


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_clients_send_and_sign_as_botocores_own(service: str) -> None:
    ours = _session(AwsConnection())
    assert ours.get_component("data_loader").load_data("endpoints") == shipped(SERVICES)  # the cut-down file
    for region in REGIONS:
        assert signed_request(ours, service, region) == signed_request(botocore.session.get_session(), service, region)


def test_botocores_own_file_is_read_when_the_shipped_one_is_from_another_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(aws_endpoints.botocore, "__version__", "0.0.0")
    endpoints = OwnServicesLoader(SERVICES).load_data("endpoints")
    assert len(endpoints["partitions"][0]["services"]) > 100  # every service: botocore's own file


def test_an_endpoints_file_earlier_on_the_data_path_is_read_as_botocore_would(tmp_path: Path) -> None:
    custom = {"partitions": [], "version": 3}
    (tmp_path / "endpoints.json").write_text(json.dumps(custom))
    loader = OwnServicesLoader(SERVICES, extra_search_paths=[str(tmp_path)])
    endpoints, path = loader.load_data_with_path("endpoints")
    assert endpoints == custom and not loader.is_builtin_path(path)
