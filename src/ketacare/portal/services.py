"""Changes to the public pages, by the clinic admin: each saved in one transaction and audited
(what changed, not the text)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from ketacare.audit.context import Actor
from ketacare.audit.services import Action, EventSpec, audit_record_many
from ketacare.portal.content import BY_SLUG
from ketacare.portal.models import PublicPage, PublicSite

BODY_MAX = 20_000  # characters: a long page, and no more


@transaction.atomic
def page_save(*, actor: Actor, slug: str, title: str, body: str) -> PublicPage:
    """Save a page's text; an empty text goes back to the shipped default."""
    if slug not in BY_SLUG:
        raise ValidationError({"slug": f"No public page {slug!r}."})
    title, body = title.strip(), body.strip()
    if not title:
        raise ValidationError({"title": "Give the page a title."})
    if len(body) > BODY_MAX:
        raise ValidationError({"body": f"Keep the page under {BODY_MAX:,} characters ({len(body):,} now)."})
    page, made = PublicPage.objects.get_or_create(slug=slug, defaults={"title": title, "body": body})
    page.title, page.body, page.updated_by = title, body, actor.user
    page.full_clean(exclude=["body"] if not body else None)
    if body:
        page.save()
    else:
        page.delete()
    detail = {"page": slug, "fields": ["title", "body"], "default_restored": not body}
    audit_record_many(
        actor=actor,
        specs=[EventSpec(Action.CREATE if made else Action.UPDATE, "portal.publicpage", slug, detail=detail)],
    )
    return page


@transaction.atomic
def site_save(*, actor: Actor, **fields: Any) -> PublicSite:
    site, _ = PublicSite.objects.select_for_update().get_or_create(pk=1)
    changed = sorted(k for k, v in fields.items() if getattr(site, k) != v)
    for key, value in fields.items():
        setattr(site, key, value)
    site.updated_by = actor.user
    site.full_clean()
    site.save()
    audit_record_many(
        actor=actor, specs=[EventSpec(Action.UPDATE, "portal.publicsite", "1", detail={"fields": changed})]
    )
    return site
