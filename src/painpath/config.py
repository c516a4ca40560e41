"""One settings object for the service adapters (API, web, storage), read from the environment.

Every setting has a working default so ``painpath serve`` needs no configuration:
SQLite in ``PAINPATH_DATA_DIR``, by default the user's data directory as platformdirs names it
(``~/.local/share/painpath`` on Linux, ``~/Library/Application Support/painpath`` on macOS,
``%LOCALAPPDATA%\\painpath`` on Windows), so the database is the same wherever a command is run
from. ``DATABASE_URL`` switches to PostgreSQL, e.g. ``postgresql+psycopg://user@127.0.0.1:5432/painpath``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from painpath.errors import ConfigError


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
    max_answers_per_request: int = Field(default=120, ge=1)
    login_attempts: int = Field(default=5, ge=1, description="failed logins per email and client in the window")
    login_window_seconds: int = Field(default=900, ge=1)
    token_failures: int = Field(default=20, ge=1, description="bad bearer tokens per client in the window")
    token_window_seconds: int = Field(default=300, ge=1)
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
