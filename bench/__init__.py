"""`python -m bench`: the performance benchmark of the service on its embedded backend (issue #6);
docs/performance.md says what each part measures and which figures are targets."""
