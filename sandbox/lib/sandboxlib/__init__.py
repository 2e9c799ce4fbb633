"""Small shared pieces of the sandbox's Python services: metrics, HTTP, settings."""
