"""Records written once and never changed: an audit event, a published consent document, a
consent signature, a signed candidacy decision. A correction is a new record."""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from django.db import models


class WrittenOnce(models.Model):
    """The ORM refuses to save such a record again or to delete it (a database trigger refuses as
    well, where the app's migration adds one): it raises `refused` saying `change_refused` or
    `delete_refused`."""

    refused: ClassVar[type[Exception]]
    change_refused: ClassVar[str]
    delete_refused: ClassVar[str]

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise self.refused(self.change_refused)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise self.refused(self.delete_refused)
