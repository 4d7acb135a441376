"""Ingest: the ways events come in from the systems councils run, on their way to Kafka or a file.

Adapters turn a source system's own records into contract v1 events (``technion``: the Technion
"Anonymous Bank" call-centre records).
"""
