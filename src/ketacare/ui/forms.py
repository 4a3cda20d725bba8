"""Form helpers shared by every app's views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

T = TypeVar("T")
R = TypeVar("R", bound=Model)

# An invalid form is answered with 422 and shown again with every error beside its field.
UNPROCESSABLE = 422


def apply_errors(form: BaseForm, exc: ValidationError) -> None:
    """Put a service's validation errors beside the fields they name (or atop the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def submit(
    form: BaseForm,
    action: Callable[[], T],
    *,
    place: Callable[[ValidationError], ValidationError] | None = None,
) -> tuple[bool, T | None]:
    """The step every POST form takes: validate the form, then call the service (`action`, which
    reads `form.cleaned_data`). A service's refusal goes beside the fields it names (`place` maps
    its field names onto the form's where they differ), and nothing was written: services are
    one transaction each. Returns (True, what the service returned), or (False, None) with the
    errors on the form, for the page to show again with UNPROCESSABLE."""
    if not form.is_valid():
        return False, None
    try:
        return True, action()
    except ValidationError as exc:
        apply_errors(form, place(exc) if place else exc)
        return False, None


def saved(
    request: HttpRequest,
    form: BaseForm,
    action: Callable[[], T],
    *,
    said: str | Callable[[T], str] | None,
    to: str | Callable[[T], str],
    place: Callable[[ValidationError], ValidationError] | None = None,
) -> HttpResponse | None:
    """A posted form, as every page takes it: `submit`, then the success message (`said`; None for
    none) and the redirect (`to`: a URL or a URL name), either of which may be worked out from
    what the service returned. None when the form or the service refused: the errors are on the
    form, for the page to show again with UNPROCESSABLE."""
    done, returned = submit(form, action, place=place)
    if not done:
        return None
    result = cast(T, returned)
    if said is not None:
        messages.success(request, said if isinstance(said, str) else said(result))
    return redirect(to if isinstance(to, str) else to(result))


def form_post(
    load: Callable[..., R],
    form: Callable[..., BaseForm],
    *,
    page: Callable[[HttpRequest, int, dict[str, BaseForm], int], HttpResponse],
    url: Callable[[R], str],
    key: str,
    anchor: str = "",
    said: str | Callable[[Any], str] | None,
    form_kwargs: Callable[[R], dict[str, Any]] | None = None,
) -> Callable[[Callable[[HttpRequest, R, Any], Any]], Callable[..., HttpResponse]]:
    """Makes a POST-only view of one form on a record's page from the service call it makes (the
    decorated function, given the request, the record and the valid form). The record is `load`ed
    from the URL's ids, the form bound to the post (with `form_kwargs` of the record), then
    `saved`: the message and back to the page (`url`) at the form's place (`anchor`), or the
    record's `page` shown again with this form (its name there: `key`) and its errors, with
    UNPROCESSABLE."""

    def view_of(save: Callable[[HttpRequest, R, Any], Any]) -> Callable[..., HttpResponse]:
        @require_POST
        @wraps(save)
        def view(request: HttpRequest, **ids: Any) -> HttpResponse:
            record = load(**ids)
            bound = form(request.POST, **(form_kwargs(record) if form_kwargs else {}))
            return saved(
                request,
                bound,
                lambda: save(request, record, bound),
                said=said,
                to=url(record) + (f"#{anchor}" if anchor else ""),
            ) or page(request, record.pk, {key: bound}, UNPROCESSABLE)

        return view

    return view_of


def status_of(request: HttpRequest) -> int:
    """The status of a form page: 200 when asked for, UNPROCESSABLE when shown again after a
    refused post (a successful post has been redirected)."""
    return UNPROCESSABLE if request.method == "POST" else 200


def cleaned(form: BaseForm, names: tuple[str, ...]) -> dict[str, Any]:
    """The form's cleaned values of the fields a service takes by the same names."""
    return {name: form.cleaned_data[name] for name in names}


class PeriodForm(forms.Form):
    """A form naming a period by its first and last day (the fields named in `period`): an end
    before the start is refused beside the end, saying `backwards`."""

    period = ("start", "end")
    backwards = "The end is before the start."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = self.period
        if data.get(first) and data.get(last) and data[first] > data[last]:
            self.add_error(last, self.backwards)
        return data


def refuse_overlong(form: BaseForm) -> None:
    """Leave the length limits of the form's text fields to the server: a browser given
    `maxlength` cuts a pasted value silently (a 300-character name became its first 100); without
    it the value is refused beside the field, "at most 100 characters (it has 300)"."""
    for field in form.fields.values():
        field.widget.attrs.pop("maxlength", None)
