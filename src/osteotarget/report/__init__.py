"""What a clinician reads first, and the printable reports built from it.

``summary`` is pure (an assessment in, plain words out); ``pdf`` renders the report pages
with WeasyPrint.
"""

from osteotarget.report.summary import (
    Answer,
    OptionRow,
    answer_first,
    cited_in_summary,
    plain_regimen,
)

__all__ = ["Answer", "OptionRow", "answer_first", "cited_in_summary", "plain_regimen"]
