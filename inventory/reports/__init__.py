"""Commands that read snapshots back: the compliance report and diff, and their renderers."""
