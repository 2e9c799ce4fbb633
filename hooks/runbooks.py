"""mkdocs hooks of the opsbook site; the logic lives in opsbook.site.hooks (tested without mkdocs)."""

from opsbook.site.hooks import on_config, on_env, on_files, on_page_content, on_serve

__all__ = ["on_config", "on_env", "on_files", "on_page_content", "on_serve"]
