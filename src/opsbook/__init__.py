"""opsbook: executable runbooks you read, step through and verify against a sandbox."""

__version__ = "0.1.0"
