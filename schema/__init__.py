"""The GraphQL surface: Strawberry types, inputs, enums, the context, error codes, the schema object."""
