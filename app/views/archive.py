"""档案管理 screens (issue #12), registered from app/views/__init__.py under the "Archive" menu.

View names follow the role rules in app/security.py: the Archivist (and Admin) hold every
``Archive…`` permission; the other roles get only ``ArchiveStockView`` / ``ArchiveLentView``
(read) and the request permissions of ``ArchiveBorrowRequestView`` and
``ArchiveWithdrawalRequestView`` — the movement permissions (``can_lend``, ``can_receive``,
``can_execute`` and everything on ``ArchiveItemView``, ``ArchiveMovementView``,
``ArchiveTransferView``, ``ArchiveCustodyView``, ``ArchiveDestructionView``) stay with the
archivist. All the rules live in app/services/archive.py and archive_requests.py.
"""
from datetime import date

from flask import abort, current_app, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_appbuilder.urltools import get_filter_args
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import or_, select
from wtforms import BooleanField, DateField, StringField
from wtforms.validators import InputRequired, Optional

from app.domain.errors import DomainError
from app.extensions import db
from app.models import AppUser, Branch, Collateral, Customer, Loan
from app.models.archive import (
    CHECK_OUT_PURPOSES, MOVEMENT_KINDS, WITHDRAWAL_PURPOSES, ArchiveBorrowing,
    ArchiveItem, ArchiveMovement, ArchiveTransfer, CollateralWithdrawal,
)
from app.services import archive as service
from app.services import archive_requests as requests_service
from app.services import home, loans, settings
from app.services import workflow as workflow_service
from app.services.scope import can_see_branch, scope_filters, visible_branch_ids
from app.views.base import AppInterface, AppModelView, CheckedModelView, like_term, xlsx_download
from app.views.widgets import AjaxModelField, CountField, DictSelectField

PRINT_LIMIT = 2000


# -- helpers ------------------------------------------------------------------------------------
def _parse_date(value, label, required=False):
    value = (value or "").strip()
    if not value:
        if required:
            raise DomainError(f"请填写{label}")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DomainError(f"{label}“{value}”不是有效日期（格式 2026-03-16）") from None


def _run(action, success, back):
    """Call a service action from a POST; flash its result and go ``back``."""
    try:
        action()
        flash(success, "success")
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    return redirect(back)


def _filtered(view, order, direction="desc"):
    """The rows of a ModelView's list as filtered on screen (and by its base filters)."""
    get_filter_args(view._filters, disallow_if_not_in_search=False)
    joined = view._filters.get_joined_filters(view._base_filters)
    _count, rows = view.datamodel.query(joined, order, direction)
    return rows


def _today_tag():
    return f"{settings.business_date():%Y%m%d}"


def _list_tools(view_name, export=True, print_=True, extra=()):
    tools = []
    if export:
        tools.append((_l("Export to Excel"), f"{view_name}.export", "can_export", view_name, True))
    if print_:
        tools.append((_l("Print register"), f"{view_name}.print_register", "can_print", view_name, True))
    return tools + list(extra)


def _user_choices():
    return db.session.execute(select(AppUser).where(AppUser.active.is_(True)).order_by(AppUser.id)).scalars().all()


def _branch_choices():
    return db.session.execute(select(Branch).order_by(Branch.id)).scalars().all()


# -- list filters -------------------------------------------------------------------------------
class ItemCustomerFilter(BaseFilter):
    """客户: the item's customer's name, number or ID contains the text typed."""

    name = "包含"
    arg_name = "acn"

    def apply(self, query, value):
        term = like_term(value)
        return query.filter(self.model.customer_id.in_(select(Customer.id).where(or_(
            Customer.name.like(term), Customer.customer_no.like(term), Customer.id_number.like(term),
            Customer.credit_code.like(term)))))


class ItemCustomerIdFilter(BaseFilter):
    """The customer page's link: the items of one customer (by id)."""

    name = "客户编号（内部）"
    arg_name = "aci"

    def apply(self, query, value):
        try:
            return query.filter(self.model.customer_id == int(value[0] if isinstance(value, (list, tuple)) else value))
        except (TypeError, ValueError):
            return query


class ItemLoanFilter(BaseFilter):
    """项目: the loan number starts with the text typed."""

    name = "包含"
    arg_name = "aln"

    def apply(self, query, value):
        term = like_term(value).lstrip("%")
        return query.filter(self.model.loan_id.in_(select(Loan.id).where(Loan.loan_no.like(term))))


class MovementItemFilter(BaseFilter):
    """档案: the item's number or title contains the text typed."""

    name = "包含"
    arg_name = "ami"

    def apply(self, query, value):
        term = like_term(value)
        return query.filter(self.model.item_id.in_(select(ArchiveItem.id).where(or_(
            ArchiveItem.archive_no.like(term), ArchiveItem.title.like(term)))))


class BorrowingScopeFilter(BaseFilter):
    """Borrowings of the user's branches, and the user's own."""

    name = "数据权限"
    arg_name = None

    def apply(self, query, value):
        ids = visible_branch_ids()
        if ids is None:
            return query
        return query.filter(or_(ArchiveBorrowing.branch_id.in_(ids), ArchiveBorrowing.borrower_id == g.user.id))


def _replace_filters(view, column, filters):
    view._filters.get_search_filters()[column] = filters
    view._filters._all_filters[column] = filters


def _use_item_text_filters(view):
    _replace_filters(view, "customer_id", [ItemCustomerFilter("customer_id", view.datamodel),
                                           ItemCustomerIdFilter("customer_id", view.datamodel)])
    _replace_filters(view, "loan_id", [ItemLoanFilter("loan_id", view.datamodel)])


