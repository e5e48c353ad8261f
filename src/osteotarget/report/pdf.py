"""Report pages to PDF with WeasyPrint: the app's own stylesheet, never the network."""

from __future__ import annotations

from importlib import resources
from typing import Any

REPORT_CSS = ("style.css", "report.css")


class PdfUnavailable(RuntimeError):
    """WeasyPrint or its system libraries (Pango) are missing on this machine."""


class AssetRefused(ValueError):
    """A report asked for an outside resource: refused (reports fetch nothing)."""


def _refuse(url: str, *_args: Any, **_kwargs: Any) -> Any:
    raise AssetRefused(f"report asset refused: {url}")


def stylesheet_text() -> str:
    folder = resources.files("osteotarget.web") / "static"
    return "\n".join((folder / name).read_text(encoding="utf-8") for name in REPORT_CSS)


def html_to_pdf(html: str) -> bytes:
    """The page as an A4 PDF with the print stylesheet (no outbound fetch of any kind)."""
    try:
        from weasyprint import CSS, HTML
    except (ImportError, OSError) as exc:  # OSError: the Pango libraries are not installed
        raise PdfUnavailable(
            "PDF rendering needs WeasyPrint and Pango (Debian: libpango-1.0-0, "
            "libpangoft2-1.0-0); the printable page works without them"
        ) from exc

    document = HTML(string=html, base_url="file:///nonexistent/", url_fetcher=_refuse)
    pdf: bytes = document.write_pdf(stylesheets=[CSS(string=stylesheet_text())])
    return pdf
