"""The GraphQL documents the frontends and `smoke` send, one `.graphql` file per named operation,
grouped by who sends it (README, "Calling from a frontend"); read through commands.operations."""