# -- labels --------------------------------------------------------------------------------------
ITEM_LABELS = {
    "archive_no": _l("Archive no."), "doc_type": _l("Archive document type"), "title": _l("Archive title"),
    "customer": _l("Customer"), "customer_id": _l("Customer"), "loan": _l("Loan"), "loan_id": _l("Loan"),
    "collateral": _l("Collateral"), "branch": _l("Branch"), "pieces": _l("Pieces"), "pages": _l("Pages"),
    "room": _l("Archive room"), "cabinet": _l("Cabinet"), "shelf": _l("Shelf"), "box": _l("Box"),
    "location": _l("Location"), "level": _l("Archive level"), "retention_years": _l("Retention (years)"),
    "retain_until": _l("Retain until"), "status": _l("Status"), "status_label": _l("Status"),
    "custody": _l("Held for the owner"), "custody_label": _l("Held for the owner"), "owner_name": _l("Owner"),
    "certificate_no": _l("Certificate no."), "custodian": _l("Custodian"), "filed_on": _l("Filed on"),
    "remarks": _l("Remarks"), "created_by": _l("Filed by"), "created_at": _l("Created at"),
    "handed_by": _l("Handed in by"), "condition": _l("Condition"),
}
MOVEMENT_LABELS = {
    "occurred_on": _l("Date"), "kind": _l("Register"), "kind_label": _l("Register"), "item": _l("Archive item"),
    "item_id": _l("Archive item"), "archive_no": _l("Archive no."), "item_title": _l("Archive title"),
    "purpose": _l("Check-out purpose"), "purpose_label": _l("Check-out purpose"),
    "from_status_label": _l("Status before"), "to_status_label": _l("Status after"), "handed_by": _l("Handed over by"),
    "received_by": _l("Received by"), "condition": _l("Condition"), "reason": _l("Reason"),
    "location": _l("Location"), "operator": _l("Handled by"), "branch": _l("Branch"), "created_at": _l("Recorded at"),
}
BORROWING_LABELS = {
    "borrowing_no": _l("Borrowing no."), "borrower": _l("Borrower"), "branch": _l("Branch"),
    "purpose": _l("Purpose of borrowing"), "expected_return_on": _l("Expected return date"),
    "status": _l("Status"), "status_label": _l("Status"), "items_label": _l("Archive items"),
    "lent_on": _l("Lent on"), "closed_on": _l("Returned on"), "created_at": _l("Requested at"),
}
WITHDRAWAL_LABELS = {
    "withdrawal_no": _l("Withdrawal no."), "item": _l("Certificate"), "loan": _l("Loan"),
    "collateral": _l("Collateral"), "purpose": _l("Withdrawal purpose"), "purpose_label": _l("Withdrawal purpose"),
    "receiver_name": _l("Collected by"), "reason": _l("Reason"), "expected_return_on": _l("Expected back on"),
    "status": _l("Status"), "status_label": _l("Status"), "proposed_at_settlement": _l("Proposed at settlement"),
    "applicant": _l("Applicant"), "suspend_reason": _l("Reason for suspension"), "executed_on": _l("Handed over on"),
    "branch": _l("Branch"), "created_at": _l("Requested at"),
}
TRANSFER_LABELS = {
    "transfer_no": _l("Transfer no."), "item": _l("Archive item"), "from_user": _l("Handed over by"),
    "receiver_label": _l("Receiver"), "to_branch": _l("Receiving branch"), "to_location": _l("New location"),
    "reason": _l("Reason"), "status": _l("Status"), "status_label": _l("Status"), "sent_on": _l("Transfer date"),
    "confirmed_on": _l("Confirmed on"), "receiver_name": _l("Signed by"), "branch": _l("Branch"),
}


def _doc_type(value):
    return service.doc_type_label(value)


def _level(value):
    return service.level_label(value)


