"""The request lifecycle and its rules."""
