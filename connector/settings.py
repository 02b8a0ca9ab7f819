"""Connector settings: one `Settings` per partner, from a TOML file plus `GEMELLO_*` variables.

Precedence, highest first: explicit overrides (CLI flags, tests) > environment > partner TOML >
defaults. Relative paths in a TOML file are resolved against the dataspace home (the directory
that holds `deploy/`), so the same file works from any working directory.
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

PARTNER_ID_PATTERN = r"^[a-z][a-z0-9-]{1,30}$"

# regopy: rego-cpp in process (default); opa-engine: OPA's Go engine in process; opa: an OPA
# server (sidecar) reached at `opa_url`.
PdpBackend = Literal["regopy", "opa-engine", "opa"]


def source_root() -> Path:
    """The checkout (or install prefix) that holds the project's packages."""
    return Path(__file__).resolve().parents[1]


def default_home() -> Path:
    """The dataspace home: `GEMELLO_HOME`, else the source checkout (which ships `deploy/`)."""
    env = os.environ.get("GEMELLO_HOME")
    return Path(env) if env else source_root()


class ConfigError(Exception):
    """A configuration problem, reported to the operator as one line (exit code 2)."""


class _PartnerTomlSource(PydanticBaseSettingsSource):
    """Lowest-priority source: the partner TOML named by the `config_file` init argument."""

    def __init__(self, settings_cls: type[BaseSettings], init: InitSettingsSource) -> None:
        super().__init__(settings_cls)
        self._path: Path | None = init.init_kwargs.get("config_file")

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # noqa: ARG002
        # Unused: __call__ returns the whole mapping at once.
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        if self._path is None:
            return {}
        return read_toml(Path(self._path))


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning every failure into a one-line ConfigError."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc


