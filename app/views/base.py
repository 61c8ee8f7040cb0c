"""Shared base for our ModelViews and APIs."""
import re

from flask import flash, request
from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.domain.errors import DomainError


class AppModelView(ModelView):
    """ModelView with a modest page size (lists stay fast on big tables).

    FAB flashes any exception raised in ``pre_add``/``pre_update``/``pre_delete`` and saves
    nothing, so a service's DomainError (a Chinese message) reaches the user as is.
    """

    page_size = 20


class AppInterface(SQLAInterface):
    """FAB's SQLAlchemy interface, except that a NOT NULL boolean is not "required":
    FAB would otherwise refuse an unticked checkbox (an unticked box means False)."""

    def is_nullable(self, col_name):
        if self.is_boolean(col_name):
            return True
        return super().is_nullable(col_name)


def _checked_form(form_class, view):
    """A subclass of a FAB form whose ``validate`` also runs ``view.check_form``: a
    DomainError then shows under its field and the user's input stays on the page
    (FAB would otherwise flash pre_add errors and throw the input away)."""

    class CheckedForm(form_class):
        def validate(self, extra_validators=None):
            if not super().validate(extra_validators=extra_validators):
                return False
            try:
                view.check_form(self, request.view_args.get("pk") if request.view_args else None)
            except DomainError as exc:
                field = self._fields.get(exc.field or "")
                if field is not None:
                    # FAB's field template runs errors through gettext's %-formatting.
                    field.errors = list(field.errors) + [exc.message.replace("%", "%%")]
                else:
                    flash(exc.message, "danger")
                return False
            return True

    CheckedForm.__name__ = form_class.__name__
    return CheckedForm


class CheckedModelView(AppModelView):
    """A ModelView whose add and edit forms are checked by a service before saving.

    Subclasses implement ``check_form(form, pk)`` (raise DomainError with a field name)
    and still call the service again in ``pre_add``/``pre_update``: the form check is for
    the user's comfort, the service check is the guarantee.
    """

    def check_form(self, form, pk):
        pass

    def _init_forms(self):
        super()._init_forms()
        self.add_form = _checked_form(self.add_form, self)
        self.edit_form = _checked_form(self.edit_form, self)


def xlsx_download(data, file_name):
    """An .xlsx download response; the (Chinese) file name survives in every browser."""
    from urllib.parse import quote

    from flask import Response

    from app.services.excel import XLSX_MIMETYPE

    return Response(data, mimetype=XLSX_MIMETYPE, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(file_name)}"})


# -- OpenAPI documentation of hand-written API endpoints --------------------------------
_URL_PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")


#: The answers of any protected endpoint on one record: not logged in, not allowed, not found.
PROTECTED_ERRORS = (401, 403, 404)


def api_operation(*more_errors, parameters=()):
    """What ``ApiDocsMixin`` adds to an endpoint's OpenAPI operation: the error responses
    (FAB's shared ``#/components/responses/<code>``: PROTECTED_ERRORS and ``more_errors``)
    and extra ``parameters``. The docstring then holds only what is particular to the
    endpoint (description, request body, the 200/201 answer)."""

    def mark(func):
        func._api_operation = {"errors": PROTECTED_ERRORS + more_errors, "parameters": list(parameters)}
        return func

    return mark


class ApiDocsMixin:
    """A BaseApi mixin that completes the operations FAB reads from the docstrings of the
    endpoints marked with ``@api_operation``: the URL's path parameters (``<int:loan_id>``),
    the extra parameters and the error responses, which every endpoint would otherwise
    spell out again in the same YAML lines."""

    def operation_helper(self, path=None, operations=None, methods=None, func=None, **kwargs):
        super().operation_helper(path=path, operations=operations, methods=methods, func=func, **kwargs)
        extra = getattr(func, "_api_operation", None)
        if extra is None:
            return
        path_parameters = [{"in": "path", "schema": {"type": "integer" if kind == "int" else "string"}, "name": name}
                           for url, _methods in func._urls if self.path_helper(path=url) == path
                           for kind, name in _URL_PARAMETER.findall(url)]
        for method in methods:
            operation = operations[method.lower()]
            operation["parameters"] = path_parameters + extra["parameters"] + operation.get("parameters", [])
            responses = operation.setdefault("responses", {})
            for code in extra["errors"]:
                responses.setdefault(code, {"$ref": f"#/components/responses/{code}"})


def like_term(value):
    """A list filter's typed text as a LIKE pattern: FAB may hand the value as a list."""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    return f"%{(value or '').strip()}%"
