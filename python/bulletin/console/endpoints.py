"""What every view and API call of the console needs, in one table (checked on the server before the view runs,
console/auth.check). An endpoint missing here is refused to everyone (tests/console/test_roles.py fails on it).

Each rule names a permission of core/access.PERMISSIONS, or PUBLIC (no sign-in: the login page and static
files) or SIGNED_IN (any signed-in account: its own password, signing out, who it is). `department` names the
request field (view argument, query, JSON or form) by which a call asks about one department's rows: then
`one` is the permission checked on that department, so a department role reaches its own rows only; a call
without it is about every department, which a department role never gets. `by` gives other permissions for some
values of a view argument (the month's steps: mail-send sends)."""
from __future__ import annotations

from dataclasses import dataclass, field

PUBLIC = "public"
SIGNED_IN = "signed_in"


@dataclass(frozen=True)
class Rule:
    permission: str
    department: str | None = None  # the field naming one department, when the call may be about one
    one: str | None = None  # the permission on that one department's rows
    by: tuple[str, dict[str, str]] | None = field(default=None)  # (view argument, value -> permission)


ENDPOINTS: dict[str, Rule] = {
    "static": Rule(PUBLIC),
    # signing in and out, one's own password (signin.py)
    "signin.login": Rule(PUBLIC),
    "signin.api_login": Rule(PUBLIC),
    "signin.logout": Rule(SIGNED_IN),
    "signin.api_logout": Rule(SIGNED_IN),
    "signin.me": Rule(SIGNED_IN),
    "signin.password": Rule(SIGNED_IN),
    "signin.api_password": Rule(SIGNED_IN),
    # the desk: the page sends each role to what it may use
    "index": Rule(SIGNED_IN),
    "workbooks": Rule("month.read"),
    "upload": Rule("month.steps"),
    "step": Rule("month.steps", by=("step", {"mail-send": "mail.send"})),
    "collect_import": Rule("month.steps"),
    "job": Rule("month.read"),
    "tables": Rule("month.read", department="department", one="rows.read"),
    "status": Rule("month.edit"),
    "reset_status": Rule("month.edit"),
    "text": Rule("month.read"),
    "write_text": Rule("month.edit"),
    "restore_text": Rule("month.edit"),
    "backup_list": Rule("month.read"),
    "restore_backup": Rule("month.edit"),
    "department_list": Rule("month.read"),
    "set_department": Rule("month.edit"),
    "month_state": Rule("month.read"),
    "output": Rule("month.read"),
    "workbook_file": Rule("month.read"),
    # 填报 (fill.py): a department's form, its checks and submission, a clerk's 退回 — each about one department,
    # which the view resolves (aliases) and checks again; the page and who-am-I for any signed-in account
    "fill.page": Rule(SIGNED_IN),
    "fill.options": Rule(SIGNED_IN),
    "fill.departments": Rule("status.read"),
    "fill.form": Rule("status.read", department="department", one="status.read"),
    "fill.check": Rule("forms.fill", department="department", one="forms.fill"),
    "fill.submit": Rule("forms.fill", department="department", one="forms.fill"),
    "fill.send_back": Rule("returns.manage", department="department", one="returns.manage"),
    "fill.extract": Rule("extract.read", department="department", one="extract.read"),
    # accounts and the audit log (admin.py)
    "admin.page": Rule("accounts.manage"),
    "admin.users": Rule("accounts.manage"),
    "admin.add_user": Rule("accounts.manage"),
    "admin.import_users": Rule("accounts.manage"),
    "admin.change_user": Rule("accounts.manage"),
    "admin.audit_page": Rule("audit.read"),
    "admin.audit_log": Rule("audit.read"),
    "admin.audit_export": Rule("audit.read"),
}
