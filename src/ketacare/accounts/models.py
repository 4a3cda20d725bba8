from __future__ import annotations

import datetime

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


class ApiToken(models.Model):
    """Another system's key to the REST API, made by the clinic admin.

    The system acts through an account of its own (`account`: no password, no role group, so it
    can neither sign in to the pages nor be picked as a clinician) with the permissions of
    `role`, narrowed to reading by the `read` scope. Only the token's first characters
    (`prefix`, to find it) and the SHA-256 digest of the whole token are kept: the token itself
    is shown once, when made. Revoking is for good: the account is switched off with it."""

    class Scope(models.TextChoices):
        READ = "read", "Read only"
        READ_WRITE = "read_write", "Read and write"

    system = models.SlugField(
        "System name",
        max_length=60,
        unique=True,
        help_text="Short and lower-case, for example payer-portal: it names the system in the audit trail.",
    )
    description = models.CharField(max_length=200, blank=True)
    account = models.OneToOneField(User, on_delete=models.PROTECT, related_name="api_token")
    role = models.CharField(max_length=20, choices=Role.choices)
    scope = models.CharField(max_length=12, choices=Scope.choices)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_on = models.DateField(
        null=True,
        blank=True,
        help_text="The last day the token works (the clinic's day); empty: until revoked.",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ("revoked_at", "system")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(revoked_at__isnull=True) | models.Q(revoked_by__isnull=False),
                name="api_token_revoked_by_someone",
                violation_error_message="A revoked token records who revoked it.",
            )
        ]

    def __str__(self) -> str:
        return f"API token of {self.system}"

    def expired(self, today: datetime.date) -> bool:
        return self.expires_on is not None and today > self.expires_on

    @property
    def read_only(self) -> bool:
        return self.scope == self.Scope.READ

    @property
    def disclosure_to(self) -> str:
        """Whom a read through this token discloses the record to, as the chart's disclosures
        list says it."""
        return f"{self.description} ({self.system})" if self.description else self.system
