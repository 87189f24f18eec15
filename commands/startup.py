"""What every command that builds the service does first: read the settings (or exit naming each wrong
variable) and set up logging. Shared by `serve`, its workers (commands.workers) and the other commands."""

from __future__ import annotations

import sys

from app.settings import Settings, SettingsError, load_settings


def settings_or_exit() -> Settings:
    """The settings, or one line per wrong variable on stderr and exit 2."""
    try:
        return load_settings()
    except SettingsError as exc:
        for problem in exc.problems:
            print(f"shelcaster-channels: {problem}", file=sys.stderr)
        raise SystemExit(2) from None


def configure_logging() -> None:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("botocore", "urllib3"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    # The request log lines are JSON documents: printed as they are, one per line.
    requests = logging.getLogger("shelcaster.channels.requests")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    requests.addHandler(handler)
    requests.propagate = False
