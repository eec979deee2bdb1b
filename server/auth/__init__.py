"""Authentication (tokens, passwords) and authorization (roles, origins, rate limits)."""

from server.auth.access import AccessControl, MembershipChanged, WorkspaceAccess
from server.auth.origins import OriginPolicy
from server.auth.passwords import hash_password, verify_password
from server.auth.principal import Authenticator, Principal, bearer_token
from server.auth.ratelimit import ApiKeyLimiter, LoginLimiter
from server.models import Role

__all__ = [
    "AccessControl",
    "ApiKeyLimiter",
    "Authenticator",
    "LoginLimiter",
    "MembershipChanged",
    "OriginPolicy",
    "Principal",
    "Role",
    "WorkspaceAccess",
    "bearer_token",
    "hash_password",
    "verify_password",
]
