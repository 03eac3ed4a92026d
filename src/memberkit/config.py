"""Settings, read once from environment variables prefixed ``MEMBERKIT_``."""

from __future__ import annotations

import ipaddress
import secrets
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(value: str) -> tuple[IPNetwork, ...]:
    """Parse comma-separated CIDRs (``10.0.0.0/8, ::1/128``); a bare address is one host."""
    try:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in value.split(",")
            if part.strip()
        )
    except ValueError as exc:
        raise ValueError(f"not a network (CIDR): {exc}") from None


class Settings(BaseSettings):
    """Every setting of a deployment; nothing else reads the environment."""

    model_config = SettingsConfigDict(env_prefix="MEMBERKIT_", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str = ""
    #: Where reports read (a PostgreSQL read replica). Unset: on SQLite a read-only connection
    #: of the same file (WAL readers never block the order path's writers); on PostgreSQL the
    #: main database, in ``READ ONLY`` transactions.
    analytics_database_url: str = ""
    secret_key: str = ""
    default_locale: str = "zh_CN"
    timezone: str = "Asia/Shanghai"
    scheduler: bool = True
    expire_points_at: str = "02:00"
    #: The largest request body accepted, in bytes; a larger one is refused (413) unread.
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=1_073_741_824)
    #: The same for the bulk import of history (``POST /api/v1/orders/import``): its 10,000
    #: rows of about 250 bytes each need more than the default.
    max_import_body_bytes: int = Field(default=8_388_608, ge=1024, le=1_073_741_824)
    #: Threads serving requests in one process; the connection pool holds as many connections.
    threads: int = Field(default=40, ge=1, le=1000)
    #: Seconds a request waits for a database lock before it is answered 503 (retry later).
    lock_timeout: float = Field(default=10.0, gt=0, le=600)
    #: Run the outbox worker (webhook deliveries) inside ``memberkit serve``.
    outbox_worker: bool = True
    #: Webhooks: hours a failing delivery is retried; the total deadline of one attempt (s:
    #: resolving, connecting, sending and reading the answer); the connect timeout of one
    #: address (s, within the deadline); failures that switch a subscription off; a worker's
    #: poll interval (s) and how long it holds a claim (s, longer than the deadline).
    webhook_retry_hours: int = Field(default=24, ge=1, le=24 * 30)
    webhook_deadline_seconds: float = Field(default=10.0, gt=0, le=300)
    webhook_connect_timeout: float = Field(default=5.0, gt=0, le=60)
    webhook_disable_after: int = Field(default=20, ge=1, le=10_000)
    webhook_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    webhook_lease_seconds: int = Field(default=60, ge=1, le=3600)
    #: Staff sessions: minutes of inactivity that end one, and hours one lasts at most.
    staff_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    staff_session_hours: int = Field(default=12, ge=1, le=24 * 30)
    #: Staff sign-in: this many failures of one account within the window lock it for the
    #: lock-out (which lasts at least the window); one address may fail this often per window.
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    login_lockout_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)
    login_ip_max_failures: int = Field(default=20, ge=1, le=100_000)
    #: Argon2id cost of staff passwords; a stored hash made with other costs is redone at the
    #: next sign-in.
    password_time_cost: int = Field(default=3, ge=1, le=20)
    password_memory_kib: int = Field(default=65_536, ge=8_192, le=4_194_304)
    password_parallelism: int = Field(default=4, ge=1, le=64)
    #: Proxies (addresses or CIDRs, comma-separated; ``*`` for any) whose X-Forwarded-For is
    #: believed as the client's address; none by default.
    trusted_proxies: str = ""
    #: Networks (CIDRs, comma-separated) that receivers may be on although they are not
    #: public: loopback, private, link-local, … addresses are refused unless listed here.
    webhook_allow_networks: str = ""
    #: Days a fully sent outbox event (and its deliveries) is kept before the daily purge.
    outbox_retention_days: int = Field(default=30, ge=1, le=3650)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if value not in ("zh_CN", "en"):
            raise ValueError("default_locale must be zh_CN or en")
        return value

    @field_validator("webhook_allow_networks")
    @classmethod
    def _known_networks(cls, value: str) -> str:
        _networks(value)
        return value

    @model_validator(mode="after")
    def _lease_outlasts_an_attempt(self) -> Settings:
        if self.webhook_lease_seconds <= self.webhook_deadline_seconds:
            raise ValueError(
                "webhook_lease_seconds must exceed webhook_deadline_seconds (an attempt must"
                " be over before its claim runs out, or another worker could make it again)"
            )
        return self

    @model_validator(mode="after")
    def _lockout_outlasts_the_window(self) -> Settings:
        # Failures before a lock-out then never count again after it (staff/rules.py).
        if self.login_lockout_minutes < self.login_window_minutes:
            raise ValueError("login_lockout_minutes must be at least login_window_minutes")
        return self

    @property
    def webhook_allowed_networks(self) -> tuple[IPNetwork, ...]:
        """The networks of ``webhook_allow_networks``, parsed."""
        return _networks(self.webhook_allow_networks)

    @property
    def tz(self) -> ZoneInfo:
        """The program's timezone: dates shown to people and calendar rules use it."""
        return ZoneInfo(self.timezone)

    @property
    def resolved_database_url(self) -> str:
        """The database URL; the embedded SQLite file under the data dir by default."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'memberkit.db').as_posix()}"

    @cached_property
    def resolved_secret_key(self) -> bytes:
        """The master secret; generated once into the data dir when none is configured.

        PII is encrypted with keys derived from it, so losing it loses the data: back it up.
        """
        if self.secret_key:
            return self.secret_key.encode()
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip().encode()


settings = Settings()


def configure(**overrides: object) -> Settings:
    """Replace the settings in place (tests and CLI options); returns the live object."""
    fresh = Settings(**overrides)  # type: ignore[arg-type]
    for name in Settings.model_fields:
        setattr(settings, name, getattr(fresh, name))
    settings.__dict__.pop("resolved_secret_key", None)
    return settings
