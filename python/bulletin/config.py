"""The one configuration module: every file staff may edit is found, read and key-checked here.

Staff files live in python/bulletin/data/ (and the templates in templates/). An office keeps its own
copies elsewhere by setting BULLETIN_CONFIG_DIR to a folder: a file found there replaces the packaged file
of the same name, file by file. Every loader checks the keys it knows and refuses the rest; any mistake
(a typo'd key, a bad value, broken YAML, an unknown CSV column) is one `ConfigError` naming the file and
the key, which the CLI prints with exit 2 and a button shows in a message box.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, TypeVar

from .core.problems import Messages
from .core.registry import REGISTRY_COLUMNS, REGISTRY_OPTIONAL, Registry
from .errors import ConfigError, UserError, check_keys
from .resources import DATA_DIR, PACKAGE_DIR, SOURCE_ROOT, TEMPLATES_DIR  # noqa: F401  (TEMPLATES_DIR: for the renderers)

REPO_DIR = SOURCE_ROOT or PACKAGE_DIR.parent  # the install folder: relative paths in settings start here
CONFIG_DIR_ENV = "BULLETIN_CONFIG_DIR"
SETTINGS_KEYS = ("district", "city", "province", "name_prefixes", "ratio_tolerance_pp", "total_tolerance", "list_limit",
                 "ratio_change_unit", "history_file", "database_url", "backup_keep", "trusted_proxy")
RATIO_UNITS = ("%", "个百分点")
T = TypeVar("T")


def staff_file(name: str) -> Path:
    """The staff file `name`: the office's copy in BULLETIN_CONFIG_DIR when it has one, else the packaged one."""
    folder = os.environ.get(CONFIG_DIR_ENV)
    if folder and (Path(folder) / name).is_file():
        return Path(folder) / name
    return DATA_DIR / name


CACHE_DIR_ENV = "BULLETIN_CACHE_DIR"
CACHE_FORMAT = "1"  # bump when the cached form changes


def cache_dir() -> Path:
    """The per-user folder of parsed staff files (BULLETIN_CACHE_DIR, else the user's cache folder)."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "bulletin" / "cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bulletin"


def _cache_folder() -> Path | None:
    """The cache folder when it is safe to use: the user's own and nobody else's to write (what is read
    from it decides settings such as the mail server); None, and no caching, otherwise."""
    try:
        folder = cache_dir()
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if os.name == "posix":
            st = folder.lstat()
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
                return None
        return folder
    except (OSError, RuntimeError):  # RuntimeError: no home folder to be found
        return None


def _cache_file(folder: Path, raw: bytes) -> Path:
    return folder / f"{hashlib.sha256(CACHE_FORMAT.encode() + raw).hexdigest()}.json"


def _cached_parse(folder: Path | None, raw: bytes) -> tuple[bool, Any]:
    if folder is None:
        return False, None
    try:
        return True, json.loads(_cache_file(folder, raw).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # not cached yet, or a damaged entry: parse again
        return False, None


def _store_parse(folder: Path | None, raw: bytes, data: Any) -> None:
    """Keep what a file parsed to, keyed by its bytes (an edit is a new key), when JSON says it exactly
    (a date or a non-text key is not cached). An unwritable cache folder only costs the parse next time."""
    if folder is None:
        return
    try:
        text = json.dumps(data, ensure_ascii=False)
        if json.loads(text) != data:
            return
    except (TypeError, ValueError):
        return
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".partial")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, _cache_file(folder, raw))
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def read_yaml(path: Path) -> Any:
    """A staff YAML file; unreadable or broken YAML is a ConfigError naming the file and the line. What a
    file parsed to is cached per user, keyed by its bytes: importing and running PyYAML is a good part of
    a button click's start-up, and staff files change rarely."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(Path(path).name, "", f"无法读取（{exc.strerror or exc}）") from None
    folder = _cache_folder()
    found, data = _cached_parse(folder, raw)
    if found:
        return data
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(Path(path).name, "", "不是 UTF-8 编码的文本，请用记事本“另存为 UTF-8”") from None
    import yaml  # only on a cache miss

    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml when present
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark is not None else ""
        raise ConfigError(Path(path).name, "", f"YAML 格式错误{where}：{getattr(exc, 'problem', '') or exc}"
                                              f"（冒号后要有空格，缩进用空格，含冒号的文字加引号）") from None
    _store_parse(folder, raw, data)
    return data


