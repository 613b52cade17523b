"""The demo: the real job against an embedded AWS emulator seeded with a small organisation (needs [demo])."""
