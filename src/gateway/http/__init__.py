"""Entry points over HTTP: the FastAPI app, its webhook and ops routes, error envelopes."""
