"""Who may do what: the roles of data/roles.yaml as a checked RoleSet, and the one decision every view and API
call of the office server asks (`RoleSet.allowed`). Pure: no I/O, no storage."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import ConfigError, check_keys

PERMISSIONS: dict[str, str] = {
    "accounts.manage": "添加、停用、重置账号",
    "settings.manage": "修改设置",
    "audit.read": "查看和导出审计日志",
    "month.read": "查看表格、报送情况、通报文字和文档",
    "month.steps": "运行每月各步骤",
    "month.edit": "修改状态和段落",
    "mail.send": "发送邮件、催报",
    "returns.manage": "退回部门报送",
    "forms.fill": "填写并提交本部门的填报表",
    "rows.read": "查看部门的数据行",
    "status.read": "查看部门的报送状态",
    "returns.read": "查看部门的退回及原因",
    "extract.read": "下载部门的数据摘录",
}
ROLE_KEYS = ("permissions", "department")


@dataclass(frozen=True)
class Role:
    name: str
    permissions: frozenset[str]
    department: bool  # bound to one department: its permissions reach that department's rows only


@dataclass(frozen=True)
class RoleSet:
    roles: Mapping[str, Role]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], file: str = "roles.yaml") -> "RoleSet":
        check_keys(file, d, ("roles",), required=("roles",))
        given = d["roles"]
        if not isinstance(given, dict) or not given:
            raise ConfigError(file, "roles", "应列出各角色，如“科员:”下一行缩进写 permissions")
        roles = {}
        for name, body in given.items():
            if not isinstance(name, str) or not name.strip():
                raise ConfigError(file, f"roles 的 {name}", "角色名应为文字")
            where = f"roles 的 {name}"
            check_keys(file, body, ROLE_KEYS, required=("permissions",), where=where)
            perms = body["permissions"]
            if not isinstance(perms, list):
                raise ConfigError(file, f"{where} 的 permissions",
                                  f"应写成列表，如 [month.read, rows.read]，现为“{perms}”")
            for p in perms:
                if not isinstance(p, str) or p not in PERMISSIONS:
                    raise ConfigError(file, f"{where} 的 permissions",
                                      f"不认识的权限“{p}”；可用的权限：{'、'.join(PERMISSIONS)}")
            bound = body.get("department", False)
            if not isinstance(bound, bool):
                raise ConfigError(file, f"{where} 的 department", f"应为 true 或 false，现为“{bound}”")
            roles[name] = Role(name, frozenset(perms), bound)
        return cls(roles)

    def names(self) -> list[str]:
        return list(self.roles)

    def bound(self, role: str) -> bool:
        """Whether an account of this role must name its department."""
        return role in self.roles and self.roles[role].department

    def allowed(self, role: str, permission: str, department: str | None = None,
                target_department: str | None = None) -> bool:
        """May an account of `role` (bound to `department`, for a department role) use `permission`, on
        `target_department`'s rows when given (None: on the whole month / not about one department)?
        An unknown role may do nothing; an unknown permission is a program fault."""
        if permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r}")
        found = self.roles.get(role)
        if found is None or permission not in found.permissions:
            return False
        if not found.department:
            return True
        # a department role: only its own department, named on both sides
        return bool(department) and target_department == department