def _mapping(path: Path, data: Any) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(path.name, "", "应是“名称: 值”的列表")
    return data


def _checked(path: Path, parse: Callable[[], T]) -> T:
    """Run a domain parser; its own Chinese complaint becomes a ConfigError naming the file."""
    try:
        return parse()
    except ConfigError:
        raise
    except (UserError, ValueError) as exc:  # the parsers' own complaints
        raise ConfigError(path.name, "", str(exc).strip("'\"")) from None
    except (TypeError, KeyError, AttributeError, IndexError) as exc:
        # a value of a kind no check foresaw (the corpus test finds none): still the file's mistake to the
        # user, in Chinese; the Python error stays attached (__cause__) for whoever debugs it
        raise ConfigError(path.name, "", "有一项的写法不对（例如该写文字处写成了列表，或缩进有误），请对照原文件检查"
                                         "后再试") from exc


@dataclass(frozen=True)
class Settings:
    """settings.yaml, checked: the district's names, tolerances, the ratio-change unit, the history file."""

    district: str
    city: str
    province: str
    name_prefixes: tuple[str, ...]
    ratio_tolerance_pp: float
    total_tolerance: float
    ratio_change_unit: str
    history_file: str = ""  # the office's one history (absolute, or relative to the install folder)
    list_limit: int = 5  # a longer list of units is written "A、B、C等N个单位" (the full list is in the annex)
    database_url: str = ""  # the office database (history, ledgers, accounts, audit); empty: the history file
    backup_keep: int = 10  # backups kept per workbook in 备份/ (the latest ones; plus the first of each day)
    trusted_proxy: str = ""  # the office server's reverse proxy whose X-Remote-User the console believes

    def reference_name(self, key: str) -> str:
        return {"city": self.city, "district": self.district}[key]


def _number(file: str, d: dict[str, Any], key: str, default: float) -> float:
    try:
        return float(d.get(key, default))
    except (TypeError, ValueError):
        raise ConfigError(file, key, f"应为数字，现为“{d[key]}”") from None


def settings_from_dict(d: dict[str, Any], file: str = "settings.yaml") -> Settings:
    check_keys(file, d, SETTINGS_KEYS, required=("district", "city"))
    unit = str(d.get("ratio_change_unit", "%"))
    if unit not in RATIO_UNITS:
        raise ConfigError(file, "ratio_change_unit", f"应为 \"%\" 或 \"个百分点\"，现为“{unit}”")
    prefixes = d.get("name_prefixes") or ()
    if not isinstance(prefixes, (list, tuple)):
        raise ConfigError(file, "name_prefixes", "应写成列表，如 [殷都区, 区]")
    keep = _number(file, d, "backup_keep", 10)
    if keep != int(keep) or not 1 <= keep <= 1000:
        raise ConfigError(file, "backup_keep", f"应为 1 到 1000 之间的整数，现为“{d['backup_keep']}”")
    return Settings(str(d["district"]), str(d["city"]), str(d.get("province", "")), tuple(map(str, prefixes)),
                    _number(file, d, "ratio_tolerance_pp", 0.005), _number(file, d, "total_tolerance", 1e-6),
                    unit, str(d.get("history_file") or ""), int(_number(file, d, "list_limit", 5)),
                    _database_url(file, d.get("database_url")), int(keep), _address(file, d.get("trusted_proxy")))


def _address(file: str, value: Any) -> str:
    import ipaddress

    if value in (None, ""):
        return ""
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        raise ConfigError(file, "trusted_proxy", f"应是反向代理的 IP 地址，如 127.0.0.1，现为“{value}”") from None


def _database_url(file: str, value: Any) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or not value.startswith(("sqlite:", "postgresql")):
        raise ConfigError(file, "database_url", f"应是数据库地址，如 postgresql+psycopg://用户@服务器/数据库 或 "
                                                f"sqlite:///D:/通报/office.sqlite，现为“{value}”")
    return value


def _document_settings(d: dict[str, Any], file: str) -> Any:
    from .core.document import DocumentSettings  # each builder imports its own module: a step loads only its own

    return DocumentSettings.from_dict(d, where=file)


def _mail_settings(d: dict[str, Any], file: str) -> Any:
    from .core.mailing import MailSettings

    return MailSettings.from_dict(d, where=file)


