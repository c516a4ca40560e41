"""One settings object for the service adapters (API, web, storage), read from the environment.

Every setting has a working default so ``painpath serve`` needs no configuration:
SQLite in ``PAINPATH_DATA_DIR``, by default the user's data directory as platformdirs names it
(``~/.local/share/painpath`` on Linux, ``~/Library/Application Support/painpath`` on macOS,
``%LOCALAPPDATA%\\painpath`` on Windows), so the database is the same wherever a command is run
from. ``DATABASE_URL`` switches to PostgreSQL, e.g. ``postgresql+psycopg://user@127.0.0.1:5432/painpath``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from painpath.errors import ConfigError

ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def cors_list(value: str) -> list[str]:
    """The origins of a comma-separated setting (spaces and a trailing slash ignored)."""
    return [o.strip().rstrip("/") for o in value.split(",") if o.strip()]


def default_data_dir() -> Path:
    """Where the SQLite database lives unless PAINPATH_DATA_DIR says otherwise (independent of the working
    directory)."""
    return Path(user_data_dir("painpath", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAINPATH_", extra="ignore", env_ignore_empty=True)

    data_dir: Path = Field(default_factory=default_data_dir,
                           description="where the SQLite database lives (default: the user's data directory)")
    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="SQLAlchemy URL; unset means SQLite in data_dir",
    )
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, description="largest request body accepted")
    fhir_max_body_bytes: int = Field(
        default=512 * 1024, ge=1024,
        description="largest request body accepted by the FHIR operations ($next-question, $assess) and the CDS "
        "Hooks services, whose QuestionnaireResponse carries the whole interview (at least max_body_bytes is "
        "used); the default is about 1.6 times the largest possible adaptive response, pretty-printed")
    max_answers_per_request: int = Field(default=120, ge=1)
    login_attempts: int = Field(default=5, ge=1, description="failed logins per email and client in the window")
    login_window_seconds: int = Field(default=900, ge=1)
    login_account_attempts: int = Field(default=20, ge=1,
                                        description="failed logins per email over all clients in the window")
    token_failures: int = Field(default=20, ge=1, description="bad bearer tokens per client in the window")
    token_window_seconds: int = Field(default=300, ge=1)
    claim_attempts: int = Field(default=20, ge=1, description="failed claims by share code per client in the "
                                "claim window (five times as many per clinic)")
    claim_window_seconds: int = Field(default=900, ge=1)
    intake_per_client: int = Field(default=30, ge=1, description="assessments started without an account through "
                                   "one intake code from one client in the intake window")
    intake_per_code: int = Field(default=300, ge=1, description="assessments started without an account through "
                                 "one intake code from all clients in the intake window")
    intake_window_seconds: int = Field(default=3600, ge=1)
    anonymous_per_client: int = Field(default=300, ge=1, description="assessments started without an account and "
                                      "without an intake code from one client in the intake window")
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="addresses of the reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed "
        "(comma-separated IPs or networks, passed to uvicorn's forwarded_allow_ips); '*' trusts every client")
    session_hours: int = Field(default=12, ge=1, description="lifetime of a clinician login session")
    public_base_url: str = Field(default="", description="used to build share links, e.g. https://painpath.example")
    auto_migrate: bool = Field(default=True, description="apply database migrations at start-up")
    db_pool_size: int = Field(default=5, ge=1, le=100,
                              description="PostgreSQL connections kept open per worker process")
    db_max_overflow: int = Field(default=10, ge=0, le=100,
                                 description="extra PostgreSQL connections a worker may open under load")
    cds_issuers: dict[str, dict[str, object]] = Field(
        default_factory=dict,
        description="CDS Hooks: allowed JWT issuers, each mapped to its JWKS as inline JSON, e.g. "
        '{"https://ehr.example.org": {"keys": [...]}}; empty refuses every CDS service call',
    )
    cds_clock_skew_seconds: int = Field(default=60, ge=0, le=600, description="leeway for CDS JWT exp and iat")
    region: str = Field(
        default="default",
        description="country whose emergency number and health services the advice names: GB, US, ES, "
        "or unset for neutral wording ('your local emergency number'); see careplan/data/regions.yaml",
    )

    @field_validator("region", mode="before")
    @classmethod
    def _known_region(cls, value: object) -> str:
        from painpath.careplan.regions import region_code  # data lives with the care content

        try:
            return region_code(None if value is None else str(value))
        except ValueError as exc:
            raise ValueError(str(exc).removeprefix("PAINPATH_REGION: ")) from None

    cors_origins: str = Field(
        default="",
        description="CORS: comma-separated origins whose browser apps may call /fhir, /cds-services and /v1, e.g. "
        "'https://forms.hospital.example,http://localhost:8080' ('*' for any origin); empty allows none. "
        "Credentials (cookies) are never allowed cross-origin: callers send a bearer token",
    )

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, value: str) -> str:
        bad = [o for o in cors_list(value) if o != "*" and not ORIGIN.fullmatch(o)]
        if bad:
            raise ValueError(f"not an origin (scheme://host[:port], no path): {', '.join(bad)}")
        return value

    @property
    def cors_origin_list(self) -> list[str]:
        return cors_list(self.cors_origins)

    @property
    def url(self) -> str:
        if self.database_url:
            url = self.database_url
            if url.startswith("postgres://"):
                url = "postgresql://" + url[len("postgres://"):]
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://"):]
            return url
        return f"sqlite:///{self.sqlite_path}"

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file (an absolute path), or None when DATABASE_URL names another database."""
        if self.database_url:
            return None
        return (self.data_dir.expanduser() / "painpath.sqlite3").resolve()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings from the environment; an invalid value raises ConfigError naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            var = "DATABASE_URL" if field == "database_url" else f"PAINPATH_{field.upper()}"
            problems.append(f"{var}: {err['msg']} (got {str(err.get('input'))[:60]!r})")
        raise ConfigError("invalid setting " + "; ".join(problems)) from None
    except SettingsError as exc:  # a value pydantic-settings must decode first (JSON for cds_issuers)
        field = str(exc).split('"')[1] if str(exc).count('"') >= 2 else "?"
        cause = exc.__cause__
        raise ConfigError(f"invalid setting PAINPATH_{field.upper()}: not valid JSON"
                          + (f" ({cause})" if cause else "")) from None
