"""mkdocs hooks of this site: a thin adapter over the opsbook plugin, configured from `extra.opsbook`.

Other projects can use the plugin directly (`plugins: [opsbook]`); this one keeps its settings
under `extra.opsbook` in mkdocs.yml and its hooks/ folder.
"""

from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority

from opsbook.site.plugin import OpsbookPlugin

plugin = OpsbookPlugin()


@event_priority(-50)  # after the offline plugin, as the plugin's own on_config
def on_config(config: MkDocsConfig) -> MkDocsConfig:
    plugin.configure(config.extra.get("opsbook") or {}, config.config_file_path)
    return plugin.on_config(config)


def on_files(files: Any, config: MkDocsConfig) -> Any:
    return plugin.on_files(files, config)


def on_page_markdown(markdown: str, page: Any, config: MkDocsConfig, files: Any) -> str:
    return plugin.on_page_markdown(markdown, page, config, files)


def on_page_content(html: str, page: Any, config: MkDocsConfig, files: Any) -> str:
    return plugin.on_page_content(html, page, config, files)


def on_env(env: Any, config: MkDocsConfig, files: Any) -> Any:
    return plugin.on_env(env, config, files)


def on_serve(server: Any, config: MkDocsConfig, builder: Any) -> Any:
    return plugin.on_serve(server, config, builder)
