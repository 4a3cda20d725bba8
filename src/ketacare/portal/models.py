"""The clinic's public pages: their text, which the clinic admin edits in Markdown (shipped
defaults until then), and the clinic's details and choices shown on them."""

from __future__ import annotations

from django.conf import settings
from django.db import models

_USER = settings.AUTH_USER_MODEL


class PublicPage(models.Model):
    """One page's text as the clinic wrote it. A page with no row shows the shipped default
    (portal/content/<slug>.md)."""

    slug = models.SlugField(max_length=40, unique=True)
    title = models.CharField(max_length=120)
    body = models.TextField(help_text="Markdown: paragraphs, **bold**, lists, links, tables. No HTML.")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ("slug",)

    def __str__(self) -> str:
        return self.title


class PublicSite(models.Model):
    """One row: the clinic's name and contact details, and whether its own outcome figures are
    published beside the studies' (off until the clinic chooses)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    clinic_name = models.CharField(max_length=120, default="Our ketamine clinic")
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    address = models.CharField(max_length=300, blank=True)
    show_own_figures = models.BooleanField(
        "Publish the clinic's own outcome figures",
        default=False,
        help_text="Response after the first treatment and after the course, on the PHQ-9, "
        "intention to treat with 95% intervals, beside the studies' figures.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="one_public_site")]
        permissions = [("edit_public_site", "Edit the clinic's public pages")]

    def __str__(self) -> str:
        return self.clinic_name
