"""Reading clinical records through the REST API: a list (filtered, in cursor pages) and one
record by id, each read written to the audit trail as the pages do (and, for another system's
token, as a disclosure to that system)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from ketacare.audit.context import Actor
from ketacare.audit.services import audit_list_view, audit_view
from ketacare.ui.api import BIGGEST_ID, NO_SUCH_PAGE, REFUSED, ErrorSerializer

RECORD_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The record's id")


def documented(
    serializer: Any, what: str, *, example: dict[str, Any] | None = None
) -> Callable[[type], type]:
    """The list and read operations of a record viewset in the OpenAPI schema, with their
    refusals (a bad filter, a cursor not given by the API, an unknown id) and an example."""
    from drf_spectacular.utils import OpenApiExample

    examples = [OpenApiExample(what, value=example, response_only=True)] if example else []
    return extend_schema_view(
        list=extend_schema(
            summary=f"List {what}",
            responses={200: serializer(many=True), 400: REFUSED, 404: NO_SUCH_PAGE},
        ),
        retrieve=extend_schema(
            summary=f"Read one of the {what}",
            parameters=[RECORD_ID],
            responses={
                200: serializer,
                404: OpenApiResponse(ErrorSerializer, description="No record with this id"),
            },
            examples=examples,
        ),
    )


class RecordViewSet(viewsets.GenericViewSet[Any]):
    """List and read one kind of record. Subclasses give `queryset` (with what the serializer
    reads joined or prefetched: a page costs the same few queries whatever its length),
    `serializer_class`, `filterset_class` and `required_perms`."""

    lookup_value_regex = "[0-9]+"

    def _model(self) -> type[models.Model]:
        return self.get_queryset().model

    def list(self, request: Request) -> Response:
        rows = list(self.paginate_queryset(self.filter_queryset(self.get_queryset())) or [])
        model = self._model()
        audit_list_view(
            actor=Actor.from_request(request),
            object_type=model._meta.label_lower,
            ids=[r.pk for r in rows],
            patients=[self.patient_of(r) for r in rows],
        )
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        record = self.get_object()
        audit_view(actor=Actor.from_request(request), obj=record)
        return Response(self.get_serializer(record).data)

    def patient_of(self, record: Any) -> int:
        return int(record.patient_id)

    def get_object(self) -> Any:
        pk = int(self.kwargs["pk"])
        model = self._model()
        record = self.get_queryset().filter(pk=pk).first() if pk <= BIGGEST_ID else None
        if record is None:
            raise NotFound({"id": [f"No {model._meta.verbose_name} with id {pk}."]})
        return record
