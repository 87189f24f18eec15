"""Thin resolvers: read the arguments, check who may ask, call a use case or a loader, shape the answer."""
