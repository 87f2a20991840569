"""One settings object for the whole project; every value can be overridden with an ONELICENSE_ variable."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONELICENSE_", extra="ignore")

    data_dir: Path = Field(default=REPO_ROOT / "data", description="keys, SQLite file, rendered PDFs")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in data_dir if unset")
    catalog_dir: Path = Field(default=REPO_ROOT / "forms" / "catalog")
    templates_dir: Path = Field(default=REPO_ROOT / "templates")
    public_base_url: str = "http://127.0.0.1:8000"
    license_authority_name: str = Field(default="重庆高新区行政审批局", description="发证机关, printed on licenses")
    license_region_code: str = Field(default="500107", pattern=r"^\d{6}$", description="行政区划代码 in numbers")
    dispatch_interval_seconds: float = 0.5
    department_push_retries: int = 2
    outbox_lease_seconds: float = Field(
        default=60, description="a message held by a dead worker is due again after this"
    )
    department_endpoints: dict[str, str] = Field(
        default_factory=dict, description='JSON: {"DEPT_CODE": "https://dept.example/api/applications"}'
    )

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'onelicense.db'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
