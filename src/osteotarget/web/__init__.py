"""The web service: FastAPI app with REST (/api/), CDS Hooks, FHIR and server-rendered pages."""

from osteotarget.web.app import create_app
from osteotarget.web.settings import Settings

__all__ = ["Settings", "create_app"]
