"""来访登记, 跟踪维护 and 实地调查 screens."""
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import lazy_gettext as _l

from app.domain.errors import DomainError
from app.extensions import db
from app.models import CustomerVisit, FieldInvestigation, VisitFollowUp
from app.models.customer import CUSTOMER_KINDS, FOLLOW_UP_METHODS, INVESTIGATION_CONCLUSIONS
from app.services import attachments as attachment_service
from app.services import investigations as investigation_service
from app.services import visits as visit_service
from app.services.scope import scope_filters
from app.views.base import AppInterface, CheckedModelView
from app.views.customers import EDIT_ENDPOINTS, _officer_choices, customer_picker
from app.views.widgets import ChoiceField, DictSelectField, MoneyField

_OFFICER_FILTER = [["branch_id", FilterInFunction, _officer_choices]]


def _open_visit_ids():
    from sqlalchemy import select

    from app.services.scope import apply_scope

    query = select(CustomerVisit.id).where(CustomerVisit.status.notin_(("converted", "closed")))
    return [row for row, in db.session.execute(apply_scope(query, CustomerVisit.branch_id))]


class VisitFollowUpView(CheckedModelView):
    datamodel = AppInterface(VisitFollowUp)
    list_title = _l("Follow-ups")
    show_title = add_title = edit_title = _l("Follow-up")
    base_permissions = ["can_list", "can_show", "can_add"]
    base_filters = [["visit_id", FilterInFunction, lambda: _visible_visit_ids()]]
    label_columns = {"visit": _l("Visit"), "followed_on": _l("Follow-up date"), "method": _l("Method"),
                     "method_label": _l("Method"), "content": _l("Content"), "next_step": _l("Next step"),
                     "next_date": _l("Next follow-up date"), "user": _l("Followed up by")}
    list_columns = ["visit", "followed_on", "method_label", "content", "next_step", "next_date", "user"]
    add_columns = ["visit", "followed_on", "method", "content", "next_step", "next_date"]
    show_columns = ["visit", "followed_on", "method_label", "content", "next_step", "next_date", "user"]
    search_columns = ["followed_on", "method", "next_date"]
    base_order = ("followed_on", "desc")
    add_form_query_rel_fields = {"visit": [["id", FilterInFunction, _open_visit_ids]]}
    add_form_extra_fields = {"method": ChoiceField(_l("Method"), FOLLOW_UP_METHODS)}

    def pre_add(self, item):
        visit_service.check_follow_up(item, g.user)

    def post_add_redirect(self):
        visit_id = request.args.get("_flt_0_visit", type=int)
        if visit_id:
            return redirect(url_for("CustomerVisitView.show", pk=visit_id))
        return redirect(self.get_redirect())


def _visible_visit_ids():
    from sqlalchemy import select

    from app.services.scope import apply_scope

    return apply_scope(select(CustomerVisit.id), CustomerVisit.branch_id)


