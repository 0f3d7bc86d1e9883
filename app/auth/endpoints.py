"""/api/v1/auth, /me, /users, /units, /api-keys."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Form, Request, Response

from app.auth import service
from app.auth.deps import CurrentPrincipal, require_roles
from app.auth.roles import Role
from app.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    LoginForm,
    MeOut,
    TokenOut,
    UnitCreate,
    UnitOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from app.config import SettingsDep
from app.db import SessionDep
from app.errors import problem_responses
from app.kit.etag import created
from app.kit.pagination import CursorQuery, Keyset, LimitQuery
from app.kit.routes import Versioned, checked, create_route, read_route, update_route
from app.kit.routing import Router
from app.kit.schemas import Page
from app.kit.tokens import text
from app.scope import Principal

public_router = Router(prefix="/api/v1/auth", tags=["auth"])
router = Router(prefix="/api/v1", tags=["users"])

AdminDep = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
UserManagers = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.STREET_ADMIN, Role.COMMUNITY_ADMIN))]


@public_router.post(
    "/token",
    response_model=TokenOut,
    operation_id="auth_token",
    summary="Sign in (登录) and get a bearer token",
    description="OAuth2 password form (`username`, `password`). Repeated failures per username or client "
    "address are throttled: 429 `login_throttled` with `Retry-After`.",
    responses=problem_responses(401, 429),
)
async def token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    form: Annotated[LoginForm, Form()],
) -> TokenOut:
    client = request.client.host if request.client else "unknown"
    access_token, ttl = await service.login(
        session,
        request.app.state.sessionmaker,
        settings,
        username=form.username,
        password=form.password,
        client_addr=client,
    )
    return TokenOut(access_token=access_token, expires_in=ttl)


@router.get("/me", response_model=MeOut, operation_id="me_get", summary="Who am I (当前用户)", tags=["auth"])
async def me(principal: CurrentPrincipal, session: SessionDep) -> MeOut:
    area_name = await service.home_area_name(session, principal)
    return MeOut(
        id=principal.user_id,
        username=principal.username,
        display_name=principal.display_name,
        role=principal.role,
        home_area_id=principal.area_id,
        home_area_name=area_name,
        unit_id=principal.unit_id,
        via_api_key=principal.api_key_id is not None,
    )


USER = Versioned(
    "user_id", UserOut, get=service.get_user, change=checked(service.get_user, required=True, for_update=True)
)
create_route(
    router,
    "/users",
    USER,
    AdminDep,
    lambda call, body: service.create_user(call.session, call.principal, body.model_dump()),
    body=UserCreate,
    operation_id="users_create",
    responses=problem_responses(403, 409),
    summary="Create a staff account (新建用户)",
    description="Admins only. The home area must be inside the admin's own area.",
)


@router.get(
    "/users",
    response_model=Page[UserOut],
    operation_id="users_list",
    responses=problem_responses(403),
    summary="Staff in your jurisdiction (用户列表)",
    description="For admins and community/street administrators choosing whom to dispatch to.",
)
async def list_users(
    session: SessionDep,
    principal: UserManagers,
    settings: SettingsDep,
    role: Role | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[UserOut]:
    keys = Keyset.open(settings, principal, "users", cursor, (text,))
    after = keys.after[0] if keys.after else None
    rows = await service.list_users(session, principal, role=role, after=after, limit=limit)
    return keys.answer(rows, limit, UserOut.model_validate, key=lambda user: [user.username])


read_route(
    router,
    "/users/{user_id}",
    USER,
    UserManagers,
    operation_id="users_get",
    summary="A staff account",
    responses=problem_responses(403, 404),
)


update_route(
    router,
    "/users/{user_id}",
    USER,
    AdminDep,
    lambda call, user, body: service.update_user(
        call.session, call.principal, user, body.model_dump(exclude_unset=True)
    ),
    body=UserUpdate,
    operation_id="users_update",
    responses=problem_responses(403, 404, 409, 412, 428),
    summary="Change or deactivate a staff account (停用/修改用户)",
    description="Requires `If-Match`. Deactivation takes effect at once: the user's tokens and API keys stop "
    "working on their next request.",
)


@router.post(
    "/units",
    status_code=201,
    response_model=UnitOut,
    operation_id="units_create",
    responses=problem_responses(403, 409),
    summary="Create a unit (新建单位: 职能部门、物业、派出所)",
)
async def create_unit(body: UnitCreate, session: SessionDep, principal: AdminDep, response: Response) -> UnitOut:
    unit = await service.create_unit(session, principal, body.model_dump())
    return created(response, f"/api/v1/units/{unit.id}", UnitOut.model_validate(unit))


@router.get(
    "/units",
    response_model=list[UnitOut],
    operation_id="units_list",
    summary="Units work can be dispatched to (派单单位)",
    description="The units working in your area: registered in your area's subtree or at one of its "
    "ancestors (a district's departments serve all of its streets). Units of other districts, and of "
    "communities beside yours, are not listed — and cannot be dispatched to.",
)
async def list_units(session: SessionDep, principal: CurrentPrincipal) -> list[UnitOut]:
    return [UnitOut.model_validate(u) for u in await service.list_units(session, principal)]


@router.post(
    "/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    operation_id="api_keys_create",
    responses=problem_responses(403),
    summary="Create an integration API key (接口密钥)",
    description="The key and its signing secret are shown once, in this response; only a hash is stored. "
    "The key acts as `user_id` (usually an `integration` account) within `area_id`'s subtree.",
)
async def create_api_key(
    body: ApiKeyCreate, session: SessionDep, principal: AdminDep, response: Response
) -> ApiKeyCreated:
    key, plaintext = await service.create_api_key(session, principal, body.model_dump())
    response.headers["Location"] = f"/api/v1/api-keys/{key.id}"
    out: dict[str, Any] = ApiKeyOut.model_validate(key).model_dump()
    return ApiKeyCreated(**out, key=plaintext, signing_secret=key.signing_secret or "")


@router.get(
    "/api-keys",
    response_model=list[ApiKeyOut],
    operation_id="api_keys_list",
    summary="API keys",
    responses=problem_responses(403),
)
async def list_api_keys(session: SessionDep, principal: AdminDep) -> list[ApiKeyOut]:
    return [ApiKeyOut.model_validate(k) for k in await service.list_api_keys(session, principal)]


@router.delete(
    "/api-keys/{key_id}",
    response_model=ApiKeyOut,
    operation_id="api_keys_revoke",
    responses=problem_responses(403, 404),
    summary="Revoke an API key (吊销密钥)",
    description="Revocation takes effect at once.",
)
async def revoke_api_key(key_id: uuid.UUID, session: SessionDep, principal: AdminDep) -> ApiKeyOut:
    return ApiKeyOut.model_validate(await service.revoke_api_key(session, principal, key_id))
