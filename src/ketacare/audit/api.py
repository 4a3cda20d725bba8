"""Clinical records through the REST API: a list (filtered, in cursor pages) and one record by
id, each read written to the audit trail as the pages do (and, for another system's token, as a
disclosure to that system); and the writes, each one service call with its body checked first.

A viewset declares what it writes rather than writing the views:
    recorder = Writer(TrialWriteSerializer, services.trial_record)   # POST .../trials/
    strike_out = changing("strike_out", ReasonSerializer, services.trial_strike_out, "trial")
and `documented` puts every operation in the OpenAPI schema with its refusals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from django.db import models
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from ketacare.audit.context import Actor
from ketacare.audit.services import audit_list_view, audit_view
from ketacare.ui.api import BIGGEST_ID, NO_SUCH_PAGE, REFUSED, ErrorSerializer

RECORD_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The record's id")
NO_RECORD = OpenApiResponse(ErrorSerializer, description="No record with this id")


@dataclass(frozen=True)
class Writer:
    """A write: the body's serializer, and the service called with the actor and the body."""

    payload: Any
    service: Callable[..., Any]
    example: dict[str, Any] | None = None


def changing(
    name: str, payload: Any, service: Callable[..., Any], record_arg: str, *, url_path: str = ""
) -> Any:
    """A change to one record, `POST .../{id}/<url_path or name>/`: the record found (404 if not),
    the body checked, then `service(actor=..., <record_arg>=record, **body)`. The answer is the
    record changed, as a read shows it."""

    def change(self: RecordViewSet, request: Request, pk: str) -> Response:
        record = self.get_object()
        body = self.checked(request, payload)
        service(actor=Actor.from_request(request), **{record_arg: record}, **body)
        return self.answer(record.pk)

    change.__name__ = name
    change.writer = Writer(payload, service)  # type: ignore[attr-defined]  # read by `documented`
    return action(detail=True, methods=["post"], url_path=url_path or name)(change)


def _write_schema(writer: Writer, answer: Any, *, on_record: bool) -> Any:
    responses: dict[int, Any] = {200 if on_record else 201: answer, 400: REFUSED}
    if on_record:
        responses[404] = NO_RECORD
    example = [OpenApiExample("Example", value=writer.example, request_only=True)] if writer.example else []
    return extend_schema(
        parameters=[RECORD_ID] if on_record else None,
        request=writer.payload,
        responses=responses,
        examples=example,
    )


def documented(serializer: Any, what: str) -> Callable[[type[RecordViewSet]], type[RecordViewSet]]:
    """Every operation of a record viewset in the OpenAPI schema, with its refusals (a bad filter,
    a cursor not given by the API, an unknown id, a body that does not pass)."""

    def document(cls: type[RecordViewSet]) -> type[RecordViewSet]:
        operations: dict[str, Any] = {
            "list": extend_schema(
                summary=f"List {what}",
                responses={200: serializer(many=True), 400: REFUSED, 404: NO_SUCH_PAGE},
            ),
            "retrieve": extend_schema(
                summary=f"Read one of the {what}",
                parameters=[RECORD_ID],
                responses={200: serializer, 404: NO_RECORD},
            ),
        }
        if cls.recorder is not None:
            operations["create"] = _write_schema(cls.recorder, serializer, on_record=False)
        for extra in cls.get_extra_actions():
            writer: Writer = getattr(extra, "writer")  # noqa: B009 - set by `changing`
            operations[extra.__name__] = _write_schema(writer, serializer, on_record=True)
        return extend_schema_view(**operations)(cls)

    return document


class RecordViewSet(viewsets.GenericViewSet[Any]):
    """List and read one kind of record. Subclasses give `queryset` (with what the serializer
    reads joined or prefetched: a page costs the same few queries whatever its length),
    `serializer_class`, `filterset_class` and `required_perms`; `RecordingViewSet` adds `create`."""

    lookup_value_regex = "[0-9]+"
    recorder: ClassVar[Writer | None] = None

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

    def checked(self, request: Request, payload: Any) -> dict[str, Any]:
        """The body, checked by `payload`: a refusal names each field, and nothing is written."""
        body = payload(data=request.data)
        body.is_valid(raise_exception=True)
        return dict(body.validated_data)

    def answer(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        """The record as a read shows it (read again: the write may have changed what it joins),
        and audited as a view: what a write answers is shown too (to a system, disclosed)."""
        record = self.get_queryset().get(pk=pk)
        audit_view(actor=Actor.from_request(self.request), obj=record)
        return Response(self.get_serializer(record).data, status=code)

    def patient_of(self, record: Any) -> int:
        return int(record.patient_id)

    def get_object(self) -> Any:
        pk = int(self.kwargs["pk"])
        model = self._model()
        record = self.get_queryset().filter(pk=pk).first() if pk <= BIGGEST_ID else None
        if record is None:
            raise NotFound({"id": [f"No {model._meta.verbose_name} with id {pk}."]})
        return record


class RecordingViewSet(RecordViewSet):
    """A record viewset whose `recorder` makes new records: `POST` to the list."""

    recorder: ClassVar[Writer]

    def create(self, request: Request) -> Response:
        body = self.checked(request, self.recorder.payload)
        record = self.recorder.service(actor=Actor.from_request(request), **body)
        return self.answer(record.pk, status.HTTP_201_CREATED)
