"""Business rules of persistent channels: plain values and functions, no AWS and no GraphQL."""
