"""botocore's endpoints.json cut down to the services this one calls, shipped beside this module.

Every botocore session reads endpoints.json (1.25 MB: every AWS service in every partition) to build
its legacy endpoint resolver, which a client still consults for its signing region and name: ~25 ms
of a cold start spent parsing JSON about ~400 services the service never calls (issue #12).
`aws_endpoints.json` holds the same file with each partition's `services` cut to those of
data.clients.SERVICES (by endpoint prefix), everything else as it is, and the botocore version it was
cut from. data.clients.OwnServicesLoader answers `endpoints` with it while that version is the one
installed; otherwise (botocore upgraded and the file not regenerated) with botocore's own file, as
before. tests/data/test_aws_endpoints.py fails when the file is stale.

`python -m data.aws_endpoints` (`make endpoints`) regenerates it from the installed botocore.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import botocore

TRIMMED_FILE = Path(__file__).with_name("aws_endpoints.json")


def trimmed(endpoints: Mapping[str, Any], prefixes: Iterable[str]) -> dict[str, Any]:
    """`endpoints` (endpoints.json's content) with each partition's services cut to `prefixes`."""
    kept = set(prefixes)
    return {
        **endpoints,
        "partitions": [
            {**partition, "services": {name: entry for name, entry in partition["services"].items() if name in kept}}
            for partition in endpoints["partitions"]
        ],
    }


def shipped(services: tuple[str, ...]) -> dict[str, Any] | None:
    """The shipped endpoints of `services`, when cut from the installed botocore for those services.

    Read afresh for each call (each session's loader asks once): botocore's resolver merges defaults
    into the endpoint entries it resolves, in place, so one session's copy is not shared with another."""
    try:
        found = json.loads(TRIMMED_FILE.read_text())
    except (OSError, ValueError):
        return None
    if found.get("botocore") != botocore.__version__ or found.get("services") != list(services):
        return None
    endpoints: dict[str, Any] = found["endpoints"]
    return endpoints


def generate(services: tuple[str, ...]) -> dict[str, Any]:
    """The content of aws_endpoints.json, from the installed botocore's own data."""
    import botocore.loaders
    import botocore.session

    session = botocore.session.get_session()
    prefixes = sorted({session.get_service_model(service).endpoint_prefix for service in services})
    full = botocore.loaders.Loader().load_data("endpoints")
    return {"botocore": botocore.__version__, "services": list(services), "prefixes": prefixes,
            "endpoints": trimmed(full, prefixes)}


def main() -> None:
    from data.clients import SERVICES

    TRIMMED_FILE.write_text(json.dumps(generate(SERVICES), indent=1, sort_keys=True) + "\n")
    print(f"wrote {TRIMMED_FILE} (botocore {botocore.__version__}, services {', '.join(SERVICES)})")


if __name__ == "__main__":
    main()