# -- 档案台账 (the archivist's view of every item) ------------------------------------------------
class _ItemPages:
    """The item page, export and print shared by the item views."""

    show_template = "microloan/archive_item_show.html"

    def _get_item(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            abort(404)
        return item

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        item = self._get_item(pk)
        sm = self.appbuilder.sm
        borrowings = db.session.execute(select(ArchiveBorrowing).where(ArchiveBorrowing.lines.any(item_id=item.id))
                                        .order_by(ArchiveBorrowing.id.desc())).scalars().all()
        withdrawals = db.session.execute(select(CollateralWithdrawal).where(CollateralWithdrawal.item_id == item.id)
                                         .order_by(CollateralWithdrawal.id.desc())).scalars().all()
        transfers = db.session.execute(select(ArchiveTransfer).where(ArchiveTransfer.item_id == item.id)
                                       .order_by(ArchiveTransfer.id.desc())).scalars().all()
        return self.render_template(
            self.show_template, title=_l("Archive item"), item=item, labels=ITEM_LABELS,
            doc_type=service.doc_type_label(item.doc_type), level=service.level_label(item.level),
            history=service.history(item), borrowings=borrowings, withdrawals=withdrawals, transfers=transfers,
            purposes={k: v for k, v in CHECK_OUT_PURPOSES.items() if k in service.DIRECT_CHECK_OUT},
            certificate=service.is_certificate(item), pending=service.pending_transfer(item.id),
            can_move=sm.has_access("can_check_out", "ArchiveItemView"),
            can_destroy=sm.has_access("can_destroy", "ArchiveItemView"),
            can_transfer=sm.has_access("can_add", "ArchiveTransferView"),
            can_borrow=sm.has_access("can_add", "ArchiveBorrowRequestView"),
            can_withdraw=sm.has_access("can_add", "ArchiveWithdrawalRequestView"),
            can_label=sm.has_access("can_print", "ArchiveItemView"), today=settings.business_date())

    @expose("/export")
    @has_access
    @permission_name("export")
    def export(self):
        rows = _filtered(self, "archive_no")
        return xlsx_download(service.items_workbook(rows, self.sheet_title), f"{self.sheet_title}_{_today_tag()}.xlsx")

    @expose("/print")
    @has_access
    @permission_name("print")
    def print_register(self):
        rows = list(_filtered(self, "archive_no", "asc"))[:PRINT_LIMIT]
        headers = [_("Archive no."), _("Archive document type"), _("Archive title"), _("Customer"), _("Loan"),
                   _("Pieces"), _("Location"), _("Archive level"), _("Status"), _("Owner"), _("Filed on")]
        body = [[i.archive_no, service.doc_type_label(i.doc_type), i.title, i.customer.name if i.customer else "",
                 i.loan.loan_no if i.loan else "", i.pieces, i.location, service.level_label(i.level), i.status_label,
                 i.owner_name or "", i.filed_on] for i in rows]
        return self.render_template("microloan/archive_print.html", title=self.sheet_title, headers=headers, rows=body,
                                    back=url_for(f"{self.__class__.__name__}.list"))


ITEM_FORM_COLUMNS = ["doc_type", "title", "customer", "loan", "collateral", "certificate_no", "pieces", "pages",
                     "room", "cabinet", "shelf", "box", "level", "custody", "owner_name", "filed_on", "handed_by",
                     "condition", "remarks"]


class ArchiveItemView(_ItemPages, CheckedModelView):
    """档案台账: every item; 入库 (add), 出库, 回库, 销毁, labels, registers (archivist)."""

    datamodel = AppInterface(ArchiveItem)
    list_title = _l("Archive items")
    show_title = _l("Archive item")
    add_title = _l("Check in an archive item")
    edit_title = _l("Edit archive item")
    sheet_title = "档案台账"
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_export", "can_print", "can_check_in",
                        "can_check_out", "can_destroy", "can_file_company"]
    base_filters = scope_filters()
    label_columns = ITEM_LABELS
    list_columns = ["archive_no", "doc_type", "title", "customer", "loan", "location", "level", "status_label",
                    "custody_label", "filed_on"]
    add_columns = ITEM_FORM_COLUMNS
    edit_columns = ["doc_type", "title", "certificate_no", "pieces", "pages", "level", "owner_name", "remarks"]
    search_columns = ["archive_no", "doc_type", "title", "status", "level", "room", "cabinet", "shelf", "box",
                      "custody", "certificate_no", "customer_id", "loan_id", "filed_on", "retain_until"]
    order_columns = ["archive_no", "filed_on", "title"]
    base_order = ("archive_no", "desc")
    list_template = "microloan/list.html"
    formatters_columns = {"doc_type": _doc_type, "level": _level}

    def __init__(self, **kwargs):
        fields = {
            "doc_type": DictSelectField(_l("Archive document type"), "archive_doc_type", validators=[InputRequired(message="请选择档案类型")]),
            "level": DictSelectField(_l("Archive level"), "archive_level", validators=[InputRequired(message="请选择档案等级")]),
            "customer": AjaxModelField(_l("Customer"), validators=[Optional()], model=Customer,
                                       endpoint="CustomerView.search", placeholder=_l("Type a name, ID number or mobile"),
                                       allowed=lambda c: can_see_branch(c.branch_id)),
            "loan": AjaxModelField(_l("Loan"), validators=[Optional()], model=Loan, endpoint="LoanView.search",
                                   placeholder=_l("Type a loan number or customer name"),
                                   allowed=lambda loan: loans.can_see(loan)),
            "collateral": AjaxModelField(_l("Collateral"), validators=[Optional()], model=Collateral,
                                         endpoint="ArchiveItemView.collaterals",
                                         placeholder=_l("Type a collateral, certificate no. or loan number"),
                                         allowed=lambda c: loans.can_see(c.loan)),
            "pieces": CountField(_l("Pieces")),
            "pages": CountField(_l("Pages")),
            "room": StringField(_l("Archive room"), validators=[InputRequired(message="请填写存放位置（档案室）")]),
            "custody": BooleanField(_l("Held for the owner"),
                                    description=_l("A document kept on behalf of the customer (custody register)")),
            "filed_on": DateField(_l("Filed on"), validators=[Optional()]),
            "handed_by": StringField(_l("Handed in by")),
            "condition": StringField(_l("Condition"), default="完好"),
        }
        self.add_form_extra_fields = fields
        self.edit_form_extra_fields = {k: fields[k] for k in ("doc_type", "level", "pieces", "pages")}
        self.extra_args = {"list_tools": _list_tools("ArchiveItemView", extra=[
            (_l("Print labels"), "ArchiveItemView.labels", "can_print", "ArchiveItemView", True)])}
        super().__init__(**kwargs)
        _use_item_text_filters(self)

    def _item_from_form(self, form):
        return ArchiveItem(doc_type=form.doc_type.data, title=form.title.data, customer=form.customer.data,
                           loan=form.loan.data, collateral=form.collateral.data, pieces=form.pieces.data,
                           pages=form.pages.data, room=form.room.data, cabinet=form.cabinet.data,
                           shelf=form.shelf.data, box=form.box.data, level=form.level.data,
                           custody=bool(form.custody.data), owner_name=form.owner_name.data,
                           certificate_no=form.certificate_no.data, filed_on=form.filed_on.data)

    def check_form(self, form, pk):
        if pk:
            existing = self.datamodel.get(pk, self._base_filters)
            if existing is None:
                raise DomainError("档案不存在或无权访问")
            if existing.status in ("returned", "destroyed"):
                raise DomainError(f"档案当前状态为“{existing.status_label}”，不能修改")
            return
        with db.session.no_autoflush:
            item = self._item_from_form(form)
            try:
                service.check_item(item, g.user)
            finally:
                for obj in (item,):
                    if obj in db.session:
                        db.session.expunge(obj)

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        if request.method == "GET":
            form.filed_on.data = form.filed_on.data or settings.business_date()
            form.pieces.data = form.pieces.data or 1
            loan_id = request.args.get("loan_id", type=int)
            loan = db.session.get(Loan, loan_id) if loan_id else None
            if loan is not None and loans.can_see(loan, g.user):
                form.loan.data = loan
                form.customer.data = loan.customer
            customer_id = request.args.get("customer_id", type=int)
            customer = db.session.get(Customer, customer_id) if customer_id else None
            if customer is not None and can_see_branch(customer.branch_id):
                form.customer.data = customer
        return super()._get_add_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    def pre_add(self, item):
        service.check_in_new(item, g.user, getattr(item, "handed_by", None), getattr(item, "condition", None))

    def pre_update(self, item):
        service.update_item(item, g.user)

    def post_add_redirect(self):
        return redirect(url_for("ArchiveItemView.list"))

    @expose("/checkin/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("check_in")
    def check_in(self, pk):
        item = self._get_item(pk)

        def act():
            service.check_in(item.id, g.user, _parse_date(request.form.get("occurred_on"), "入库日期"),
                             request.form.get("handed_by"), request.form.get("condition"), request.form.get("reason"))
        return _run(act, _("The item was checked in."), url_for("ArchiveItemView.show", pk=pk))

    @expose("/checkout/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("check_out")
    def check_out(self, pk):
        item = self._get_item(pk)

        def act():
            service.check_out(item.id, g.user, request.form.get("purpose"), request.form.get("received_by"),
                              request.form.get("reason"), _parse_date(request.form.get("occurred_on"), "出库日期"))
        return _run(act, _("The item was checked out."), url_for("ArchiveItemView.show", pk=pk))

    @expose("/destroy/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("destroy")
    def destroy(self, pk):
        item = self._get_item(pk)

        def act():
            service.destroy(item.id, g.user, request.form.get("reason"),
                            _parse_date(request.form.get("occurred_on"), "销毁日期"))
        back = request.form.get("next") or url_for("ArchiveItemView.show", pk=pk)
        if not back.startswith("/"):
            back = url_for("ArchiveItemView.show", pk=pk)
        return _run(act, _("The destruction was recorded."), back)

    @expose("/file_company/<int:customer_id>", methods=["POST"])
    @has_access
    @permission_name("file_company")
    def file_company(self, customer_id):
        """企业基础资料归档 from the customer page, in one step."""
        back = url_for("CustomerView.show", pk=customer_id)
        try:
            items = service.file_company_documents(
                customer_id, g.user, request.form.getlist("doc_types"), request.form.get("room"),
                request.form.get("level"), request.form.get("cabinet"), request.form.get("shelf"),
                request.form.get("box"), request.form.get("handed_by"),
                _parse_date(request.form.get("filed_on"), "入库日期"))
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return redirect(back)
        flash(_("%(count)s documents were filed: %(numbers)s", count=len(items),
                numbers="、".join(i.archive_no for i in items)), "success")
        return redirect(back)

    @expose("/labels")
    @has_access
    @permission_name("print")
    def labels(self):
        """Printable labels: the items given (``ids=1,2``) or the list as filtered."""
        raw = request.args.get("ids", "")
        ids = [int(x) for x in raw.split(",") if x.strip().isdigit()]
        items = service.labels_of(ids, g.user) if ids else list(_filtered(self, "archive_no", "asc"))[:200]
        return self.render_template("microloan/archive_labels.html", title=_l("Archive labels"), items=items,
                                    doc_types={i.doc_type: service.doc_type_label(i.doc_type) for i in items},
                                    levels={i.level: service.level_label(i.level) for i in items})

    @expose("/collaterals")
    @has_access
    @permission_name("add")
    def collaterals(self):
        """AJAX picker of collaterals for the check-in form."""
        return jsonify({"results": [
            {"id": c.id, "text": f"{c.name}（{c.certificate_no or '无权证编号'}，{c.loan.loan_no}，权利人 {c.owner_name}）"}
            for c in service.search_collaterals(request.args.get("q", ""), g.user)]})


class ArchiveStockView(_ItemPages, AppModelView):
    """在库重要资料查询: items in stock by location, type, customer or loan (everyone reads)."""

    datamodel = AppInterface(ArchiveItem)
    list_title = _l("Archive items in stock")
    show_title = _l("Archive item")
    sheet_title = "在库重要资料"
    base_permissions = ["can_list", "can_show", "can_export"]
    label_columns = ITEM_LABELS
    list_columns = ["archive_no", "doc_type", "title", "customer", "loan", "room", "cabinet", "shelf", "box", "level",
                    "filed_on"]
    search_columns = ["archive_no", "doc_type", "title", "room", "cabinet", "shelf", "box", "level", "customer_id",
                      "loan_id", "certificate_no", "custody", "filed_on"]
    order_columns = ["archive_no", "filed_on", "room"]
    base_order = ("archive_no", "desc")
    list_template = "microloan/list.html"
    formatters_columns = {"doc_type": _doc_type, "level": _level}

    def __init__(self, **kwargs):
        self.base_filters = scope_filters() + [["status", FilterEqual, "in_stock"]]
        self.extra_args = {"list_tools": _list_tools("ArchiveStockView", print_=False, extra=[
            (_l("Request to borrow"), "ArchiveBorrowRequestView.add", "can_add", "ArchiveBorrowRequestView", False)])}
        super().__init__(**kwargs)
        _use_item_text_filters(self)

    @expose("/search")
    @has_access
    @permission_name("list")
    def search(self):
        """AJAX picker of items in stock (``certificates=1``: collateral certificates only)."""
        rows = service.search_items(request.args.get("q", ""), g.user,
                                    certificates=request.args.get("certificates") == "1")
        return jsonify({"results": [{"id": i.id, "text": f"{i.archive_no} {i.title}（{i.location}）"} for i in rows]})


class ArchiveCustodyView(_ItemPages, AppModelView):
    """重要单证代管备案登记薄: documents held on behalf of customers."""

    datamodel = AppInterface(ArchiveItem)
    list_title = _l("Custody register")
    show_title = _l("Archive item")
    sheet_title = "重要单证代管备案登记薄"
    base_permissions = ["can_list", "can_show", "can_export", "can_print"]
    label_columns = ITEM_LABELS
    list_columns = ["archive_no", "doc_type", "title", "owner_name", "certificate_no", "customer", "location",
                    "status_label", "filed_on"]
    search_columns = ["archive_no", "doc_type", "title", "owner_name", "certificate_no", "status", "customer_id",
                      "filed_on"]
    order_columns = ["archive_no", "filed_on"]
    base_order = ("filed_on", "desc")
    list_template = "microloan/list.html"
    formatters_columns = {"doc_type": _doc_type}

    def __init__(self, **kwargs):
        self.base_filters = scope_filters() + [["custody", FilterEqual, True]]
        self.extra_args = {"list_tools": _list_tools("ArchiveCustodyView")}
        super().__init__(**kwargs)
        _use_item_text_filters(self)


# -- 登记薄 ------------------------------------------------------------------------------------------
class ArchiveMovementView(AppModelView):
    """入库 / 出库 / 移交 / 代管备案 / 销毁 registers: append-only, read and print only."""

    datamodel = AppInterface(ArchiveMovement)
    list_title = _l("Archive registers")
    show_title = _l("Register entry")
    base_permissions = ["can_list", "can_show", "can_export", "can_print"]
    base_filters = scope_filters()
    label_columns = MOVEMENT_LABELS
    list_columns = ["occurred_on", "kind_label", "archive_no", "item_title", "purpose_label", "to_status_label",
                    "handed_by", "received_by", "condition", "reason", "operator"]
    show_columns = ["occurred_on", "kind_label", "archive_no", "item_title", "purpose_label", "from_status_label",
                    "to_status_label", "handed_by", "received_by", "condition", "reason", "location", "operator",
                    "branch", "created_at"]
    search_columns = ["kind", "occurred_on", "purpose", "item_id", "handed_by", "received_by", "reason"]
    order_columns = ["occurred_on"]
    base_order = ("id", "desc")
    list_template = "microloan/list.html"

    def __init__(self, **kwargs):
        self.extra_args = {"list_tools": _list_tools("ArchiveMovementView")}
        super().__init__(**kwargs)
        _replace_filters(self, "item_id", [MovementItemFilter("item_id", self.datamodel)])

    @expose("/export")
    @has_access
    @permission_name("export")
    def export(self):
        rows = _filtered(self, "occurred_on", "asc")
        return xlsx_download(service.movements_workbook(rows), f"档案登记薄_{_today_tag()}.xlsx")

    @expose("/print")
    @has_access
    @permission_name("print")
    def print_register(self):
        rows = list(_filtered(self, "occurred_on", "asc"))[:PRINT_LIMIT]
        kind = request.args.get("_flt_0_kind")
        title = f"{MOVEMENT_KINDS.get(kind, '档案')}登记薄" if kind else "档案登记薄"
        headers = [_("Date"), _("Register"), _("Archive no."), _("Archive title"), _("Check-out purpose"),
                   _("Status after"), _("Handed over by"), _("Received by"), _("Condition"), _("Reason"),
                   _("Handled by")]
        body = [[m.occurred_on, m.kind_label, m.archive_no, m.item_title, m.purpose_label, m.to_status_label,
                 m.handed_by or "", m.received_by or "", m.condition or "", m.reason or "", str(m.operator or "")]
                for m in rows]
        return self.render_template("microloan/archive_print.html", title=title, headers=headers, rows=body,
                                    back=url_for("ArchiveMovementView.list"), signatures=True)


# -- 移交 ----------------------------------------------------------------------------------------------
class ArchiveTransferView(AppModelView):
    """移交登记: the sender records it, the receiver confirms it (archivist)."""

    datamodel = AppInterface(ArchiveTransfer)
    list_title = _l("Archive transfers")
    show_title = add_title = _l("Archive transfer")
    base_permissions = ["can_list", "can_show", "can_add", "can_confirm", "can_cancel", "can_export", "can_print"]
    base_filters = scope_filters()
    label_columns = TRANSFER_LABELS
    list_columns = ["transfer_no", "item", "sent_on", "from_user", "receiver_label", "to_location", "status_label",
                    "confirmed_on", "receiver_name"]
    search_columns = ["transfer_no", "status", "sent_on", "reason"]
    order_columns = ["transfer_no", "sent_on"]
    base_order = ("id", "desc")
    list_template = "microloan/list.html"

    def __init__(self, **kwargs):
        self.extra_args = {"list_tools": _list_tools("ArchiveTransferView")}
        super().__init__(**kwargs)

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        values = request.form if request.method == "POST" else request.args
        item = None
        item_id = values.get("item", type=int) or values.get("item_id", type=int)
        if item_id:
            item = db.session.get(ArchiveItem, item_id)
            if item is not None and not can_see_branch(item.branch_id):
                item = None
        if request.method == "POST":
            try:
                if item is None:
                    raise DomainError("请选择要移交的档案")
                transfer = service.send_transfer(
                    item.id, g.user, values.get("reason"), values.get("to_user", type=int), values.get("to_party"),
                    values.get("to_branch", type=int), values.get("to_room"), values.get("to_cabinet"),
                    values.get("to_shelf"), values.get("to_box"), _parse_date(values.get("sent_on"), "移交日期"))
                flash(_("Transfer %(no)s was recorded; it waits for the receiver's confirmation.",
                        no=transfer.transfer_no), "success")
                return redirect(url_for("ArchiveTransferView.show", pk=transfer.id))
            except DomainError as exc:
                db.session.rollback()
                flash(exc.message, "danger")
        return self.render_template("microloan/archive_transfer_form.html", title=_l("Archive transfer"), item=item,
                                    values=values, users=_user_choices(), branches=_branch_choices(),
                                    today=settings.business_date())

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        transfer = self.datamodel.get(pk, self._base_filters)
        if transfer is None:
            abort(404)
        sm = self.appbuilder.sm
        return self.render_template(
            "microloan/archive_transfer_show.html", title=_l("Archive transfer"), transfer=transfer,
            labels=TRANSFER_LABELS, can_confirm=sm.has_access("can_confirm", "ArchiveTransferView")
            and service.can_confirm(transfer, g.user),
            can_cancel=sm.has_access("can_cancel", "ArchiveTransferView") and transfer.status == "pending",
            today=settings.business_date())

    @expose("/confirm/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("confirm")
    def confirm(self, pk):
        transfer = self.datamodel.get(pk, self._base_filters)
        if transfer is None:
            abort(404)
        return _run(lambda: service.confirm_transfer(transfer.id, g.user, request.form.get("receiver_name"),
                                                     _parse_date(request.form.get("occurred_on"), "接收日期")),
                    _("The transfer was confirmed."), url_for("ArchiveTransferView.show", pk=pk))

    @expose("/cancel/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("cancel")
    def cancel(self, pk):
        transfer = self.datamodel.get(pk, self._base_filters)
        if transfer is None:
            abort(404)
        return _run(lambda: service.cancel_transfer(transfer.id, g.user), _("The transfer was cancelled."),
                    url_for("ArchiveTransferView.show", pk=pk))

    @expose("/export")
    @has_access
    @permission_name("export")
    def export(self):
        return xlsx_download(service.transfers_workbook(_filtered(self, "sent_on", "asc")),
                             f"档案移交登记_{_today_tag()}.xlsx")

    @expose("/print")
    @has_access
    @permission_name("print")
    def print_register(self):
        rows = list(_filtered(self, "sent_on", "asc"))[:PRINT_LIMIT]
        headers = [_("Transfer no."), _("Archive no."), _("Archive title"), _("Transfer date"), _("Handed over by"),
                   _("Receiver"), _("New location"), _("Reason"), _("Status"), _("Confirmed on"), _("Signed by")]
        body = [[t.transfer_no, t.item.archive_no, t.item.title, t.sent_on, str(t.from_user or ""), t.receiver_label,
                 t.to_location, t.reason, t.status_label, t.confirmed_on or "", t.receiver_name or ""] for t in rows]
        return self.render_template("microloan/archive_print.html", title="档案移交登记薄", headers=headers, rows=body,
                                    back=url_for("ArchiveTransferView.list"), signatures=True)


# -- 借阅 ----------------------------------------------------------------------------------------------
class ArchiveBorrowRequestView(AppModelView):
    """档案借阅: officers request (can_add), the archivist lends (can_lend) and records returns
    (can_receive)."""

    datamodel = AppInterface(ArchiveBorrowing)
    list_title = _l("Archive borrowing")
    show_title = add_title = _l("Archive borrowing request")
    base_permissions = ["can_list", "can_show", "can_add", "can_cancel", "can_export", "can_print", "can_lend",
                        "can_receive"]
    label_columns = BORROWING_LABELS
    list_columns = ["borrowing_no", "borrower", "items_label", "purpose", "expected_return_on", "status_label",
                    "lent_on", "closed_on"]
    search_columns = ["borrowing_no", "borrower", "status", "expected_return_on", "lent_on", "purpose"]
    order_columns = ["borrowing_no", "expected_return_on", "lent_on"]
    base_order = ("id", "desc")
    list_template = "microloan/list.html"

    def __init__(self, **kwargs):
        self.base_filters = [["id", BorrowingScopeFilter, None]]
        self.extra_args = {"list_tools": _list_tools("ArchiveBorrowRequestView", print_=False)}
        super().__init__(**kwargs)

    def _get(self, pk):
        row = self.datamodel.get(pk, self._base_filters)
        if row is None:
            abort(404)
        return row

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        values = request.form if request.method == "POST" else request.args
        ids = [int(x) for x in values.getlist("items") + values.getlist("item_id") if str(x).isdigit()]
        chosen = [i for i in (db.session.get(ArchiveItem, x) for x in ids) if i is not None and can_see_branch(i.branch_id)]
        if request.method == "POST":
            try:
                due = _parse_date(values.get("expected_return_on"), "预计归还日期", required=True)
                borrowing = requests_service.request_borrowing(g.user, [i.id for i in chosen], values.get("purpose"),
                                                               due, values.get("opinion") or None)
                flash(_("Borrowing request %(no)s was submitted for approval.", no=borrowing.borrowing_no), "success")
                return redirect(url_for("ArchiveBorrowRequestView.show", pk=borrowing.id))
            except DomainError as exc:
                db.session.rollback()
                flash(exc.message, "danger")
        return self.render_template("microloan/archive_borrowing_form.html", title=_l("Archive borrowing request"),
                                    chosen=chosen, values=values,
                                    default_due=requests_service.default_return_date())

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        borrowing = self._get(pk)
        sm = self.appbuilder.sm
        name = "ArchiveBorrowRequestView"
        today = settings.business_date()
        return self.render_template(
            "microloan/archive_borrowing_show.html", title=_l("Archive borrowing request"), borrowing=borrowing,
            labels=BORROWING_LABELS, approval=workflow_service.panel("archive_borrowing", borrowing.id, g.user),
            can_lend=sm.has_access("can_lend", name) and borrowing.status == "approved",
            can_receive=sm.has_access("can_receive", name) and borrowing.status == "lent",
            can_cancel=sm.has_access("can_cancel", name) and borrowing.status in ("returned", "approved")
            and borrowing.borrower_id == g.user.id,
            overdue=borrowing.status == "lent" and borrowing.expected_return_on < today,
            days=(today - borrowing.expected_return_on).days, today=today)

    @expose("/lend/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("lend")
    def lend(self, pk):
        borrowing = self._get(pk)
        return _run(lambda: requests_service.lend(borrowing.id, g.user,
                                                  _parse_date(request.form.get("occurred_on"), "出借日期")),
                    _("The items were lent."), url_for("ArchiveBorrowRequestView.show", pk=pk))

    @expose("/receive/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("receive")
    def receive(self, pk):
        borrowing = self._get(pk)
        return _run(lambda: requests_service.receive_return(
            borrowing.id, g.user, _parse_date(request.form.get("occurred_on"), "归还日期"),
            request.form.getlist("items"), request.form.get("condition")),
            _("The return was recorded."), url_for("ArchiveBorrowRequestView.show", pk=pk))

    @expose("/cancel/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("cancel")
    def cancel(self, pk):
        borrowing = self._get(pk)
        return _run(lambda: requests_service.cancel_borrowing(borrowing.id, g.user),
                    _("The borrowing request was cancelled."), url_for("ArchiveBorrowRequestView.show", pk=pk))

    @expose("/export")
    @has_access
    @permission_name("export")
    def export(self):
        return xlsx_download(requests_service.borrowings_workbook(_filtered(self, "id", "asc")),
                             f"档案借阅登记_{_today_tag()}.xlsx")

    @expose("/print/<int:pk>")
    @has_access
    @permission_name("print")
    def print_form(self, pk):
        """业务档案借阅审批表."""
        b = self._get(pk)
        fields = [(_("Borrowing no."), b.borrowing_no), (_("Borrower"), str(b.borrower or "")),
                  (_("Branch"), str(b.branch or "")), (_("Purpose of borrowing"), b.purpose),
                  (_("Expected return date"), b.expected_return_on), (_("Status"), b.status_label),
                  (_("Lent on"), b.lent_on or ""), (_("Returned on"), b.closed_on or "")]
        items = [[line.item.archive_no, line.item.title, line.item.location, line.lent_on or "", line.returned_on or ""]
                 for line in b.lines]
        return self.render_template(
            "microloan/archive_form_print.html", title="业务档案借阅审批表", fields=fields,
            item_headers=[_("Archive no."), _("Archive title"), _("Location"), _("Lent on"), _("Returned on")],
            items=items, records=requests_service.approval_records("archive_borrowing", b.id),
            back=url_for("ArchiveBorrowRequestView.show", pk=pk))


class ArchiveLentView(BaseView):
    """借出及逾期: lent items not yet back; ``?overdue=1`` only those past their return date."""

    route_base = "/archivelent"
    default_view = "index"

    def _rows(self):
        return requests_service.lent_items(settings.business_date(), g.user, request.args.get("overdue") == "1")

    @expose("/")
    @has_access
    @permission_name("list")
    def index(self):
        return self.render_template("microloan/archive_lent.html", title=_l("Lent and overdue archive items"),
                                    rows=self._rows(), overdue=request.args.get("overdue") == "1",
                                    today=settings.business_date())

    @expose("/export")
    @has_access
    @permission_name("export")
    def export(self):
        overdue = request.args.get("overdue") == "1"
        title = "逾期未还档案" if overdue else "借出档案查询"
        return xlsx_download(requests_service.lent_workbook(self._rows(), title), f"{title}_{_today_tag()}.xlsx")


# -- 抵质押物提取 ------------------------------------------------------------------------------------
class ArchiveWithdrawalRequestView(AppModelView):
    """抵质押物提取审批表 / 中止审批: request, submit, suspend (can_suspend); the archivist hands the
    certificate over (can_execute)."""

    datamodel = AppInterface(CollateralWithdrawal)
    list_title = _l("Collateral withdrawals")
    show_title = add_title = _l("Collateral withdrawal")
    base_permissions = ["can_list", "can_show", "can_add", "can_submit", "can_suspend", "can_cancel", "can_export",
                        "can_print", "can_execute"]
    base_filters = scope_filters()
    label_columns = WITHDRAWAL_LABELS
    list_columns = ["withdrawal_no", "item", "loan", "purpose_label", "receiver_name", "status_label", "applicant",
                    "executed_on"]
    search_columns = ["withdrawal_no", "status", "purpose", "receiver_name", "proposed_at_settlement", "executed_on"]
    order_columns = ["withdrawal_no", "executed_on"]
    base_order = ("id", "desc")
    list_template = "microloan/list.html"

    def __init__(self, **kwargs):
        self.extra_args = {"list_tools": _list_tools("ArchiveWithdrawalRequestView", print_=False)}
        super().__init__(**kwargs)

    def _get(self, pk):
        row = self.datamodel.get(pk, self._base_filters)
        if row is None:
            abort(404)
        return row

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        values = request.form if request.method == "POST" else request.args
        item_id = values.get("item", type=int) or values.get("item_id", type=int)
        item = db.session.get(ArchiveItem, item_id) if item_id else None
        if item is not None and not can_see_branch(item.branch_id):
            item = None
        if request.method == "POST":
            try:
                withdrawal = requests_service.request_withdrawal(
                    g.user, item.id if item else None, values.get("purpose"), values.get("receiver_name"),
                    values.get("reason"), _parse_date(values.get("expected_return_on"), "预计回库日期"))
                flash(_("Withdrawal %(no)s was submitted for approval.", no=withdrawal.withdrawal_no), "success")
                return redirect(url_for("ArchiveWithdrawalRequestView.show", pk=withdrawal.id))
            except DomainError as exc:
                db.session.rollback()
                flash(exc.message, "danger")
        return self.render_template("microloan/archive_withdrawal_form.html", title=_l("Collateral withdrawal"),
                                    item=item, values=values, purposes=WITHDRAWAL_PURPOSES)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        w = self._get(pk)
        sm = self.appbuilder.sm
        name = "ArchiveWithdrawalRequestView"
        return self.render_template(
            "microloan/archive_withdrawal_show.html", title=_l("Collateral withdrawal"), w=w, labels=WITHDRAWAL_LABELS,
            approval=workflow_service.panel("collateral_withdrawal", w.id, g.user),
            can_submit=sm.has_access("can_submit", name) and w.status in ("draft", "returned", "suspended"),
            can_suspend=sm.has_access("can_suspend", name) and w.status in ("draft", "in_approval", "returned", "approved"),
            can_cancel=sm.has_access("can_cancel", name) and w.status in ("draft", "returned", "suspended"),
            can_execute=sm.has_access("can_execute", name) and w.status == "approved", today=settings.business_date())

    @expose("/submit/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("submit")
    def submit(self, pk):
        w = self._get(pk)
        return _run(lambda: requests_service.submit_withdrawal(w.id, g.user, request.form.get("opinion") or None),
                    _("The withdrawal was submitted for approval."), url_for("ArchiveWithdrawalRequestView.show", pk=pk))

    @expose("/suspend/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("suspend")
    def suspend(self, pk):
        w = self._get(pk)
        return _run(lambda: requests_service.suspend_withdrawal(w.id, g.user, request.form.get("reason")),
                    _("The withdrawal was suspended."), url_for("ArchiveWithdrawalRequestView.show", pk=pk))

    @expose("/cancel/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("cancel")
    def cancel(self, pk):
        w = self._get(pk)
        return _run(lambda: requests_service.cancel_withdrawal(w.id, g.user), _("The withdrawal was cancelled."),
                    url_for("ArchiveWithdrawalRequestView.show", pk=pk))

    @expose("/execute/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("execute")
    def execute(self, pk):
        w = self._get(pk)
        return _run(lambda: requests_service.execute_withdrawal(
            w.id, g.user, _parse_date(request.form.get("occurred_on"), "提取日期"), request.form.get("condition")),
            _("The certificate was handed over."), url_for("ArchiveWithdrawalRequestView.show", pk=pk))

    @expose("/export")
    @has_access
    @permission_name("export")
    def export(self):
        return xlsx_download(requests_service.withdrawals_workbook(_filtered(self, "id", "asc")),
                             f"抵质押物提取登记_{_today_tag()}.xlsx")

    @expose("/print/<int:pk>")
    @has_access
    @permission_name("print")
    def print_form(self, pk):
        """抵质押物提取审批表 (with the 中止 reason when suspended)."""
        w = self._get(pk)
        fields = [(_("Withdrawal no."), w.withdrawal_no), (_("Certificate"), f"{w.item.archive_no} {w.item.title}"),
                  (_("Certificate no."), w.item.certificate_no or ""), (_("Owner"), w.item.owner_name or ""),
                  (_("Loan"), w.loan.loan_no if w.loan else ""), (_("Withdrawal purpose"), w.purpose_label),
                  (_("Collected by"), w.receiver_name), (_("Reason"), w.reason),
                  (_("Expected back on"), w.expected_return_on or ""), (_("Status"), w.status_label),
                  (_("Reason for suspension"), w.suspend_reason or ""), (_("Handed over on"), w.executed_on or "")]
        return self.render_template(
            "microloan/archive_form_print.html", title="抵质押物提取审批表", fields=fields, item_headers=[], items=[],
            records=requests_service.approval_records("collateral_withdrawal", w.id),
            back=url_for("ArchiveWithdrawalRequestView.show", pk=pk))


# -- 到期销毁 ------------------------------------------------------------------------------------------
class ArchiveDestructionView(BaseView):
    """Items due for destruction (retention period over), with the destroy action."""

    route_base = "/archivedestruction"
    default_view = "index"

    @expose("/")
    @has_access
    @permission_name("list")
    def index(self):
        today = settings.business_date()
        return self.render_template(
            "microloan/archive_destruction.html", title=_l("Archive items due for destruction"),
            items=service.due_for_destruction(today, g.user), today=today,
            doc_types=lambda code: service.doc_type_label(code), levels=lambda code: service.level_label(code),
            can_destroy=self.appbuilder.sm.has_access("can_destroy", "ArchiveItemView"))

    @expose("/export")
    @has_access
    @permission_name("export")
    def export(self):
        items = service.due_for_destruction(settings.business_date(), g.user, limit=100000)
        return xlsx_download(service.items_workbook(items, "到期待销毁档案"), f"到期待销毁档案_{_today_tag()}.xlsx")


# -- customer page and home page ---------------------------------------------------------------------
def customer_section(customer):
    """档案 of a customer on the customer page, with the one-step company filing form."""
    sm = current_app.appbuilder.sm
    can_read = sm.has_access("can_list", "ArchiveItemView") or sm.has_access("can_list", "ArchiveStockView")
    if not can_read:
        return None
    can_file = sm.has_access("can_file_company", "ArchiveItemView") and customer.kind in service.COMPANY_KINDS
    items = service.customer_items(customer.id)
    if not items and not can_file:
        return None
    if not sm.has_access("can_list", "ArchiveItemView"):
        items = [i for i in items if i.status == "in_stock"]
    return {"template": "microloan/archive_customer_section.html", "items": items, "can_file": can_file,
            "doc_types": service.company_doc_types(), "levels": service._dict_rows(service.LEVELS),
            "today": settings.business_date(), "show_endpoint": "ArchiveItemView.show"
            if sm.has_access("can_show", "ArchiveItemView") else "ArchiveStockView.show"}


def home_section(user):
    """The user's overdue borrowings (borrower), and for the archivist every overdue one."""
    if not getattr(user, "is_authenticated", False):
        return None
    sm = current_app.appbuilder.sm
    if not sm.has_access("can_list", "ArchiveLentView"):
        return None
    rows = requests_service.overdue_borrowings(settings.business_date(), user)
    if not sm.has_access("can_lend", "ArchiveBorrowRequestView"):
        rows = [r for r in rows if r["borrower_id"] == user.id]
    if not rows:
        return None
    return {"id": "archive-overdue", "title": _("Overdue archive borrowings"),
            "headers": [_("Borrowing no."), _("Archive no."), _("Archive title"), _("Expected return date"),
                        _("Overdue days")],
            "rows": [[Markup('<a href="{}">{}</a>').format(url_for("ArchiveBorrowRequestView.show", pk=r["borrowing_id"]),
                                                           r["borrowing_no"]), r["archive_no"], r["title"],
                      r["due_date"], r["days"]] for r in rows[:20]],
            "count": len(rows), "link": url_for("ArchiveLentView.index", overdue=1)}


def register_views(appbuilder):
    """Add this module's views and menu entries."""
    add = appbuilder.add_view
    add(ArchiveItemView, "Archive items", label=_l("Archive items"), icon="fa-archive", category="Archive")
    add(ArchiveStockView, "Archive items in stock", label=_l("Archive items in stock"), icon="fa-search",
        category="Archive")
    add(ArchiveBorrowRequestView, "Archive borrowing", label=_l("Archive borrowing"), icon="fa-book", category="Archive")
    add(ArchiveLentView, "Lent and overdue archive items", label=_l("Lent and overdue archive items"),
        icon="fa-clock-o", category="Archive")
    add(ArchiveWithdrawalRequestView, "Collateral withdrawals", label=_l("Collateral withdrawals"), icon="fa-key",
        category="Archive")
    add(ArchiveMovementView, "Archive registers", label=_l("Archive registers"), icon="fa-list-alt", category="Archive")
    add(ArchiveTransferView, "Archive transfers", label=_l("Archive transfers"), icon="fa-exchange", category="Archive")
    add(ArchiveCustodyView, "Custody register", label=_l("Custody register"), icon="fa-lock", category="Archive")
    add(ArchiveDestructionView, "Archive items due for destruction", label=_l("Archive items due for destruction"),
        icon="fa-trash", category="Archive")
    if home_section not in home.SECTION_PROVIDERS:
        home.register_section(home_section)
    try:
        from app.views.customers import PROFILE_SECTIONS
    except ImportError:  # the customer view has no section registry
        return
    if customer_section not in PROFILE_SECTIONS:
        PROFILE_SECTIONS.append(customer_section)