class Settings(BaseSettings):
    """Everything one partner connector needs to start."""

    model_config = SettingsConfigDict(
        env_prefix="GEMELLO_", extra="forbid", validate_default=True, frozen=True
    )

    partner: str = Field(pattern=PARTNER_ID_PATTERN, description="partner id, e.g. 'comune'")
    legal_name: str = Field(default="", description="organisation name shown to people")
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8400, ge=0, le=65535, description="0 lets the OS pick")
    home: Path = Field(default_factory=default_home, description="dataspace home (has deploy/)")
    data_dir: Path | None = Field(default=None, description="default: <home>/var/<partner>")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in data_dir"
    )
    pdp_backend: PdpBackend = "regopy"
    opa_url: str = Field(
        default="http://127.0.0.1:8181", description="OPA server, for pdp_backend = 'opa'"
    )
    shared_dir: Path | None = Field(
        default=None, description="third-party material; default: <source root>/../shared"
    )
    synthetic_seed: int = Field(default=20230516, ge=0)
    trust_list: Path | None = Field(
        default=None, description="signed dataspace trust list; default: <home>/var/dataspace.toml"
    )
    trust_anchor: Path | None = Field(
        default=None,
        description="the authority's public key (JWK) that signs the trust list; "
        "default: <home>/var/trust-anchor.json",
    )
    dcat_ap_shapes: Path | None = Field(
        default=None,
        description="official DCAT-AP 3.0.1 SHACL file checked on publish; default: "
        "<shared>/standards/dcat-ap/3.0.1/shacl/dcat-ap-SHACL.ttl when present",
    )
    catalog_refresh_seconds: float = Field(
        default=300.0,
        ge=0,
        description="how often the federated catalogue re-crawls the members (0: only on demand)",
    )
    serve_workers: int = Field(
        default=1,
        ge=1,
        le=16,
        description="server processes (`connector serve`); with more than one, one of them runs "
        "the background work (outbox, catalogue crawl)",
    )
    serve_requests_per_connection: int = Field(
        default=100,
        ge=0,
        description="with several server processes, end a keep-alive connection after this "
        "many requests so the processes share the work (0: never)",
    )
    privacy_min_group_size: int = Field(
        default=10, ge=1, description="DP cells with a smaller noisy count are suppressed"
    )
    privacy_dominance_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="a sum cell is suppressed when one contributor could hold more than this share",
    )
    privacy_default_epsilon_total: float = Field(
        default=5.0,
        gt=0,
        description="epsilon an organisation may spend on one dataset when its policy sets no "
        "epsilonTotal",
    )
    privacy_default_epsilon_per_query: float = Field(
        default=1.0, gt=0, description="largest epsilon of one query when the policy sets none"
    )
    compute_executor: Literal["auto", "inline", "process", "dask", "slurm"] = Field(
        default="auto",
        description="where model stages run: auto = light ones inline, heavy ones in a "
        "process each; dask = on the cluster at compute_dask_address; slurm = heavy ones as "
        "Slurm jobs (slurm_* settings; the data dir on the nodes' shared file system)",
    )
    slurm_partition: str | None = Field(default=None, description="slurm: #SBATCH -p")
    slurm_account: str | None = Field(default=None, description="slurm: #SBATCH -A (project)")
    slurm_walltime: str = Field(
        default="01:00:00",
        pattern=r"^(\d+-)?\d{1,2}:\d{2}:\d{2}$",
        description="slurm: a worker job's walltime ([D-]HH:MM:SS)",
    )
    slurm_cores: int = Field(default=1, ge=1, le=1024, description="slurm: cores per worker job")
    slurm_memory: str = Field(
        default="4GiB", pattern=r"^\d+(\.\d+)?\s*[KMGT]i?B$", description="slurm: memory per job"
    )
    slurm_max_workers: int = Field(
        default=4, ge=1, le=1000, description="slurm: most worker jobs at once"
    )
    slurm_scheduler_host: str | None = Field(
        default=None,
        description="slurm: the address of this host the compute nodes reach (the Dask "
        "scheduler listens there; default 127.0.0.1, a single-node cluster)",
    )
    slurm_python: str | None = Field(
        default=None, description="slurm: the Python on the compute nodes (default: this one)"
    )
    slurm_job_extra: tuple[str, ...] = Field(
        default=(), description="slurm: further #SBATCH directives, e.g. --qos=normal"
    )
    compute_dask_address: str | None = Field(
        default=None, description="Dask scheduler address (tcp://host:8786) for 'dask'"
    )
    compute_timeout_seconds: float = Field(
        default=600.0, gt=0, le=86_400, description="longest a model stage may run here"
    )
    compute_noise: bool = Field(
        default=True,
        description="DP noise on model outputs from protected datasets; only the federated "
        "equivalence test turns it off",
    )
    job_holder_timeout_seconds: float = Field(
        default=900.0, gt=0, description="gateway: longest wait for one holder's partial"
    )
    ogc_sync_seconds: float = Field(
        default=60.0,
        ge=0,
        le=600,
        description="OGC API - Processes: longest wait of a synchronous execution; a longer run "
        "answers 201 with the job's status, as an asynchronous one",
    )
    audit_sequence_seconds: float = Field(
        default=0.2,
        gt=0,
        le=60,
        description="integrate the events queued by actions into the audit log this often "
        "(reads that need the whole log integrate first anyway)",
    )
    audit_checkpoint_seconds: float = Field(
        default=10.0,
        ge=0,
        description="sign a tree head this often when the log grew (0: only on demand)",
    )
    portal_federation: bool = Field(
        default=False,
        description="the public portal also shows every member's published results and data "
        "use on one page, /public/federation (the comune's does)",
    )
    console_idle_minutes: float = Field(
        default=30, gt=0, le=24 * 60, description="a console session ends after this idle time"
    )
    console_session_hours: float = Field(
        default=12, gt=0, le=7 * 24, description="a console session ends this long after sign-in"
    )
    audit_witness_seconds: float = Field(
        default=10.0,
        ge=0,
        description="fetch, check and co-sign the other members' heads this often (0: off)",
    )
    config_file: Path | None = Field(default=None, exclude=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Overrides beat the environment, which beats the partner TOML."""
        assert isinstance(init_settings, InitSettingsSource)
        del dotenv_settings, file_secret_settings
        return (init_settings, env_settings, _PartnerTomlSource(settings_cls, init_settings))

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return value

    @model_validator(mode="after")
    def _resolve_paths(self) -> Settings:
        home = self.home.expanduser().resolve()
        object.__setattr__(self, "home", home)
        data_dir = self.data_dir or Path("var") / self.partner
        object.__setattr__(self, "data_dir", _under(home, data_dir))
        shared = self.shared_dir or source_root().parent / "shared"
        object.__setattr__(self, "shared_dir", _under(home, shared))
        var = home / "var"
        object.__setattr__(
            self, "trust_list", _under(home, self.trust_list or var / "dataspace.toml")
        )
        object.__setattr__(
            self, "trust_anchor", _under(home, self.trust_anchor or var / "trust-anchor.json")
        )
        if self.dcat_ap_shapes is not None:
            object.__setattr__(self, "dcat_ap_shapes", _under(home, self.dcat_ap_shapes))
        if self.database_url is None:
            url = f"sqlite:///{self.resolved_data_dir / 'connector.db'}"
            object.__setattr__(self, "database_url", url)
        return self

    @property
    def resolved_data_dir(self) -> Path:
        """The data directory, always absolute after validation."""
        assert self.data_dir is not None
        return self.data_dir

    @property
    def trust_list_path(self) -> Path:
        """The signed trust list, always absolute after validation."""
        assert self.trust_list is not None
        return self.trust_list

    @property
    def trust_anchor_path(self) -> Path:
        """The authority's public key file, always absolute after validation."""
        assert self.trust_anchor is not None
        return self.trust_anchor

    @property
    def db_url(self) -> str:
        """The database URL, always set after validation."""
        assert self.database_url is not None
        return self.database_url

    def pdp_options(self) -> dict[str, Any]:
        """Keyword arguments for the chosen PDP adapter."""
        return {"url": self.opa_url} if self.pdp_backend == "opa" else {}

    @property
    def official_shapes(self) -> Path | None:
        """The official DCAT-AP shapes to validate against, or None when they are not here."""
        assert self.shared_dir is not None
        path = self.dcat_ap_shapes or (
            self.shared_dir / "standards" / "dcat-ap" / "3.0.1" / "shacl" / "dcat-ap-SHACL.ttl"
        )
        return path if path.is_file() else None

    @property
    def bologna_dir(self) -> Path | None:
        """The real Bologna open data, or None when the shared folder is absent."""
        assert self.shared_dir is not None
        path = self.shared_dir / "data" / "bologna"
        return path if (path / "SOURCES.md").is_file() else None


def _under(base: Path, path: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def partner_config_path(home: Path, partner: str) -> Path:
    """Where a partner's TOML lives inside a dataspace home."""
    return home / "deploy" / "partners" / f"{partner}.toml"


ENV_PREFIX = "GEMELLO_"
# Variables Gemello reads that are not settings of a connector.
OTHER_VARIABLES = frozenset({"GEMELLO_HOME", "GEMELLO_TOKEN", "GEMELLO_SERVE_PARTNER"})
log = logging.getLogger("gemello.settings")


def env_name(field: str) -> str:
    """The environment variable of a setting."""
    return ENV_PREFIX + field.upper()


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A warning for each `GEMELLO_*` variable that is no setting, with the closest name: a typo
    such as GEMELLO_PRT is otherwise ignored without a word."""
    known = {env_name(f) for f in Settings.model_fields if f != "config_file"} | OTHER_VARIABLES
    out = []
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX) or name.upper() in known:
            continue
        close = difflib.get_close_matches(name.upper(), sorted(known), 1, 0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        out.append(f"{name} is not a Gemello setting and is ignored{hint}")
    return out


@functools.cache
def _warn_once(message: str) -> None:
    log.warning("%s", message)


def load_settings(partner: str, home: Path | None = None, **overrides: Any) -> Settings:
    """Load a partner's settings; raise ConfigError with a one-line message on any problem,
    naming where the bad value came from (an override, a `GEMELLO_*` variable or the file)."""
    home = (home or default_home()).resolve()
    path = partner_config_path(home, partner)
    if not path.is_file():
        known = sorted(p.stem for p in path.parent.glob("*.toml"))
        raise ConfigError(f"no config for partner '{partner}' in {path.parent} (known: {known})")
    for warning in unknown_variables(os.environ):
        _warn_once(warning)
    try:
        settings = Settings(config_file=path, home=home, **overrides)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, path, set(overrides))) from exc
    if settings.partner != partner:
        raise ConfigError(f"{path}: partner: file says '{settings.partner}', expected '{partner}'")
    return settings


def setting_source(field: str, path: Path | None, overrides: set[str] | None = None) -> str:
    """Where a setting's value comes from: an override, its variable, or the partner file."""
    if field in (overrides or set()):
        return "the command line"
    if env_name(field) in os.environ:
        return env_name(field)
    return f"{path}" if path is not None else "the settings"


def describe_validation_error(
    exc: ValidationError, path: Path | None = None, overrides: set[str] | None = None
) -> str:
    """Render pydantic errors as `source: key: problem (got value)`, joined on one line."""
    parts = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "settings"
        got = err.get("input")
        shown = f" (got {got!r})" if err["type"] != "missing" and not isinstance(got, dict) else ""
        field = str(err["loc"][0]) if err["loc"] else ""
        source = setting_source(field, path, overrides)
        if source.startswith(ENV_PREFIX):  # the variable's name says which setting
            parts.append(f"{source}: {err['msg']}{shown}")
        elif path is not None:
            parts.append(f"{source}: {key}: {err['msg']}{shown}")
        else:
            parts.append(f"{key}: {err['msg']}{shown}")
    return "; ".join(parts)


def database_source(settings: Settings) -> str:
    """Where a connector's database URL comes from, in words (for errors that must say which
    setting to fix)."""
    if env_name("database_url") in os.environ:
        return f"{env_name('database_url')} in the environment"
    if settings.config_file is not None and "database_url" in read_toml(settings.config_file):
        return f"database_url in {settings.config_file}"
    return f"the default SQLite file in data_dir (set database_url in {settings.config_file})"
