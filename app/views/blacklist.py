"""不良客户 (blacklist): list, add from a customer or directly, lift with a reason."""
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import lazy_gettext as _l

from app.domain.errors import DomainError
from app.extensions import db
from app.models import BlacklistEntry, Customer
from app.services import blacklist as blacklist_service
from app.services.scope import can_see_branch
from app.views.base import AppInterface, CheckedModelView
from app.views.widgets import DictSelectField


class BlacklistEntryView(CheckedModelView):
    datamodel = AppInterface(BlacklistEntry)
    list_title = _l("Blacklist")
    show_title = add_title = _l("Blacklist entry")
    base_permissions = ["can_list", "can_show", "can_add", "can_lift"]
    label_columns = {
        "identifier": _l("ID number / credit code"), "name": _l("Name"), "customer": _l("Customer"),
        "reason": _l("Reason"), "source": _l("Source"), "listed_on": _l("Listed on"), "added_by": _l("Added by"),
        "status": _l("Status"), "status_label": _l("Status"), "lifted_on": _l("Lifted on"),
        "lifted_by": _l("Lifted by"), "lift_reason": _l("Reason for lifting"),
    }
    list_columns = ["identifier", "name", "reason", "listed_on", "added_by", "status_label", "lifted_on"]
    add_columns = ["identifier", "name", "reason", "source", "listed_on"]
    show_columns = ["identifier", "name", "customer", "reason", "source", "listed_on", "added_by", "status_label",
                    "lifted_on", "lifted_by", "lift_reason"]
    search_columns = ["identifier", "name", "status", "listed_on", "source"]
    base_order = ("listed_on", "desc")
    show_template = "microloan/blacklist_show.html"
    add_form_extra_fields = {"source": DictSelectField(_l("Source"), "blacklist_source")}
    description_columns = {"identifier": _l("18-digit ID number of a person or credit code of a company")}

    def check_form(self, form, pk):
        blacklist_service.check_entry(BlacklistEntry(
            identifier=form.identifier.data, name=form.name.data, reason=form.reason.data,
            listed_on=form.listed_on.data), g.user)

    def pre_add(self, item):
        blacklist_service.check_entry(item, g.user)

    def post_add(self, item):
        blacklist_service.refresh_flags(item.identifier)
        db.session.commit()

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        customer_id = request.args.get("customer_id", type=int)
        if request.method == "GET" and customer_id:
            customer = db.session.get(Customer, customer_id)
            if customer is None or not can_see_branch(customer.branch_id):
                abort(404)
            form.identifier.data = customer.identifier
            form.name.data = customer.name
        return super()._get_add_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    @expose("/lift/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("lift")
    def lift(self, pk):
        entry = db.session.get(BlacklistEntry, pk)
        if entry is None:
            abort(404)
        try:
            blacklist_service.lift(entry, request.form.get("lift_reason", ""), g.user)
            flash(f"已解除“{entry.name}”的黑名单", "success")
        except DomainError as exc:
            flash(exc.message, "danger")
        return redirect(url_for("BlacklistEntryView.show", pk=pk))
