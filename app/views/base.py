"""Shared base for our ModelViews and APIs."""
import json
import re

from flask import flash, g, request
from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.domain.errors import DomainError
from app.views.widgets import blank_choices_readable


def readable(value):
    """A value as a list or show page cell shows it to people, not programmers: booleans as
    是/否, nothing as an empty cell, a list of related rows as their names joined with 、."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _l("Yes") if value else _l("No")
    if isinstance(value, (list, tuple, set)):
        return "、".join(str(readable(v)) for v in value)
    return value


class ReadableFormatters(dict):
    """``formatters_columns`` whose ``get`` always answers: the view's own formatter (if
    any) followed by ``readable``. FAB's list and show templates (and FAB's other list
    widgets) call ``formatters_columns.get(column)`` for every cell, so each column of each
    list, show page and fieldset goes through it, whatever the view declares."""

    def get(self, key, default=None):
        own = super().get(key, default)
        if own is None:
            return readable
        return lambda value: readable(own(value))


class ReadableViewMixin:
    """What every ModelView of the app shows people (mix it in before FAB's ModelView):

    - list and show cells through ``readable`` (no True/False/None);
    - optional relation drop-downs with a real blank choice (``blank_choices_readable``:
      FAB's showed "__None")."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.formatters_columns = ReadableFormatters(self.formatters_columns or {})

    def _init_forms(self):
        super()._init_forms()
        blank_choices_readable(self.add_form)
        blank_choices_readable(self.edit_form)
        blank_choices_readable(self.search_form, searching=True)


class AppModelView(ReadableViewMixin, ModelView):
    """ModelView with a modest page size (lists stay fast on big tables).

    The many-to-one relations a list shows (``customer``, ``officer``, ``loan.customer`` …)
    are loaded for the whole page at once, one ``SELECT … WHERE id IN (…)`` per relation
    (``AppInterface.list_eager``), so a page costs the same number of queries whatever its
    size (no query per row).

    FAB flashes any exception raised in ``pre_add``/``pre_update``/``pre_delete`` and saves
    nothing, so a service's DomainError (a Chinese message) reaches the user as is.
    """

    page_size = 20

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        datamodel = self.datamodel
        if isinstance(datamodel, AppInterface):
            paths = [column for column in self.list_columns if _is_relation_path(datamodel, column)]
            datamodel.list_eager = tuple(sorted(set(datamodel.list_eager) | set(paths)))


def _is_relation_path(datamodel, column):
    """``column`` (maybe dotted) names many-to-one / one-to-one relations all the way."""
    model = datamodel.obj
    for part in column.split("."):
        relation = getattr(model, "__mapper__", None) and model.__mapper__.relationships.get(part)
        if relation is None or relation.uselist:
            return False
        model = relation.mapper.class_
    return True


class EstimatedCount(int):
    """A list's record count estimated by the database's planner (see AppInterface): the
    pagination counts with it like any int; the page shows it as "about N"."""

    def __str__(self):
        prefix = _l("approx.")
        return f"{prefix} {int(self):,}"


class AppInterface(SQLAInterface):
    """FAB's SQLAlchemy interface, except that a NOT NULL boolean is not "required":
    FAB would otherwise refuse an unticked checkbox (an unticked box means False).

    Lists on big tables: ``query`` loads the relations in ``list_eager`` for the page (one
    IN query each; not joined into the page's query, whose plan — an index walk in the
    list's order — stays as it is: on SQLite a join there makes the sort carry every joined
    row), and the record count is exact only up to ``estimate_above`` rows: the count
    query reads at most that many rows plus one (``LIMIT``), and above it PostgreSQL's
    planner estimate for the filtered query is shown instead ("about N", EstimatedCount),
    so an exact ``count(*)`` over a million installments or journal lines never dominates a
    page. On SQLite (no planner estimate) the count stays exact. ``estimate_above = None``
    keeps every count exact."""

    list_eager = ()
    estimate_above = 10_000

    def is_nullable(self, col_name):
        if self.is_boolean(col_name):
            return True
        return super().is_nullable(col_name)

    def query(self, filters=None, order_column="", order_direction="", page=None, page_size=None,
              select_columns=None, outer_default_load=False):
        """FAB's ``query`` (count, then the page), with the list's relations eager-loaded."""
        query = self.session.query(self.obj)
        count = self.query_count(query, filters, select_columns)
        query = self.apply_all(query, filters, order_column, order_direction, page, page_size, select_columns,
                               outer_default_load)
        if self.list_eager and not select_columns:
            query = query.options(*[self._eager(path) for path in self.list_eager])
        results = query.all()
        items = []
        for item in results:
            if not hasattr(item, self.obj.__name__):
                return count, results
            items.append(getattr(item, self.obj.__name__))
        return count, items

    def _eager(self, path):
        model, option = self.obj, None
        for part in path.split("."):
            attribute = getattr(model, part)
            option = selectinload(attribute) if option is None else option.selectinload(attribute)
            model = attribute.property.mapper.class_
        return option

    def query_count(self, query, filters=None, select_columns=None):
        g.list_count = True   # filters may shape a count differently from a page (LoanScopeFilter)
        try:
            inner = self._apply_inner_all(query, filters, select_columns=select_columns, aliases_mapping={})
        finally:
            g.list_count = False
        limit = self.estimate_above
        if limit is None or self.session.get_bind().dialect.name != "postgresql":
            return inner.count()
        capped = self.session.execute(
            select(func.count()).select_from(inner.limit(limit + 1).subquery())).scalar()
        if capped <= limit:
            return capped
        return EstimatedCount(max(capped, planner_rows(self.session, inner.statement)))


def planner_rows(session, statement):
    """PostgreSQL's estimate of the rows ``statement`` returns (EXPLAIN, nothing is run)."""
    compiled = statement.compile(dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True})
    plan = session.connection().exec_driver_sql("EXPLAIN (FORMAT JSON) " + compiled.string,
                                                compiled.params).scalar()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


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
