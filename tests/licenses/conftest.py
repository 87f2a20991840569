"""Fixtures for the license tests: a fresh key folder and a realistic sample license built through the public API."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from onelicense.forms.identifiers import uscc_check_char
from onelicense.licenses.document import IssuingAuthority, LicenseDocument, PermitEntry, numbered_permits
from onelicense.licenses.identifier import IdentifierScheme
from onelicense.licenses.keys import KeySet, load_keyset
from onelicense.licenses.numbering import format_number
from onelicense.review.roles import Actor, Role
from onelicense.review.transitions import ApplicationStatus
from onelicense.services.licenses import LicenseConfig
from onelicense.settings import Settings, get_settings
from onelicense.store.tables.application import Application
from onelicense.web.app import create_app
from tests import builders

BASE_URL = "http://127.0.0.1:8000"
# the embedded defaults (local/test values): what a fresh machine's licenses carry
IDENTIFIERS = IdentifierScheme(
    Settings.model_fields["license_type_code"].default, Settings.model_fields["license_issuer_uscc"].default
)
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def sample_document(
    holder_name: str = "渝北区老街坊便利店",
    permit_codes: tuple[str, ...] = ("FOOD_BUSINESS", "TOBACCO_RETAIL", "LIQUOR_RETAIL"),
    serial: int = 123,
) -> LicenseDocument:
    number = format_number("500107", 2025, serial)
    names = {
        "FOOD_BUSINESS": ("食品经营许可", "SCJG", "区市场监督管理局"),
        "TOBACCO_RETAIL": ("烟草专卖零售许可", "YCJ", "区烟草专卖局"),
        "LIQUOR_RETAIL": ("酒类零售许可", "SWW", "区商务委员会"),
        "FIRE_SAFETY_CHECK": ("公众聚集场所投入使用、营业前消防安全检查", "XFJY", "区消防救援支队"),
        "PUBLIC_HEALTH": ("公共场所卫生许可", "WJW", "区卫生健康委员会"),
        "HOTEL_SPECIAL_TRADE": ("旅馆业特种行业许可", "GAJ", "区公安局"),
    }
    permits = [
        PermitEntry(code, *names[code], number="", issued_on=date(2025, 3, 14), valid_until=date(2030, 3, 13))
        for code in permit_codes
    ]
    return LicenseDocument(
        number=number,
        holder_name=holder_name,
        uscc="91500107MA5U3XYZ1K",
        legal_representative="张三明",
        business_address="重庆市渝北区龙溪街道金龙路1号",
        industry_code="CONVENIENCE_STORE",
        industry_name="便利店",
        issued_at=datetime(2025, 3, 14, 9, 30, tzinfo=UTC),
        authority_name="重庆高新区行政审批局",
        permits=numbered_permits(number, permits),
        identifier=IDENTIFIERS.identifier(number, 1),
    )


@pytest.fixture
def key_folder(tmp_path: Path) -> Path:
    return tmp_path / "keys"


@pytest.fixture
def keyset(key_folder: Path) -> KeySet:
    return load_keyset(key_folder)


# ----------------------------------------------------------------------------------- store-side helpers

ADMIN = Actor("admin-1", Role.ADMIN)
APPLICANT = Actor("applicant-1", Role.APPLICANT)


def reviewer(department: str) -> Actor:
    return Actor(f"reviewer-{department.lower()}", Role.REVIEWER, department)


def valid_uscc(n: int) -> str:
    first17 = f"915001070{n:08d}"
    return first17 + uscc_check_char(first17)


@pytest.fixture
def license_config(tmp_path: Path) -> LicenseConfig:
    return LicenseConfig(
        keys_dir=tmp_path / "keys",
        pdf_dir=tmp_path / "licenses",
        templates_dir=TEMPLATES,
        public_base_url=BASE_URL,
        authority=IssuingAuthority("重庆高新区行政审批局", "500107"),
        identifiers=IDENTIFIERS,
    )


ApproveFn = Callable[..., Application]
_counter = iter(range(1, 10**8))


def make_approved_application(
    session: Session,
    industry_code: str = "CONVENIENCE_STORE",
    permit_codes: tuple[str, ...] = ("FOOD_BUSINESS", "TOBACCO_RETAIL"),
    holder_name: str = "渝北区老街坊便利店",
    legal_representative: str = "张三明",
) -> Application:
    """Submit through the services, approve every review and record the approving composite opinion: the state
    in which the flow issues the license."""
    application = builders.approved(
        session,
        APPLICANT,
        industry_code,
        conditions=builders.conditions_for(industry_code, permit_codes),
        holder_name=holder_name,
        legal_representative=legal_representative,
        business_address="重庆市渝北区金龙路1号",
    )
    assert application.status is ApplicationStatus.APPROVED
    return application


@pytest.fixture
def approved_application(session: Session) -> ApproveFn:
    """`approved_application(...)`: make_approved_application on the test's session."""
    return functools.partial(make_approved_application, session)


PUBLIC_BASE_URL = "https://zwfw.example.gov.cn"


def public_app_client(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """For a `client` fixture: the web app on the test database, with its own data folder (keys, PDFs) and
    public base URL."""
    monkeypatch.setenv("ONELICENSE_DATABASE_URL", db_url)
    monkeypatch.setenv("ONELICENSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ONELICENSE_PUBLIC_BASE_URL", PUBLIC_BASE_URL)
    get_settings.cache_clear()
    with TestClient(create_app()) as client:
        yield client
    get_settings.cache_clear()
