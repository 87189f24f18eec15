"""The operator's commands of `shelcaster-channels`, one module per command (docs/architecture.md)."""
