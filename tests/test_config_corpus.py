"""A generated corpus of staff-file mistakes: in every packaged YAML file, each value (and each list item)
replaced in turn by a value of another kind. Each edited file either loads, or is refused with a
ConfigError naming the file in Chinese; never a Python error (exit 3), never Python's own wording."""
from __future__ import annotations

import copy
import re

import pytest
import yaml

from bulletin import config
from bulletin.errors import ConfigError
from conftest import ROOT

DATA = ROOT / "python" / "bulletin" / "data"
LOADERS = {"settings.yaml": config.load_settings, "rules.yaml": config.load_rules_file,
           "messages.yaml": config.load_messages, "document.yaml": config.load_document_settings,
           "mail.yaml": config.load_mail_settings, "charts.yaml": config.load_chart_settings,
           "collect.yaml": config.load_collect_settings, "roles.yaml": config.load_roles}
WRONG = (5, "x", [], {}, None, [1], {"k": 1}, True, -1.5)
KEYS = (1, True, None, 2.5)  # keys as YAML reads `1:`, `yes:`, `~:`, `2.5:`
PYTHON_WORDING = re.compile(r"object|argument|literal|iterable|unhashable|NoneType|expected|could not convert|"
                            r"Traceback|Error\b")
CJK = re.compile(r"[\u4e00-\u9fff]")


def paths(node, here=()):
    """Every place in a parsed file: the root, each mapping value and each list item."""
    yield here
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, here + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from paths(value, here + (i,))


def at(node, where):
    for step in where:
        node = node[step]
    return node


def replaced(node, where, value):
    if not where:
        return value
    node = copy.deepcopy(node)
    at(node, where[:-1])[where[-1]] = value
    return node


def with_key(node, where, key):
    """The mapping at `where` with one more key (a key YAML reads as a number, a truth value or null)."""
    node = copy.deepcopy(node)
    at(node, where)[key] = "x"
    return node


def variants(packaged):
    for where in paths(packaged):
        for value in WRONG:
            yield replaced(packaged, where, value)
    for where in [w for w in paths(packaged) if isinstance(at(packaged, w), dict)]:  # every mapping
        for key in KEYS:
            yield with_key(packaged, where, key)


@pytest.mark.parametrize("file", sorted(LOADERS))
def test_every_value_of_the_wrong_kind_is_a_config_error_in_chinese(file, tmp_path, monkeypatch):
    packaged = yaml.safe_load((DATA / file).read_text(encoding="utf-8"))
    refused = loaded = 0
    for k, edited in enumerate(variants(packaged)):
        folder = tmp_path / str(k)  # an office folder of its own: loaded afresh
        folder.mkdir()
        (folder / file).write_text(yaml.safe_dump(edited, allow_unicode=True), encoding="utf-8")
        monkeypatch.setenv(config.CONFIG_DIR_ENV, str(folder))
        try:
            LOADERS[file]()
            loaded += 1
        except ConfigError as exc:
            refused += 1
            message = str(exc)
            assert file in message and CJK.search(message), (k, message)
            assert not PYTHON_WORDING.search(message), (k, message)
            assert exc.__cause__ is None or isinstance(exc.__cause__, (ConfigError, ValueError)), \
                (k, message, repr(exc.__cause__))  # no Python error caught by the fallback: a check names it
    assert refused > 0 and refused + loaded == len(list(variants(packaged)))
