"""All SQLModel tables. Importing this package registers every table on `SQLModel.metadata`, which Alembic and
the tests rely on: add new table modules to the import list below."""

from sqlmodel import SQLModel

# Deterministic constraint names, so migrations can drop or alter them on every database (SQLite batch mode
# needs named constraints). Set before any table module is imported.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

from onelicense.store.tables import application, calendar, identity, license, lifecycle, portal, user  # noqa: E402  (after the naming convention)
from onelicense.store.tables.application import (  # noqa: E402
    Application,
    AuditEvent,
    DecisionRecord,
    DepartmentReview,
    OutboxMessage,
)
from onelicense.store.tables.calendar import CalendarYear  # noqa: E402
from onelicense.store.tables.identity import OneTimeCode, RateCounter, RegistryEntry  # noqa: E402
from onelicense.store.tables.lifecycle import (  # noqa: E402
    CreditRecord,
    InspectionDraw,
    Notification,
    NotificationReceipt,
    Obligation,
)
from onelicense.store.tables.portal import Draft, LoginThrottle, Rating, Upload, WebSession  # noqa: E402
from onelicense.store.tables.user import User  # noqa: E402

metadata = SQLModel.metadata

__all__ = [
    "Application",
    "AuditEvent",
    "CalendarYear",
    "CreditRecord",
    "DecisionRecord",
    "DepartmentReview",
    "Draft",
    "InspectionDraw",
    "LoginThrottle",
    "Notification",
    "NotificationReceipt",
    "Obligation",
    "OneTimeCode",
    "OutboxMessage",
    "RateCounter",
    "Rating",
    "RegistryEntry",
    "Upload",
    "User",
    "WebSession",
    "application",
    "calendar",
    "identity",
    "license",
    "lifecycle",
    "metadata",
    "portal",
    "user",
]
