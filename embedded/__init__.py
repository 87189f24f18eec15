"""The embedded backend: moto's AWS emulator, the IVS stand-in and the development signing key (docs/architecture.md)."""
