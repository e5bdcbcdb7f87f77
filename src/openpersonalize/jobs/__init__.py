"""Durable jobs: rows in the metadata store, claimed atomically by worker processes."""
