"""Replay: JSON Lines files of events into the store: checked in DuckDB, facts by the one fact engine."""
