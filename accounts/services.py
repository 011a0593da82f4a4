from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.db import transaction


@transaction.atomic
def create_sso_user(*, email: str, first_name: str = "", last_name: str = "", group_name: str = "") -> AbstractUser:
    """A user who signs in only through single sign-on: no usable password, never staff,
    in `group_name` (created if missing) when one is named."""
    User = get_user_model()
    base = email.lower()[:150]
    username, suffix = base, 1
    while User.objects.filter(username__iexact=username).exists():
        suffix += 1
        username = f"{base[:140]}-{suffix}"
    user = User(username=username, email=email, first_name=first_name[:150], last_name=last_name[:150],
                is_staff=False, is_superuser=False)
    user.set_unusable_password()
    user.save()
    if group_name:
        group, _ = Group.objects.get_or_create(name=group_name)
        user.groups.add(group)
    return user
