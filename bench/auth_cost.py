"""`python -m bench.auth_cost`: what token verification costs per request (issue #12): a full RS256
verification, a token already verified (app.token_cache), and the thread hop that verify_without_io saves."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import anyio
from anyio import to_thread

from app.auth import StaticJwks, TokenVerifier
from app.dev_keys import DEV_ISSUER, DevSigningKey, embedded_audiences


def _best_microseconds(action: Callable[[], object], calls: int) -> float:
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(calls):
            action()
        best = min(best, (time.perf_counter() - started) / calls)
    return best * 1e6


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-auth-") as folder:
        key = DevSigningKey.load_or_create(Path(folder))
    token = key.mint("bench-user", admin=True, admin_group="admin")
    verifier = TokenVerifier(issuer=DEV_ISSUER, audiences=embedded_audiences(frozenset()), admin_group="admin",
                             keys=StaticJwks(key.jwks()))

    def full() -> None:
        verifier.verified.clear()
        verifier.verify(token)

    print(f"full verification (cache emptied each time): {_best_microseconds(full, 1000):.1f} µs")
    verifier.verify(token)
    print(f"token already verified, on the event loop (verify_without_io): "
          f"{_best_microseconds(lambda: verifier.verify_without_io(token), 5000):.1f} µs")

    async def hops() -> float:
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(1000):
                await to_thread.run_sync(verifier.verify, token)
            best = min(best, (time.perf_counter() - started) / 1000)
        return best * 1e6

    print(f"token already verified, through a thread hop (as before): {anyio.run(hops):.1f} µs")


if __name__ == "__main__":
    main()
