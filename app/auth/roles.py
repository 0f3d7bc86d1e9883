"""Staff roles (角色) and what each may do in general terms.

The identifiers follow docs/domain.md. Fine-grained rules (which role may perform which issue action)
live next to the workflow they govern; this module only names the roles.
"""

from enum import StrEnum


class Role(StrEnum):
    GRID_WORKER = "grid_worker"  # 网格员
    MEDIATOR = "mediator"  # 调解员
    COMMUNITY_ADMIN = "community_admin"  # 社区
    STREET_ADMIN = "street_admin"  # 街道综治中心
    DEPARTMENT = "department"  # 职能部门 / 物业 / 派出所 / 司法所
    VIEWER = "viewer"  # 大屏 / 领导驾驶舱
    ADMIN = "admin"  # 系统管理员
    INTEGRATION = "integration"  # 12345 热线 / 信访 (API keys only)


ROLE_LABELS: dict[Role, str] = {
    Role.GRID_WORKER: "网格员",
    Role.MEDIATOR: "调解员",
    Role.COMMUNITY_ADMIN: "社区管理员",
    Role.STREET_ADMIN: "街道综治中心",
    Role.DEPARTMENT: "职能部门",
    Role.VIEWER: "大屏查看",
    Role.ADMIN: "系统管理员",
    Role.INTEGRATION: "系统对接",
}

# Roles that may see residents' personal data unmasked when they reveal it (an audited call).
# Everyone else only ever sees masked values.
ROLES_SEEING_PERSONAL_DATA: frozenset[Role] = frozenset(
    {Role.GRID_WORKER, Role.MEDIATOR, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.ADMIN}
)


def _register() -> None:
    from app.kit.labels import register

    register("role", Role, ROLE_LABELS)


_register()
