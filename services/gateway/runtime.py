"""What the gateway holds for its lifetime: built once at start-up, handed to
routes through dependencies, never a module-level global."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from policy import PolicyEngine
from services.pii import Detector
from services.routing.catalog import Catalog
from services.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    catalog: Catalog
    detector: Detector
    policy: PolicyEngine
    db_engine: Engine
    sessions: sessionmaker
