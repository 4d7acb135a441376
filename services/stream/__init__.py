"""Stream: the Kafka consumer. Records are decoded, run through the fact engine onto the live series,
and handed to one writer thread that commits each write, with its offsets, to the store."""
