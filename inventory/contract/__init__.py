"""The on-disk contract: schema, status vocabulary, layout, destinations, writers, manifest, the reader."""
