"""Storage: DynamoDB records, the IVS gateway, DataLoaders and table provisioning."""
