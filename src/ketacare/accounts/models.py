from __future__ import annotations

from django.contrib.auth.models import AbstractUser

from ketacare.accounts.roles import Role


class User(AbstractUser):
    """A member of the clinic's staff. The role is the one group the user belongs to."""

    class Meta:
        ordering = ("username",)

    @property
    def role(self) -> Role | None:
        names = {g.name for g in self.groups.all()}
        for role in Role:
            if role.value in names:
                return role
        return None

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username
