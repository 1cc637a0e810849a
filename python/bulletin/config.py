"""Loads the data files staff may edit (settings, registry, messages) from python/bulletin/data/."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .core.problems import Messages
from .core.registry import Registry
from .resources import TEMPLATES_DIR  # noqa: F401  (the source tree's templates/, or an install's copy)

DATA_DIR = Path(__file__).resolve().parent / "data"
REPO_DIR = Path(__file__).resolve().parents[2]
SETTINGS_KEYS = {"district", "city", "province", "name_prefixes", "ratio_tolerance_pp", "total_tolerance",
                 "ratio_change_unit"}


@dataclass(frozen=True)
class Settings:
    district: str
    city: str
    province: str
    name_prefixes: tuple[str, ...]
    ratio_tolerance_pp: float
    total_tolerance: float
    ratio_change_unit: str

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "Settings":
        unknown = set(d) - SETTINGS_KEYS
        if unknown:
            raise ValueError(f"settings.yaml: unknown key(s) {sorted(unknown)}")
        unit = str(d.get("ratio_change_unit", "%"))
        if unit not in ("%", "个百分点"):
            raise ValueError("settings.yaml: ratio_change_unit 应为 \"%\" 或 \"个百分点\"")
        return Settings(str(d["district"]), str(d["city"]), str(d.get("province", "")),
                        tuple(d.get("name_prefixes", ())), float(d.get("ratio_tolerance_pp", 0.005)),
                        float(d.get("total_tolerance", 1e-6)), unit)

    def reference_name(self, key: str) -> str:
        return {"city": self.city, "district": self.district}[key]


def _yaml(path: Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml when present


@lru_cache(maxsize=None)
def load_settings(path: Path = DATA_DIR / "settings.yaml") -> Settings:
    return Settings.from_dict(_yaml(path))


@lru_cache(maxsize=None)
def load_rules_file(path: Path = DATA_DIR / "rules.yaml"):
    from .core.rules import load_rules

    return load_rules(_yaml(path))


@lru_cache(maxsize=None)
def load_messages(path: Path = DATA_DIR / "messages.yaml") -> Messages:
    return Messages(_yaml(path))


def load_registry(path: Path = DATA_DIR / "departments.csv", settings: Settings | None = None) -> Registry:
    settings = settings or load_settings()
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return Registry.from_frame(frame, prefixes=settings.name_prefixes)
