"""Form fields our views share: dictionary drop-downs and AJAX record pickers.

A picker never loads a whole table: it renders only the current choice and asks a search
endpoint (JSON ``{"results": [{"id", "text"}]}``) as the user types.
"""
from flask import url_for
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, Select2ManyWidget, Select2Widget
from flask_appbuilder.fields import QuerySelectField
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms import DecimalField, Field, IntegerField, SelectField, SelectMultipleField
from wtforms.fields.core import UnboundField
from wtforms.validators import Optional, StopValidation

from app.extensions import db
from app.models import DictItem, DictType


def dict_choices(dict_code, blank=True):
    def choices():
        rows = db.session.execute(
            select(DictItem.code, DictItem.label).join(DictType)
            .where(DictType.code == dict_code, DictItem.is_active.is_(True)).order_by(DictItem.sort_order)).all()
        return ([("", "")] if blank else []) + [(code, label) for code, label in rows]
    return choices


def DictSelectField(label, dict_code, description="", blank=True, **kwargs):
    """A drop-down of one dictionary's active items; stores the item code."""
    return SelectField(label, choices=dict_choices(dict_code, blank), widget=Select2Widget(),
                       description=description, validate_choice=False, **kwargs)


class _LiveSelectField(SelectField):
    """A SelectField whose choices are read from a function each time the form is shown or
    checked: registries filled by modules imported after the view was built (workflow
    business types, condition fields) would otherwise be missing from the drop-down."""

    def __init__(self, label=None, validators=None, choices_fn=None, blank=False, **kwargs):
        self._choices_fn, self._blank = choices_fn, blank
        super().__init__(label, validators, **kwargs)

    @property
    def choices(self):
        return ([("", "")] if self._blank else []) + list(self._choices_fn().items())

    @choices.setter
    def choices(self, value):     # SelectField.__init__ assigns it: the function decides
        pass


def ChoiceField(label, choices, blank=False, description="", **kwargs):
    """A drop-down of a code → label mapping, or of a function returning one (read when
    the form is rendered and validated)."""
    if callable(choices):
        return _LiveSelectField(label, choices_fn=choices, blank=blank, widget=Select2Widget(),
                                description=description, **kwargs)
    pairs = ([("", "")] if blank else []) + list(choices.items())
    return SelectField(label, choices=pairs, widget=Select2Widget(), description=description, **kwargs)


def MoneyField(label, description="", **kwargs):
    """An optional amount in yuan, two decimals, in FAB's text input style."""
    return DecimalField(label, places=2, validators=[Optional()], widget=BS3TextFieldWidget(),
                        description=description, **kwargs)


def CountField(label, description="", **kwargs):
    return IntegerField(label, validators=[Optional()], widget=BS3TextFieldWidget(), description=description,
                        **kwargs)


class AjaxPickerWidget:
    def __init__(self, endpoint, placeholder):
        self.endpoint = endpoint
        self.placeholder = placeholder

    def __call__(self, field, **kwargs):
        current = field.data
        option = Markup('<option value="{}" selected>{}</option>').format(current.id, str(current)) if current else ""
        return Markup('<select id="{id}" name="{name}" class="form-control ml-ajax-picker" data-url="{url}" '
                      'data-placeholder="{ph}" style="width:100%"><option value=""></option>{opt}</select>').format(
            id=field.id, name=field.name, url=url_for(self.endpoint), ph=escape(str(self.placeholder)), opt=option)


class AjaxModelField(Field):
    """Holds a model instance; the form posts its id. ``allowed(row)`` decides whether the
    current user may pick that row (data scope), so a forged id cannot reach another branch."""

    def __init__(self, label=None, validators=None, model=None, endpoint=None, placeholder="",
                 allowed=None, **kwargs):
        super().__init__(label, validators, widget=AjaxPickerWidget(endpoint, placeholder), **kwargs)
        self.model = model
        self.allowed = allowed
        self._invalid = False

    def process_formdata(self, valuelist):
        self._invalid = False
        value = (valuelist or [""])[0]
        if not value:
            self.data = None
            return
        try:
            row = db.session.get(self.model, int(value))
        except (TypeError, ValueError):
            row = None
        if row is None or (self.allowed is not None and not self.allowed(row)):
            self.data = None
            self._invalid = True
        else:
            self.data = row

    def pre_validate(self, form):
        if self._invalid:
            raise StopValidation("所选记录不存在或无权访问，请重新搜索选择")

    def _value(self):
        return str(self.data.id) if self.data else ""


class CommaListField(SelectMultipleField):
    """Several codes from a fixed list, stored in one column as "a,b,c"."""

    def __init__(self, label=None, validators=None, choices=None, **kwargs):
        super().__init__(label, validators, choices=list(choices.items()), widget=Select2ManyWidget(), **kwargs)

    def process_data(self, value):
        if isinstance(value, str):
            value = [v for v in value.split(",") if v]
        super().process_data(value)

    def populate_obj(self, obj, name):
        setattr(obj, name, ",".join(self.data or []))


# -- The blank choice of an optional relation drop-down ----------------------------------
#: FAB's own msgid for its select2 placeholder (请选择 in FAB's and our catalogue).
BLANK_CHOICE = _l("Select Value")


class BlankableQuerySelectField(QuerySelectField):
    """FAB's QuerySelectField, whose blank choice is ``<option value="">`` with no label.

    FAB writes the blank choice as ``value="__None"`` with an empty label, and WTForms
    shows the value when the label is empty: users saw "__None". With the value "" the
    option is select2's placeholder instead (it shows 请选择, greyed, and its clear button
    really clears: select2 clears to "", which FAB's field did not know, so the old
    relation was kept). "__None" is still read as blank (forms posted by old pages)."""

    def iter_choices(self):
        if self.allow_blank:
            yield ("", "", self.data is None, {})
        for pk, obj in self._get_object_list():
            yield (pk, self.get_label(obj), obj == self.data, {})

    def process_formdata(self, valuelist):
        if valuelist and self.allow_blank and valuelist[0] in ("", "__None"):
            self.data = None
            return
        super().process_formdata(valuelist)


def blank_choices_readable(form_class, searching=False):
    """Make the blank choice of every optional relation drop-down of ``form_class`` (a
    form class FAB generated, fields still unbound) readable: on add/edit forms the field
    becomes a BlankableQuerySelectField; on a search form, whose filters FAB applies with
    the value "__None", only the label changes (请选择)."""
    if form_class is None:
        return
    for name in dir(form_class):
        unbound = getattr(form_class, name, None)
        if not (isinstance(unbound, UnboundField) and unbound.field_class is QuerySelectField
                and unbound.kwargs.get("allow_blank")):
            continue
        if searching:
            if not unbound.kwargs.get("blank_text"):
                unbound.kwargs["blank_text"] = BLANK_CHOICE
        else:
            unbound.field_class = BlankableQuerySelectField
