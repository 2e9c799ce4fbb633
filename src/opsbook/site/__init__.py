"""The published site: runbooks and verification results rendered as mkdocs-material pages."""
