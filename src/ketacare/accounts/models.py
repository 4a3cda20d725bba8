from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models

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


class DemoDatabase(models.Model):
    """Present only in a database set up for demonstration (`make demo`): the well-known demo
    accounts may be made there, and nowhere else."""

    marked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="one_demo_marker")]

    def __str__(self) -> str:
        return f"demo database since {self.marked_at:%Y-%m-%d}"
