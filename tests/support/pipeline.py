"""The event processor as the handler runs it, for tests that feed it records directly."""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

from sqlalchemy.engine import Engine

from ses_guard import processor, provenance, settings
from ses_guard.parsing import InboundRecord
from ses_guard.store import EventStore


def process(
    records: Sequence[InboundRecord], engine: Engine, env: Optional[Mapping[str, str]] = None
) -> processor.BatchOutcome:
    """Process records with the processor settings of `env` (default: none, so no provenance is checked)."""
    processor_settings = settings.processor_settings(env or {})
    store = EventStore(engine, processor_settings.users)
    return processor.process(records, store, provenance.Source.of(processor_settings))
