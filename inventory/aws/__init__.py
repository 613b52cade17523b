"""AWS helpers: credentials, ListFunctions, Organizations, regions, retries, pacing. Never imports job/ or reports/."""
