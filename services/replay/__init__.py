"""Replay: JSON Lines files of events into the store, set-based (``bulk``) or event by event (``incremental``)."""
