"""The REST API's shared parts: cursor pages, the filters by patient and date, and the one shape
of every refusal ({"errors": {field: [message, ...]}}, ui/api_errors.py) in the schema."""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination

# Every refusal: {"errors": {field: [message, ...]}}; a list field's messages are keyed by the
# position of the item at fault.
ErrorSerializer = inline_serializer("Errors", {"errors": serializers.DictField()})
REFUSED = OpenApiResponse(ErrorSerializer, description="Invalid input, each field named with its problem")
NO_SUCH_PAGE = OpenApiResponse(ErrorSerializer, description="The cursor is not one this API gave")

BIGGEST_ID = 2**63 - 1  # a database id is a signed 64-bit integer
# The days a date filter takes: any clinical record's, and far from the calendar's ends, where
# turning a day into the clinic's midnight would fall off them.
FIRST_DAY, LAST_DAY = datetime.date(1900, 1, 1), datetime.date(2999, 12, 31)


def names(text: str) -> tuple[str, ...]:
    """Field names written as one string ("id patient total"): a serializer's list of fields."""
    return tuple(text.split())


class RecordSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """A record as the API shows it: every field read only (changes go through the services)."""

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        for field in fields.values():
            field.read_only = True
        return dict(fields)


class IsSet(serializers.BooleanField):
    """Whether the record's `source` holds a value: a time of striking out, of locking (read only)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, **kwargs)

    def get_attribute(self, instance: Any) -> bool:
        # Decided here: a serializer shows an attribute that is None as null, not as false.
        return super().get_attribute(instance) is not None


class Cursor(CursorPagination):
    """Pages that stay right while records are added: `next` and `previous` are links carrying an
    opaque cursor. In the order the records were made (their id), 50 a page unless `limit` asks
    for up to 500."""

    ordering: Any = "id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500
    invalid_cursor_message = "This cursor is not one this API gave: follow the next and previous links."

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        # A cursor is opaque but not signed: one altered by hand (a position that is not an id)
        # fails where it is read, and answers as a cursor the API never gave.
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValueError, TypeError, OverflowError, DjangoValidationError):
            raise NotFound(self.invalid_cursor_message) from None


class IdFilter(django_filters.NumberFilter):  # type: ignore[misc]  # django-filter has no types
    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGGEST_ID)
        super().__init__(*args, **kwargs)


class RecordFilter(django_filters.FilterSet):  # type: ignore[misc]
    """`patient` (an id) and `since`/`until` (dates, both days included) on the record's own
    date (`date_field`); a time is read as the clinic's day it fell on. A subclass names the
    date field and declares any filters of its own; the model is the viewset's."""

    date_field: ClassVar[str]

    patient = IdFilter(field_name="patient_id", help_text="Only this patient's records (the patient's id).")
    since = django_filters.DateFilter(method="_since", help_text="From this day (YYYY-MM-DD), included.")
    until = django_filters.DateFilter(method="_until", help_text="To this day (YYYY-MM-DD), included.")

    def _is_time(self, qs: QuerySet[Any]) -> bool:
        return isinstance(qs.model._meta.get_field(self.date_field), models.DateTimeField)

    def _start(self, day: datetime.date) -> datetime.datetime:
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))

    def _since(self, qs: QuerySet[Any], name: str, value: datetime.date) -> QuerySet[Any]:
        start: Any = self._start(value) if self._is_time(qs) else value
        return qs.filter(**{f"{self.date_field}__gte": start})

    def _until(self, qs: QuerySet[Any], name: str, value: datetime.date) -> QuerySet[Any]:
        if self._is_time(qs):
            return qs.filter(**{f"{self.date_field}__lt": self._start(value + datetime.timedelta(days=1))})
        return qs.filter(**{f"{self.date_field}__lte": value})

    def is_valid(self) -> bool:
        valid = super().is_valid()
        data = self.form.cleaned_data if valid else {}
        since, until = data.get("since"), data.get("until")
        for name, day in (("since", since), ("until", until)):
            if day is not None and not FIRST_DAY <= day <= LAST_DAY:
                self.form.add_error(name, f"Give a day from {FIRST_DAY:%Y-%m-%d} to {LAST_DAY:%Y-%m-%d}.")
                return False
        if since and until and until < since:
            self.form.add_error("until", "The last day comes before the first (since).")
            return False
        return bool(valid)


class RecordField(serializers.PrimaryKeyRelatedField):  # type: ignore[type-arg]
    """A record named by its id in a request body: a whole number that names a record, else a
    400 naming the field (never a database error for an id out of range)."""

    default_error_messages = {
        "required": "This field is required.",
        "does_not_exist": "No record with id {pk_value}.",
        "incorrect_type": "Give the record's id, a whole number (not {data_type}).",
    }

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not (
            isinstance(data, int) or (isinstance(data, str) and data.isdecimal())
        ):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 1 <= int(data) <= BIGGEST_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(int(data))


class ReasonSerializer(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.CharField(max_length=300, help_text="Why, in a few words (kept on the record).")
