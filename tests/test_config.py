"""Staff files are key-checked when loaded: a typo in any of them is exit 2 with a Chinese message naming
the file and the key (never exit 3, never a log file), from the command line as from a button."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bulletin import config
from bulletin.errors import ConfigError
from conftest import ROOT, SAMPLE

DATA = ROOT / "python" / "bulletin" / "data"

# (file, text replaced, replacement, words the message must contain)
TYPOS = [
    ("rules.yaml", "    when: 即办件事项占比 == 0\n", "    whenn: 即办件事项占比 == 0\n", ["rules.yaml", "whenn"]),
    ("rules.yaml", "when: 即办件事项占比 == 0\n", "when: 即办件事项占比 == 零\n", ["rules.yaml", "零"]),
    ("settings.yaml", "city: 安阳市", "citty: 安阳市", ["settings.yaml", "citty"]),
    ("settings.yaml", 'ratio_change_unit: "%"', 'ratio_change_unit: "百分比"', ["settings.yaml", "ratio_change_unit"]),
    ("settings.yaml", "ratio_tolerance_pp: 0.005", "ratio_tolerance_pp: 0..005", ["settings.yaml", "ratio_tolerance_pp"]),
    ("messages.yaml", "value.missing:", "value.misssing:", ["messages.yaml", "value.misssing"]),
    ("messages.yaml", "“{column}”未填写。", "“{colum}”未填写。", ["messages.yaml", "value.missing", "{colum}"]),
    ("messages.yaml", "{severity: error,   message: \"缺少工作表", "{severity: eror,   message: \"缺少工作表",
     ["messages.yaml", "sheet.missing", "severity"]),
    ("departments.csv", "部门,简称,全称,别名,类别,附件,邮箱,拼音", "部门,简称,全称,别名,类别,附件,邮件,拼音",
     ["departments.csv", "邮件"]),
    ("departments.csv", "部门,简称,全称,别名,类别,", "部门,简称,全名,别名,类别,", ["departments.csv", "全名"]),
    ("document.yaml", "主送:", "主送机关:", ["document.yaml", "主送机关"]),
    ("mail.yaml", "visibility: own", "visiblity: own", ["mail.yaml", "visiblity"]),
    ("charts.yaml", "movers: 3", "mover: 3", ["charts.yaml", "mover"]),
    ("collect.yaml", "  working_day: 5", "  working_days: 5", ["collect.yaml", "working_days"]),
    ("rules.yaml", "params:\n", "params:\n  : [\n", ["rules.yaml", "YAML"]),
]


def office_copy(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """An office configuration folder holding one edited copy of a packaged staff file."""
    folder = tmp_path / "office-config"
    folder.mkdir(exist_ok=True)
    text = (DATA / file).read_text(encoding="utf-8-sig")
    assert old in text, f"{file} no longer contains {old!r}: update this test"
    (folder / file).write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


def bulletin(env_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, config.CONFIG_DIR_ENV: str(env_dir)}
    return subprocess.run([sys.executable, "-m", "bulletin", *args], capture_output=True, text=True, cwd=cwd,
                          env=env)


# the steps that read each file besides `check` (the June sample has its own 部门 sheet, so `run` does not
# read departments.csv; document, mail and charts files are read by their own steps)
READERS = {"rules.yaml": ["run"], "settings.yaml": ["run"], "messages.yaml": ["run"], "charts.yaml": ["run"],
           "departments.csv": [], "document.yaml": [], "mail.yaml": [],
           "collect.yaml": []}


@pytest.mark.parametrize("file,old,new,words", TYPOS, ids=[f"{t[0]}-{t[3][-1]}" for t in TYPOS])
def test_a_typo_in_a_staff_file_is_exit_2_naming_file_and_key(tmp_path, file, old, new, words):
    folder = office_copy(tmp_path, file, old, new)
    for command in ("check", *READERS[file]):
        res = bulletin(folder, command, str(SAMPLE), "--out", str(tmp_path / "out"), cwd=tmp_path) \
            if command == "run" else bulletin(folder, command, str(SAMPLE), cwd=tmp_path)
        assert res.returncode == 2, (command, res.stdout, res.stderr)
        for w in words:
            assert w in res.stderr, (command, w, res.stderr)
        assert "程序内部错误" not in res.stderr and "Traceback" not in res.stderr
    assert not list(tmp_path.glob("bulletin-error-*.log"))


def test_the_packaged_files_load_cleanly():
    config.load_all()


def test_an_office_copy_replaces_the_packaged_file(tmp_path, monkeypatch):
    folder = office_copy(tmp_path, "settings.yaml", "city: 安阳市", "city: 鹤壁市")
    monkeypatch.setenv(config.CONFIG_DIR_ENV, str(folder))
    assert config.load_settings().city == "鹤壁市"
    assert config.staff_file("rules.yaml") == DATA / "rules.yaml"  # files it lacks stay the packaged ones


def test_config_error_names_file_and_key(tmp_path, monkeypatch):
    monkeypatch.setenv(config.CONFIG_DIR_ENV, str(office_copy(tmp_path, "mail.yaml", "visibility: own",
                                                               "visibility: none")))
    with pytest.raises(ConfigError) as err:
        config.load_mail_settings()
    assert err.value.file == "mail.yaml" and "visibility" in str(err.value)


def test_a_button_shows_a_staff_file_typo_in_a_message_box(tmp_path, monkeypatch):
    sys.path.insert(0, str(Path(__file__).parent))
    from xlwings_engine import open_book

    from bulletin import excel

    book_path = tmp_path / "june.xlsx"
    shutil.copy(SAMPLE, book_path)
    monkeypatch.setenv(config.CONFIG_DIR_ENV, str(office_copy(tmp_path, "rules.yaml", "    when: 即办件事项占比 == 0\n",
                                                               "    whenn: 即办件事项占比 == 0\n")))
    book = open_book(book_path)
    assert excel.recalculate(book) is None
    shown = "\n".join(text for _, text in book.app.impl.alerts)
    assert "rules.yaml" in shown and "whenn" in shown and "内部错误" not in shown


def test_the_office_history_is_configuration_so_any_copy_compares_with_the_same_last_month(tmp_path, monkeypatch):
    from bulletin import actions

    office = tmp_path / "share" / "history.sqlite"
    office.parent.mkdir()
    assert actions.import_month(ROOT / "examples" / "2023-05" / "通报数据-2023-05.xlsx", None, office).exit_code == 0
    folder = office_copy(tmp_path, "settings.yaml", 'history_file: ""', f'history_file: "{office.as_posix()}"')
    monkeypatch.setenv(config.CONFIG_DIR_ENV, str(folder))
    copy = tmp_path / "邮件附件" / "六月.xlsx"  # a copy saved somewhere else, no history beside it
    copy.parent.mkdir()
    shutil.copy(SAMPLE, copy)
    outcome = actions.compare_cmd(copy)
    assert outcome.analysis.previous.month == "2023-05"
    assert actions.history_path(copy, None) == office


# -- the parse cache: what a staff file parsed to, kept per user and keyed by the file's bytes -----------

def test_a_parsed_staff_file_is_reused_until_the_file_changes(tmp_path, monkeypatch):
    monkeypatch.setenv(config.CACHE_DIR_ENV, str(tmp_path / "cache"))
    path = tmp_path / "rules.yaml"
    path.write_text("params:\n  下限: {value: 60, explain: 说明}\n", encoding="utf-8")
    assert config.read_yaml(path) == {"params": {"下限": {"value": 60, "explain": "说明"}}}
    assert len(list((tmp_path / "cache").glob("*.json"))) == 1
    monkeypatch.setitem(sys.modules, "yaml", None)  # `import yaml` now fails: a second read must not need it
    assert config.read_yaml(path) == {"params": {"下限": {"value": 60, "explain": "说明"}}}
    monkeypatch.delitem(sys.modules, "yaml")
    path.write_text("params:\n  下限: {value: 70, explain: 说明}\n", encoding="utf-8")  # an edit takes effect
    assert config.read_yaml(path)["params"]["下限"]["value"] == 70


def test_a_damaged_cache_entry_is_parsed_again(tmp_path, monkeypatch):
    monkeypatch.setenv(config.CACHE_DIR_ENV, str(tmp_path / "cache"))
    path = tmp_path / "settings.yaml"
    path.write_text("district: 殷都区\n", encoding="utf-8")
    config.read_yaml(path)
    (entry,) = (tmp_path / "cache").glob("*.json")
    entry.write_text('{"district": ', encoding="utf-8")  # e.g. a disk full while it was written
    assert config.read_yaml(path) == {"district": "殷都区"}


def test_what_json_cannot_say_exactly_is_not_cached_and_still_read(tmp_path, monkeypatch):
    monkeypatch.setenv(config.CACHE_DIR_ENV, str(tmp_path / "cache"))
    path = tmp_path / "document.yaml"
    path.write_text("印发日期: 2023-07-10\n1: 数字键\n", encoding="utf-8")
    import datetime as dt

    assert config.read_yaml(path) == {"印发日期": dt.date(2023, 7, 10), 1: "数字键"}
    assert not list((tmp_path / "cache").glob("*.json"))


def test_broken_yaml_is_still_a_config_error_with_its_line_and_an_unwritable_cache_costs_nothing(tmp_path,
                                                                                                 monkeypatch):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("", encoding="utf-8")
    monkeypatch.setenv(config.CACHE_DIR_ENV, str(blocked / "cache"))
    good, bad = tmp_path / "charts.yaml", tmp_path / "rules.yaml"
    good.write_text("movers: 3\n", encoding="utf-8")
    bad.write_text("params:\n  : [\n", encoding="utf-8")
    assert config.read_yaml(good) == {"movers": 3}
    with pytest.raises(ConfigError) as err:
        config.read_yaml(bad)
    assert "rules.yaml" in str(err.value) and "YAML 格式错误第 " in str(err.value)


def test_run_imports_neither_pandas_nor_pyyaml_nor_the_document_and_mail_libraries(tmp_path):
    """The hot path of `bulletin run` (every button click starts a process like it)."""
    code = ("import json, sys\nfrom bulletin.cli import main\n"
            f"rc = main(['run', {str(SAMPLE)!r}, '--out', {str(tmp_path)!r}])\n"
            "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))\n")
    for attempt in ("first", "second"):  # the first run fills the parse cache, the second uses it
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                              env={**os.environ, config.CACHE_DIR_ENV: str(tmp_path / "cache")})
        assert done.returncode == 0, done.stderr
        modules = set(__import__("json").loads(done.stdout.strip().splitlines()[-1]))
        assert not modules & {"pandas", "matplotlib", "docx", "docxtpl", "smtplib", "xlwings"}, attempt
    assert "yaml" not in modules


def test_an_edited_staff_file_takes_effect_without_a_restart(tmp_path, monkeypatch):
    """The console runs for days: a threshold staff change in rules.yaml counts from the next step."""
    folder = office_copy(tmp_path, "rules.yaml", "即办件占比黄线:", "即办件占比黄线:")
    monkeypatch.setenv(config.CONFIG_DIR_ENV, str(folder))
    before = config.load_rules_file().params["即办件占比黄线"].value
    text = (folder / "rules.yaml").read_text(encoding="utf-8")
    edited = re.sub(r"(即办件占比黄线:\s*\{\s*value:\s*)[0-9.]+", r"\g<1>12.5", text, count=1)
    assert edited != text, "rules.yaml's 即办件占比黄线 is no longer written as {value: …}: update this test"
    (folder / "rules.yaml").write_text(edited, encoding="utf-8")
    assert before != 12.5 and config.load_rules_file().params["即办件占比黄线"].value == 12.5


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_cache_folder_others_can_write_is_not_used(tmp_path, monkeypatch):
    """What the cache holds decides settings (the mail server…): a folder another user could plant entries
    in is ignored, and the file is parsed each time instead."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv(config.CACHE_DIR_ENV, str(shared))
    path = tmp_path / "mail.yaml"
    path.write_text("sender: a@example.org\n", encoding="utf-8")
    assert config.read_yaml(path) == {"sender": "a@example.org"}
    assert not list(shared.iterdir())
    own = tmp_path / "own"
    monkeypatch.setenv(config.CACHE_DIR_ENV, str(own))
    config.read_yaml(path)
    assert own.stat().st_mode & 0o777 == 0o700 and len(list(own.glob("*.json"))) == 1
