"""Adapters from source systems' own records to contract v1 events."""
