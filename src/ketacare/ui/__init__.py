"""Shared form and document helpers that any app may import: the form-error helpers, the API's
error shape, the printed documents' letterhead and style, and the templates of a form field and
of a form's errors. It imports no app of KetaCare's."""
