"""The dataspace description: its members (id, legal name, connector URL, public keys)."""

from __future__ import annotations

from pathlib import Path

import tomli_w
from pydantic import BaseModel, Field, ValidationError

from connector.settings import PARTNER_ID_PATTERN, ConfigError, describe_validation_error, read_toml


class Member(BaseModel):
    """One partner of the dataspace."""

    id: str = Field(pattern=PARTNER_ID_PATTERN)
    legal_name: str
    connector_url: str = Field(pattern=r"^https?://")
    public_keys: list[dict[str, str]] = Field(default_factory=list)


class Dataspace(BaseModel):
    """The members and who speaks for the dataspace."""

    name: str
    authority: str
    members: list[Member]

    def member(self, partner: str) -> Member:
        """Look up one member."""
        for m in self.members:
            if m.id == partner:
                return m
        raise ConfigError(f"'{partner}' is not a member of the dataspace '{self.name}'")


def template_path(home: Path) -> Path:
    """The committed description (no keys)."""
    return home / "deploy" / "dataspace.toml"


def load_dataspace(path: Path) -> Dataspace:
    """Read and validate a dataspace file (ConfigError on any problem)."""
    try:
        return Dataspace.model_validate(read_toml(path))
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe_validation_error(exc)}") from exc


def write_dataspace(space: Dataspace, path: Path) -> None:
    """Write a dataspace file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(tomli_w.dumps(space.model_dump()))
    tmp.replace(path)
