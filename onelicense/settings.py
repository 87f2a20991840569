"""One settings object for the whole project; every value can be overridden with an ONELICENSE_ variable.

This is the ground of the import graph: it imports nothing of ours. Pure code (`forms`, `review`, `licenses`)
never reads it; the service layer and the entry points (API, CLI, flows) read it and pass on what the pure code
needs (catalog folder, templates folder) as arguments."""

from __future__ import annotations

import os
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONELICENSE_", extra="ignore")

    data_dir: Path = Field(
        default_factory=lambda: Path.cwd() / "data",
        validate_default=True,
        description="SQLite file, keys, rendered PDFs, uploads, Prefect's home: ./data of the working folder",
    )
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in data_dir if unset")
    catalog_dir: Path | None = Field(default=None, description="a catalog folder of your own; default: the shipped one")
    templates_dir: Path | None = Field(default=None, description="templates of your own; default: the shipped ones")
    public_base_url: str = "http://127.0.0.1:8000"
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="largest API request body (413 beyond)")
    max_concurrent_requests: int = Field(
        default=48, ge=1, description="requests one API process works on at once; more wait briefly, then 503"
    )
    db_pool_size: int = Field(default=40, ge=1, description="database connections per process (plus half again)")
    keep_alive_seconds: int = Field(
        default=75,
        ge=1,
        description="how long the API keeps an idle connection open: longer than any client or reverse proxy in front "
        "keeps one (httpx 5 s, nginx's upstream keepalive_timeout 60 s), so the client always closes it, never the "
        "server under a request on its way (docs/operations.md)",
    )
    background_niceness: int = Field(
        default=10,
        ge=0,
        le=19,
        description="CPU niceness of the dispatcher, its certificate renderers and the Prefect workers `serve` starts: "
        "on a machine the API shares, background work yields to requests (0: the same priority)",
    )
    license_authority_name: str = Field(default="重庆高新区行政审批局", description="发证机关, printed on licenses")
    license_region_code: str = Field(default="500107", pattern=r"^\d{6}$", description="行政区划代码 in numbers")
    # 证照标识 (GB/T 36904). The embedded defaults are LOCAL/TEST VALUES that identify no real authority: a deployment
    # sets both before its first license, and keeps them (every identifier issued is built from them).
    license_type_code: str = Field(
        default="11500107000000000P001",
        pattern=r"^[0-9A-Z]+$",
        description="证照类型代码 of the 证照标识: assigned when the license type is registered in the 电子证照目录 (real "
        "ones: the defining department's USCC + 3 digits); the default is a local/test value",
    )
    license_issuer_uscc: str = Field(
        default="11500107000000000P",
        pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$",
        description="统一社会信用代码 of the issuing authority (颁发机构代码 of the 证照标识, in the PDF's keywords); the "
        "default is a local/test value",
    )
    # The certificate PDF's PAdES signature (ECDSA P-256). Unset: a local issuing root and document-signing key are
    # made on first need in DATA_DIR/keys/document/ (docs/licenses.md: what a real CA issues, key storage).
    document_signing_certificate: Path | None = Field(
        default=None,
        description="PEM: the document-signing certificate a CA issued to the issuing authority (ECDSA P-256, keyUsage "
        "digitalSignature + nonRepudiation); unset: the local one in DATA_DIR/keys/document",
    )
    document_signing_key: Path | None = Field(
        default=None,
        description="PEM (PKCS#8, unencrypted): that certificate's private key, owned by the service account, mode 0600",
    )
    document_signing_chain: Path | None = Field(
        default=None, description="PEM: the certificates above it (intermediate CAs, the root), embedded in each PDF"
    )
    document_trust_roots: Path | None = Field(
        default=None,
        description="PEM: root certificates `onelicense verify` trusts for the PDF signature, besides the local root",
    )
    dispatch_interval_seconds: float = Field(default=0.5, gt=0, description="how often an idle dispatcher looks")
    dispatch_batch_window_seconds: float = Field(
        default=0.25, ge=0, description="a busy dispatcher waits this long between rounds, so batches gather"
    )
    dispatch_flow_runs: int = Field(
        default=2,
        ge=1,
        description="flow runs of one kind (fan-out, aggregate) a dispatcher keeps going at once: a batch held up "
        "(a department's slow system, Prefect's server) does not hold back the next; more runs cost more per "
        "application on a small machine (docs/performance.md)",
    )
    department_push_retries: int = 2
    department_push_timeout_seconds: float = 5.0
    outbox_lease_seconds: float = Field(
        default=15, gt=0, description="a lease its dispatcher stops renewing (it died) runs out after this"
    )
    pdf_workers: int = Field(
        default_factory=lambda: max(1, min(2, os.cpu_count() or 1)),
        ge=1,
        description="processes rendering certificates (CPU work; Pango is not thread-safe)",
    )
    outbox_max_attempts: int = Field(
        default=20, ge=1, description="failed attempts (2 s … 10 min apart) before a message goes to the dead letters"
    )
    health_outbox_max_age_seconds: int = Field(
        default=300,
        ge=10,
        description="/readyz fails when outbox work has been due this long: no dispatcher is taking it",
    )
    log_json: bool = Field(default=False, description="log lines as JSON objects (with the request id) instead of text")
    health_min_free_mb: int = Field(default=1024, ge=0, description="/readyz fails below this free space in DATA_DIR")
    department_endpoints: dict[str, str] = Field(
        default_factory=dict, description='JSON: {"DEPT_CODE": "https://dept.example/api/applications"}'
    )
    prefect_api_url: str | None = Field(
        default=None, description="a Prefect server to use; unset: `serve`/`demo` start one of their own"
    )
    prefect_port: int = Field(default=4200, description="port of the Prefect server that `serve`/`demo` start")
    prefect_database_url: str | None = Field(
        default=None,
        description="database of the Prefect server `serve` starts (postgresql+asyncpg://…); default: SQLite in its home",
    )
    prefect_startup_timeout_seconds: float = Field(
        default=180, description="how long `serve`/`demo` wait for their Prefect server to answer"
    )

    session_hours: float = Field(default=8, gt=0, description="how long a portal sign-in lasts")
    secure_cookies: bool = Field(default=False, description="mark the portal's cookies Secure (behind https)")
    login_max_failures: int = Field(
        default=5, ge=1, description="failed sign-ins in a row (per account and address) before each next one waits"
    )
    login_lockout_minutes: float = Field(default=15, gt=0, description="the longest wait between two sign-in attempts")
    login_address_limit: int = Field(
        default=300, ge=1, description="sign-in attempts per client address in 15 minutes (a hall behind one NAT)"
    )
    register_address_limit: int = Field(
        default=30, ge=1, description="registration codes and registrations per client address per hour"
    )
    password_hash_slots: int = Field(
        default_factory=lambda: max(1, min(4, os.cpu_count() or 1)),
        ge=1,
        description="password hashes (argon2) computed at once per process; past them a fast 503",
    )
    password_hash_wait_seconds: float = Field(default=2, ge=0, description="how long a sign-in waits for a slot")
    forwarded_allow_ips: str = Field(
        default="",
        description="addresses of the reverse proxies whose X-Forwarded-For is believed (comma-separated, or *); "
        "empty: none, the client address is the connection's",
    )
    upload_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, description="largest material file uploaded")
    upload_quota_bytes: int = Field(
        default=200 * 1024 * 1024, ge=1024, description="all files one account keeps uploaded (409 beyond)"
    )
    upload_orphan_days: int = Field(
        default=7, ge=1, description="an upload nothing refers to is deleted by the daily sweep after this many days"
    )
    registry_url: str | None = Field(
        default=None,
        description="the business registry (市场主体登记) lookup, GET <url>/<USCC> → JSON; unset: the local stand-in "
        "table (registry_entries, `onelicense registry import`)",
    )
    oidc_issuer: str | None = Field(
        default=None, description="the identity provider (统一身份认证 / 电子营业执照, OpenID Connect): its issuer URL"
    )
    oidc_client_id: str | None = Field(default=None, description="our client id at the identity provider")
    oidc_client_secret: str | None = Field(default=None, description="our client secret there (client_secret_basic)")
    oidc_uscc_claim: str = Field(default="uscc", description="the ID token claim carrying the 统一社会信用代码")
    oidc_scopes: str = Field(default="openid profile phone uscc", description="the scopes asked for")
    oidc_label: str = Field(default="统一身份认证", description="the sign-in button's name for the provider")
    registry_timeout_seconds: float = Field(default=5, gt=0, description="how long a registry lookup may take")
    code_minutes: float = Field(default=10, gt=0, description="how long an SMS code (phone, binding) stays valid")
    code_max_attempts: int = Field(default=5, ge=1, description="wrong entries before an SMS code is spent")
    sms_per_number_per_hour: int = Field(default=5, ge=1, description="codes sent to one mobile number per hour")
    sms_interval_seconds: float = Field(default=60, ge=0, description="least time between two codes to one number")
    rating_reply_days: int = Field(default=5, ge=1, description="working days a department has to answer a 差评")

    calendar_refresh_seconds: float = Field(
        default=2, ge=0, description="how often a process looks whether a holiday arrangement was imported"
    )
    sweep_interval_seconds: float = Field(
        default=3600, gt=0, description="how often the dispatcher runs the (idempotent) daily sweep"
    )
    inspection_days: int = Field(default=20, ge=1, description="working days for the 事后核查 of a trusted permit")
    reminder_days: list[int] = Field(
        default_factory=lambda: [5, 1, 0], description="remind holders this many working days before a deadline"
    )
    rectification_days: int = Field(default=10, ge=1, description="default 限期整改 period in working days")
    publicity_days: int = Field(default=5, ge=1, description="公示 period in working days before a listing")
    dishonesty_block_years: int = Field(default=2, ge=1, description="years a listed holder loses 告知承诺制")
    credit_repair_min_days: int = Field(
        default=90, ge=0, description="days on the 失信名单 before the holder may apply for 信用修复"
    )
    credit_repair_review_days: int = Field(
        default=5, ge=1, description="working days the department has to decide an application for 信用修复"
    )
    renewal_reminder_days: list[int] = Field(
        default_factory=lambda: [90, 30], description="remind holders this many days before a permit expires"
    )
    notify_channels: list[str] = Field(
        default_factory=list, description='JSON list of channels besides the portal inbox: "webhook", "email"'
    )
    notify_webhook_url: str | None = Field(default=None, description="SMS gateway / 短信平台 webhook (POST JSON)")
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_starttls: bool = Field(default=True, description="upgrade the SMTP connection with STARTTLS (required)")
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_sender: str = "noreply@onelicense.local"
    smtp_timeout_seconds: float = 10.0
    smtp_ca_file: Path | None = Field(default=None, description="CA bundle for the SMTP server's certificate")

    production: bool = Field(
        default=False,
        description="a production deployment: settings meant only for training and tests (a moved clock) are refused",
    )
    clock_shift: timedelta | None = Field(
        default=None,
        description="NOT for production: move the one clock by this much (ISO 8601, e.g. P45D or -P1DT2H) for "
        "training and acceptance tests; every page shows a banner while it is set",
    )

    @model_validator(mode="after")
    def _no_moved_clock_in_production(self) -> Settings:
        if self.production and self.clock_shift:
            raise ValueError(
                "ONELICENSE_CLOCK_SHIFT 仅用于培训和验收测试：生产部署（ONELICENSE_PRODUCTION=true）不允许拨动时钟"
            )
        return self

    @model_validator(mode="after")
    def _document_key_with_its_certificate(self) -> Settings:
        if (self.document_signing_certificate is None) != (self.document_signing_key is None):
            raise ValueError(
                "ONELICENSE_DOCUMENT_SIGNING_CERTIFICATE 与 ONELICENSE_DOCUMENT_SIGNING_KEY 须同时设置（或都不设置）"
            )
        return self

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        # resolved once, so a later change of working folder cannot move the data
        return value.expanduser().resolve()

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'onelicense.db'}"

    @property
    def prefect_home(self) -> Path:
        return self.data_dir / "prefect"


@lru_cache
def get_settings() -> Settings:
    return Settings()
