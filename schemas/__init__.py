"""Contract v1 models (../shared/contract/EVENTS.md) and per-contact fact models."""
