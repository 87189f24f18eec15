"""Storage: DynamoDB records, the IVS gateway, DataLoaders and table provisioning.

One store per record kind (services.backend.ChannelsBackend exposes each); a write spanning kinds is a
data.unit_of_work.UnitOfWork the stores add their items to. Each write that guards an invariant is a
condition expression or a transaction, so the invariants hold under concurrent requests (CONTRACT.md
sections 1 and 2):
- the channel limit: creates reserve a slot on the capacity counter, conditional on `used < limit`
  (data.capacity);
- one channel per host: the assignment record's key is the host, put only when absent (data.assignments);
- one host per HOST_OWNED channel: the channel's `assignedHostIds` must be absent to add one
  (data.assignments);
- one broadcast counted once: a state change is conditional on the state (and session) it was
  planned from (data.state_changes).
"""
