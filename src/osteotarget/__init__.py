"""osteotarget: treat-to-target management of osteoporosis.

The pure core takes a :class:`~osteotarget.model.record.Patient` and a date and returns
an assessment; every clinical number it uses comes from a cited knowledge file.
The software supports a clinician's decision and shows its basis; it never orders or
prescribes by itself.
"""

__version__ = "0.1.0"
