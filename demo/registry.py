"""Demo companies for the local stand-in of the business registry (demo/data/registry.yaml): what `serve` loads
into an empty stand-in on a machine with no real registry configured, so /register works out of the box."""

from __future__ import annotations

from pathlib import Path

import yaml

from onelicense.review.roles import Actor, Role
from onelicense.services.adapters import registry
from onelicense.settings import get_settings
from onelicense.store.db import session_scope

DATA = Path(__file__).resolve().parent / "data" / "registry.yaml"


def seed_demo_registry() -> list[str]:
    """Load the demo companies when the stand-in is empty, no registry URL is set and this is not production;
    returns their codes (empty when nothing was loaded)."""
    settings = get_settings()
    if settings.registry_url or settings.production:
        return []
    companies = yaml.safe_load(DATA.read_text(encoding="utf-8"))["companies"]
    with session_scope() as session:
        if registry.local_count(session):
            return []
        registry.import_entries(session, Actor("demo", Role.ADMIN), companies)
    return [str(c["uscc"]) for c in companies]
