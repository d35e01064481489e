"""Read ``[tool.textfix]`` from the nearest ``pyproject.toml`` that has one.

Keys are :class:`textfix.Config` field names (``to-simplified`` or ``to_simplified``)
plus ``include``, ``exclude`` and ``fields`` (lists of strings). Command-line flags
override them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from textfix.config import Config

__all__ = ["Settings", "SettingsError", "find_pyproject", "load_settings", "parse_table"]

_LIST_KEYS = ("include", "exclude", "fields")


class SettingsError(ValueError):
    """The ``[tool.textfix]`` table is malformed."""


@dataclass(frozen=True)
class Settings:
    """What the configuration file asks for."""

    overrides: dict[str, Any] = field(default_factory=dict)
    """Config field values, already validated."""
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    source: Path | None = None

    def config(self, base: Config | None = None) -> Config:
        return (base or Config()).with_overrides(**self.overrides)


def _toml_loads(text: str) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(str(exc)) from exc


def _textfix_table(path: Path) -> dict[str, Any] | None:
    data = _toml_loads(path.read_text(encoding="utf-8"))
    table = data.get("tool", {}).get("textfix")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise SettingsError("[tool.textfix] must be a table")
    return table


def find_pyproject(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start`` with a ``[tool.textfix]`` table.

    Files without the table are passed over, so a sub-project's own pyproject does
    not hide the settings of the repository it lives in.
    """
    here = Path(start if start is not None else os.getcwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            try:
                if _textfix_table(candidate) is not None:
                    return candidate
            except (OSError, UnicodeDecodeError, SettingsError):
                continue  # a broken unrelated pyproject must not stop the search
    return None


def _check_value(name: str, value: Any, default: Any) -> Any:
    if name == "normalization":
        if value in (None, "none", "None", ""):
            return None
        if value not in ("NFC", "NFKC"):
            raise SettingsError(f"normalization must be 'NFC', 'NFKC' or 'none', not {value!r}")
        return value
    expected = type(default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if type(value) is not expected:
        raise SettingsError(f"{name} must be a {expected.__name__}, not {value!r}")
    return value


def _check_list(name: str, value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SettingsError(f"{name} must be a list of strings")
    return list(value)


def parse_table(table: dict[str, Any], source: Path | None = None) -> Settings:
    """Validate a ``[tool.textfix]`` table; unknown keys and wrong types are errors."""
    defaults = {f.name: getattr(Config(), f.name) for f in fields(Config)}
    overrides: dict[str, Any] = {}
    lists: dict[str, list[str]] = {key: [] for key in _LIST_KEYS}
    for raw_key, value in table.items():
        key = raw_key.replace("-", "_")
        if key in lists:
            lists[key] = _check_list(raw_key, value)
        elif key in defaults:
            overrides[key] = _check_value(raw_key, value, defaults[key])
        else:
            where = f" in {source}" if source else ""
            raise SettingsError(f"unknown key {raw_key!r} in [tool.textfix]{where}")
    return Settings(overrides, lists["include"], lists["exclude"], lists["fields"], source)


def load_settings(
    start: str | os.PathLike[str] | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Settings:
    """Settings from ``path``, or from the nearest suitable pyproject.toml above ``start``."""
    source = Path(path) if path is not None else find_pyproject(start)
    if source is None:
        return Settings()
    try:
        table = _textfix_table(source)
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read {source}: {exc}") from exc
    return parse_table(table or {}, source)