def _chart_settings(d: dict[str, Any], file: str) -> Any:
    from .core.overview import ChartSettings

    return ChartSettings.from_dict(d)


def _collect_settings(d: dict[str, Any], file: str) -> Any:
    from .core.collect import collect_settings_from_dict

    return collect_settings_from_dict(d, file)


def _rules(d: dict[str, Any], file: str) -> Any:
    from .core.rules import load_rules

    return load_rules(d, file)


def _roles(d: dict[str, Any], file: str) -> Any:
    from .core.access import RoleSet

    return RoleSet.from_dict(d, file)


# each staff YAML file and the checked object made of it
BUILDERS: dict[str, Callable[[dict[str, Any], str], Any]] = {
    "settings.yaml": settings_from_dict, "rules.yaml": _rules, "messages.yaml": Messages,
    "document.yaml": _document_settings, "mail.yaml": _mail_settings, "charts.yaml": _chart_settings,
    "collect.yaml": _collect_settings, "roles.yaml": _roles}


def _version(path: Path) -> tuple[int, int]:
    """What tells an edited file from the one loaded before (a long-running console sees staff edits)."""
    try:
        st = path.stat()
        return st.st_mtime_ns, st.st_size
    except OSError:  # reading it says what is wrong
        return 0, 0


@lru_cache(maxsize=None)
def _yaml_file(path: Path, name: str, version: tuple[int, int]) -> Any:
    data = _mapping(path, read_yaml(path))
    return _checked(path, lambda: BUILDERS[name](data, path.name))


def _staff_yaml(name: str) -> Any:
    path = staff_file(name)
    return _yaml_file(path, name, _version(path))


def load_settings() -> Settings:
    return _staff_yaml("settings.yaml")


def load_rules_file():
    """data/rules.yaml as a checked RuleSet (the condition language is compiled here)."""
    return _staff_yaml("rules.yaml")


def load_messages() -> Messages:
    return _staff_yaml("messages.yaml")


def read_registry_rows(path: Path) -> list[dict[str, str]]:
    """departments.csv as rows of text; a missing or unknown column is a ConfigError naming it."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = [h.strip() for h in next(reader, [])]
            rows = [r for r in reader if any(v.strip() for v in r)]
    except OSError as exc:
        raise ConfigError(path.name, "", f"无法读取（{exc.strerror or exc}）") from None
    except UnicodeDecodeError:
        raise ConfigError(path.name, "", "不是 UTF-8 编码，请在 Excel 中“另存为 CSV UTF-8”") from None
    check_columns(path.name, header)
    return [dict(zip(header, [v.strip() for v in r] + [""] * (len(header) - len(r)))) for r in rows]


def check_columns(file: str, header: list[str]) -> None:
    known = (*REGISTRY_COLUMNS, *REGISTRY_OPTIONAL)
    for h in header:
        if h and h not in known:
            raise ConfigError(file, h, f"不认识的列；可用的列：{'、'.join(known)}")
    missing = [c for c in REGISTRY_COLUMNS if c not in header]
    if missing:
        raise ConfigError(file, missing[0], f"缺少此列（必需的列：{'、'.join(REGISTRY_COLUMNS)}）")


@lru_cache(maxsize=None)
def _registry(path: Path, prefixes: tuple[str, ...], version: tuple[int, int]) -> Registry:
    rows = read_registry_rows(path)
    return _checked(path, lambda: Registry.from_rows(rows, prefixes=prefixes))


def load_registry(settings: Settings | None = None) -> Registry:
    path = staff_file("departments.csv")
    return _registry(path, (settings or load_settings()).name_prefixes, _version(path))


def load_document_settings():
    return _staff_yaml("document.yaml")


def load_mail_settings():
    return _staff_yaml("mail.yaml")


def load_chart_settings():
    return _staff_yaml("charts.yaml")


def load_collect_settings():
    """data/collect.yaml: which annexes are collected from departments, deadlines, reminders, contact."""
    return _staff_yaml("collect.yaml")


def load_roles():
    """data/roles.yaml as a checked RoleSet: who may do what on the office server."""
    return _staff_yaml("roles.yaml")


def load_all() -> None:
    """Load and check every staff file (the console and `bulletin check` call this first)."""
    load_settings(), load_rules_file(), load_messages(), load_registry(), load_document_settings()
    load_mail_settings(), load_chart_settings(), load_collect_settings(), load_roles()
