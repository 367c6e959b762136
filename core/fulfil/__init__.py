"""Fulfilment: hand approved requests to ReadMeABook or a webhook, and read their progress back."""
