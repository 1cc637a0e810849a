"""Roles as data (data/roles.yaml) and the one decision (core/access.py): every role against every permission,
on its own department, another department and the whole month, from a hand-written table; a broken roles.yaml
is a Chinese ConfigError naming the file and the key."""
from __future__ import annotations

import pytest
import yaml

from bulletin import config
from bulletin.core.access import PERMISSIONS, RoleSet
from bulletin.errors import ConfigError

# permission -> (管理员, 科员, 部门填报员 on its own department, 领导); written by hand from issue #23, not from the file
Y, N = True, False
TABLE = {
    "accounts.manage": (Y, N, N, N),
    "settings.manage": (Y, N, N, N),
    "audit.read":      (Y, Y, N, N),
    "month.read":      (N, Y, N, Y),
    "month.steps":     (N, Y, N, N),
    "month.edit":      (N, Y, N, N),
    "mail.send":       (N, Y, N, N),
    "returns.manage":  (N, Y, N, N),
    "forms.fill":      (N, N, Y, N),
    "rows.read":       (N, Y, Y, Y),
    "status.read":     (N, Y, Y, Y),
    "returns.read":    (N, Y, Y, Y),
    "extract.read":    (N, Y, Y, Y),
}
ROLES = ("管理员", "科员", "部门填报员", "领导")


@pytest.fixture(scope="module")
def roles() -> RoleSet:
    return config.load_roles()


def test_the_table_names_every_permission():
    assert sorted(TABLE) == sorted(PERMISSIONS)


@pytest.mark.parametrize("permission", sorted(TABLE))
@pytest.mark.parametrize("role", ROLES)
def test_every_role_against_every_permission(roles, role, permission):
    expected = TABLE[permission][ROLES.index(role)]
    own, other = "交通局", "住建局"
    mine = own if role == "部门填报员" else None
    # on its own department's rows
    assert roles.allowed(role, permission, mine, own) is expected
    if role == "部门填报员":
        # never another department's rows, never the whole month, never without a department of its own
        assert roles.allowed(role, permission, mine, other) is False
        assert roles.allowed(role, permission, mine, None) is False
        assert roles.allowed(role, permission, None, own) is False
        assert roles.allowed(role, permission, "", "") is False
    else:
        # the other roles see every department and the whole month alike
        assert roles.allowed(role, permission, None, other) is expected
        assert roles.allowed(role, permission, None, None) is expected


def test_unknown_role_may_do_nothing_and_unknown_permission_is_a_fault(roles):
    assert roles.names() == list(ROLES)
    assert roles.bound("部门填报员") and not roles.bound("科员") and not roles.bound("游客")
    assert not any(roles.allowed("游客", p) for p in PERMISSIONS)
    with pytest.raises(ValueError):
        roles.allowed("科员", "month.delete")


def packaged() -> dict:
    return yaml.safe_load((config.DATA_DIR / "roles.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("edit, key, words", [
    (lambda d: d["roles"]["科员"]["permissions"].append("month.delete"), "roles 的 科员 的 permissions",
     "不认识的权限“month.delete”"),
    (lambda d: d["roles"]["领导"].update(permission=["month.read"]), "roles 的 领导 的 permission", "不认识的项"),
    (lambda d: d["roles"]["部门填报员"].update(department="是"), "roles 的 部门填报员 的 department", "true 或 false"),
    (lambda d: d["roles"]["领导"].update(permissions="month.read"), "roles 的 领导 的 permissions", "应写成列表"),
    (lambda d: d["roles"]["领导"].pop("permissions"), "roles 的 领导 的 permissions", "缺少此项"),
    (lambda d: d.update(role={}), "role", "不认识的项"),
    (lambda d: d.update(roles={}), "roles", "应列出各角色"),
])
def test_a_broken_roles_file_names_file_and_key_in_chinese(tmp_path, monkeypatch, edit, key, words):
    d = packaged()
    edit(d)
    (tmp_path / "roles.yaml").write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv(config.CONFIG_DIR_ENV, str(tmp_path))
    with pytest.raises(ConfigError) as exc:
        config.load_roles()
    assert exc.value.file == "roles.yaml" and exc.value.key == key and words in str(exc.value)
