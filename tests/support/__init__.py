"""Test support shared by the suites: fake endpoints and sample inventories."""