class CustomerVisitView(CheckedModelView):
    """来访登记: record, follow up, and convert to a customer with the officer's approval."""

    datamodel = AppInterface(CustomerVisit)
    list_title = _l("Customer visits")
    show_title = add_title = edit_title = _l("Customer visit")
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_convert", "can_close"]
    base_filters = scope_filters()
    label_columns = {
        "name": _l("Visitor name"), "kind": _l("Customer type"), "kind_label": _l("Customer type"),
        "mobile": _l("Mobile"), "id_number": _l("ID number / credit code"), "purpose": _l("Loan purpose"),
        "amount_wanted": _l("Amount wanted (yuan)"), "visited_on": _l("Visit date"), "intake_by": _l("Registered by"),
        "officer": _l("Loan officer"), "branch": _l("Branch"), "notes": _l("Notes"), "status": _l("Status"),
        "status_label": _l("Status"), "customer": _l("Customer created"),
        "conversion_approved_by": _l("Conversion approved by"), "conversion_approved_at": _l("Approved at"),
    }
    list_columns = ["name", "kind_label", "mobile", "amount_wanted", "visited_on", "officer", "status_label", "customer"]
    add_columns = edit_columns = ["name", "kind", "mobile", "id_number", "purpose", "amount_wanted", "visited_on",
                                  "officer", "notes"]
    show_columns = ["name", "kind_label", "mobile", "id_number", "purpose", "amount_wanted", "visited_on", "intake_by",
                    "officer", "branch", "notes", "status_label", "conversion_approved_by", "conversion_approved_at",
                    "customer"]
    search_columns = ["name", "mobile", "visited_on", "status", "officer"]
    order_columns = ["name", "visited_on", "amount_wanted"]
    base_order = ("visited_on", "desc")
    related_views = [VisitFollowUpView]
    show_template = "microloan/visit_show.html"
    add_form_query_rel_fields = edit_form_query_rel_fields = {"officer": _OFFICER_FILTER}
    add_form_extra_fields = edit_form_extra_fields = {
        "kind": ChoiceField(_l("Customer type"), CUSTOMER_KINDS),
        "purpose": DictSelectField(_l("Loan purpose"), "loan_purpose"),
        "amount_wanted": MoneyField(_l("Amount wanted (yuan)")),
    }

    def pre_add(self, item):
        visit_service.check_visit(item, g.user)

    def pre_update(self, item):
        if item.status in ("converted", "closed"):
            raise DomainError(f"来访记录已{item.status_label}，不能修改")
        visit_service.check_visit(item, g.user)

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        if request.method == "GET":
            from app.services import settings

            form.visited_on.data = settings.business_date()
            form.officer.data = g.user
        return super()._get_add_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    def _get_visit(self, pk):
        visit = self.datamodel.get(pk, self._base_filters)
        if visit is None:
            abort(404)
        return visit

    @expose("/convert/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("convert")
    def convert(self, pk):
        """建档: request (or, for the visit's own officer, approve) and open the prefilled form."""
        visit = self._get_visit(pk)
        try:
            if visit.status == "pending_conversion" and (visit.officer_id == g.user.id):
                visit_service.approve_conversion(visit, g.user)
            elif visit.status != "approved":
                visit_service.request_conversion(visit, g.user)
        except DomainError as exc:
            flash(exc.message, "danger")
            return redirect(url_for("CustomerVisitView.show", pk=pk))
        if visit.status == "approved":
            kind_view = EDIT_ENDPOINTS[visit.kind].split(".")[0]
            return redirect(url_for(f"{kind_view}.add", visit_id=visit.id))
        flash(f"已提交建档申请，等待客户经理“{visit.officer}”审批", "info")
        return redirect(url_for("CustomerVisitView.show", pk=pk))

    @expose("/close/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("close")
    def close(self, pk):
        visit = self._get_visit(pk)
        try:
            visit_service.close(visit, g.user)
            flash("来访记录已关闭", "success")
        except DomainError as exc:
            flash(exc.message, "danger")
        return redirect(url_for("CustomerVisitView.show", pk=pk))


class FieldInvestigationView(CheckedModelView):
    """实地调查: findings of a two-person on-site visit, with photos and documents."""

    datamodel = AppInterface(FieldInvestigation)
    list_title = _l("Field investigations")
    show_title = add_title = edit_title = _l("Field investigation")
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
    base_filters = scope_filters()
    label_columns = {
        "customer": _l("Customer"), "investigated_on": _l("Investigation date"), "investigator1": _l("Investigator"),
        "investigator2": _l("Second investigator"), "place": _l("Place"), "findings": _l("Findings"),
        "conclusion": _l("Conclusion"), "conclusion_label": _l("Conclusion"), "opinion": _l("Opinion"),
        "branch": _l("Branch"), "created_at": _l("Created at"),
    }
    list_columns = ["customer", "investigated_on", "investigator1", "investigator2", "place", "conclusion_label"]
    add_columns = edit_columns = ["customer", "investigated_on", "investigator1", "investigator2", "place", "findings",
                                  "conclusion", "opinion"]
    show_columns = ["customer", "investigated_on", "investigator1", "investigator2", "place", "findings",
                    "conclusion_label", "opinion", "branch", "created_at"]
    search_columns = ["investigated_on", "place", "conclusion", "investigator1"]
    base_order = ("investigated_on", "desc")
    show_template = "microloan/investigation_show.html"
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "investigator1": _OFFICER_FILTER, "investigator2": _OFFICER_FILTER}

    def __init__(self, **kwargs):
        self.add_form_extra_fields = self.edit_form_extra_fields = {
            "customer": customer_picker(_l("Customer")),
            "conclusion": ChoiceField(_l("Conclusion"), INVESTIGATION_CONCLUSIONS),
        }
        super().__init__(**kwargs)

    def pre_add(self, item):
        investigation_service.check_investigation(item, g.user)

    pre_update = pre_add

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        if request.method == "GET":
            from app.services import settings

            form.investigated_on.data = settings.business_date()
            form.investigator1.data = g.user
        return super()._get_add_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    def post_add_redirect(self):
        customer_id = request.args.get("_flt_0_customer", type=int)
        if customer_id:
            return redirect(url_for("CustomerView.show", pk=customer_id))
        return redirect(self.get_redirect())

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        investigation = self.datamodel.get(pk, self._base_filters)
        if investigation is None:
            abort(404)
        files = attachment_service.for_owner("investigation", investigation.id)
        widgets = self._show(pk)
        return self.render_template(self.show_template, pk=pk, title=self.show_title, widgets=widgets,
                                    related_views=self._related_views, investigation=investigation, files=files)

