"""Test support shared by the suites: fake endpoints, sample inventories and record batches, and the faults the
tests inject into the emulator (emulator_faults.py)."""
