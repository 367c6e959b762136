"""Audible catalog client."""
