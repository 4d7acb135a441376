"""The computations: pure functions and state machines, free of I/O.

Nothing here imports kafka, faststream, duckdb or prometheus_client.
"""
