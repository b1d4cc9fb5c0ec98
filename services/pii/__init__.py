"""Personal-data detection: which kinds of personal data a request carries.

Nothing is built at import time; the gateway calls `build_detector()` once at
start-up and `Detector.detect()` per request; `Detector.locate()` says where
the data of given types sits, for pseudonymisation.
"""

from services.pii.detector import DetectionConfig, Detector, build_detector
from services.pii.errors import DetectionError
from services.pii.findings import EntityFinding, Findings
from services.pii.spans import Span

__all__ = [
    "DetectionConfig",
    "DetectionError",
    "Detector",
    "EntityFinding",
    "Findings",
    "Span",
    "build_detector",
]
