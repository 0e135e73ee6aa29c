"""Turn the findings into HTML for the report: a page of its own and the report's front page."""

from __future__ import annotations

import textwrap

from markdown_it import MarkdownIt

_STYLE = """<style>
.mtrl-findings { font-family: system-ui, sans-serif; line-height: 1.45; max-width: 70em; }
.mtrl-findings table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
.mtrl-findings th, .mtrl-findings td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
.mtrl-findings code { background: #f4f4f4; padding: 0 3px; }
.mtrl-findings code::before, .mtrl-findings code::after { content: none; }
</style>"""


def markdown_to_html(markdown: str) -> str:
    """Render Markdown (CommonMark with tables) to an HTML fragment."""
    return MarkdownIt("commonmark").enable("table").render(markdown)


def findings_page(markdown: str, title: str = "Findings") -> str:
    """A standalone HTML page of the findings."""
    body = markdown_to_html(markdown)
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title>{_STYLE}</head>\n'
        f'<body><div class="mtrl-findings" id="mtrl-findings">\n{body}</div></body></html>\n'
    )


def front_page(description_rst: str, markdown: str) -> str:
    """The report's front page (reStructuredText): the workflow description, then the findings.

    Snakemake renders the front page through Jinja and docutils: the findings go in as raw HTML,
    protected from Jinja.
    """
    html = f'<div class="mtrl-findings" id="mtrl-findings">\n{markdown_to_html(markdown)}</div>'
    raw = textwrap.indent(_STYLE + "\n" + html, "   ")
    return f"{description_rst.rstrip()}\n\n{{% raw %}}\n.. raw:: html\n\n{raw}\n{{% endraw %}}\n"
