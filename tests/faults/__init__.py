"""Fault-injection suite: the CLI as a subprocess against a fake STS + Lambda (see README.md)."""
