"""The job: config -> targets -> collect -> the run (pipeline) -> summary."""
