"""收款 screens: 收款登记 (post a receipt against a loan), the printable 收款单, 结清 (payoff
quote and settlement), the receipts list with Excel export, the 还款提醒 lists on the home
page, and the registration of these views and of the servicing REST API.

Every amount is posted by ``app.services.repayments``; these views only read the form,
call the service and show the result. View names start with "Repayment" so the role rules
in app/security.py reach them (Finance: all; Manager and RiskReviewer: read). Reading a
loan's repayment page or its payoff quote is a read permission (``can_show``); posting
needs ``can_post`` and settling ``can_settle``.

Each form carries a hidden idempotency key generated when the form is rendered: submitting
the same form twice (a double click, a reload) posts once.
"""
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_appbuilder.urltools import get_filter_args
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import or_, select

from app.domain.errors import DomainError
from app.domain.words import amount_in_words
from app.extensions import db
from app.models import Customer, Loan
from app.models.servicing import REPAYMENT_KINDS, Repayment
from app.services import contracts, excel, fees, home, loans, receipt_reversal, repayments, settings
from app.views.base import AppInterface, AppModelView, like_term, xlsx_download
from app.views.servicing_common import (can, clean_amount, date_arg, earlier_receipt, form_values, is_replay, money,
                                        posted_date, posted_fund_account, receipt_defaults, receiving_accounts,
                                        visible_loan)

SETTLEMENT_DOC = "settlement_certificate"


def settlement_documents(loan):
    return [d for d in contracts.documents_of(loan) if d.doc_type == SETTLEMENT_DOC]


class RepaymentView(BaseView):
    """收款登记, 收款单 and 结清 for one loan."""

    route_base = "/repayment"
    default_view = "index"

    # -- shared by 收款登记 and 结清 ---------------------------------------------------------
    def _show_as_of(self, loan_id, render):
        """The page of the loan on ``?date=`` (the business date when blank or invalid: then
        with a warning), the form filled with its defaults."""
        loan = visible_loan(loan_id)
        as_of, error = date_arg(request.args.get("date"), settings.business_date())
        if error:
            flash(error, "warning")
        return render(loan, as_of, values=None, error=None)

    def _refused(self, loan_id, exc, date_field, render):
        """A post the service refused: nothing is kept, and the page shows again on the posted
        date with the user's input and the message under its field."""
        db.session.rollback()
        as_of, _error = date_arg(request.form.get(date_field), settings.business_date())
        return render(visible_loan(loan_id), as_of, values=request.form, error=exc)

    # -- 收款登记 entry: what is due, and a loan search ------------------------------------
    @expose("/")
    @has_access
    @permission_name("show")
    def index(self):
        """The menu's entry: today's due, overdue and upcoming installments in scope, and a
        search by loan number or customer name."""
        term = (request.args.get("q") or "").strip()
        found = [loan for loan in loans.search(term) if loan.status == "active"] if term else []
        lists = home.due_lists(g.user)
        return self.render_template("microloan/repayment_index.html", title=_l("Repayment desk"), term=term,
                                    found=found, lists=lists, money=money, kind_titles=due_titles(lists))

    # -- 收款登记 -----------------------------------------------------------------------
    @expose("/loan/<int:loan_id>", methods=["GET"])
    @has_access
    @permission_name("show")
    def loan(self, loan_id):
        return self._show_as_of(loan_id, self._render_loan)

    @expose("/loan/<int:loan_id>", methods=["POST"])
    @has_access
    @permission_name("post")
    def post_repayment(self, loan_id):
        loan = visible_loan(loan_id)
        form = request.form
        key, earlier = earlier_receipt(form)
        try:
            receipt = repayments.post_repayment(
                loan.id, clean_amount(form.get("amount")), posted_date(form.get("received_on")),
                posted_fund_account(form), g.user, key, payer=form.get("payer"), remarks=form.get("remarks"))
        except DomainError as exc:
            return self._refused(loan_id, exc, "received_on", self._render_loan)
        if is_replay(earlier, receipt):
            flash(f"该笔收款已登记（重复提交，未再次入账）：收款单 {receipt.receipt_no}", "info")
        else:
            flash(f"已登记收款 {receipt.amount:,.2f} 元，收款单 {receipt.receipt_no}", "success")
            if receipt.loan.status == "settled":
                flash(f"项目 {receipt.loan.loan_no} 已全部还清，已结清", "success")
        return redirect(url_for("RepaymentView.receipt", receipt_id=receipt.id))

    def _render_loan(self, loan, as_of, values, error):
        status = repayments.schedule_status(loan, as_of)
        summary = repayments.summary(loan, as_of)
        accounts = receiving_accounts()
        active = loan.status in repayments.PAYABLE_STATUSES
        if values is None:
            suggested = summary.due_now if summary.due_now > 0 else summary.next_due_amount
            values = {**receipt_defaults(loan, accounts, as_of), "amount": f"{suggested:.2f}" if suggested else ""}
        else:
            values = form_values(values, ("received_on", "amount", "fund_account", "payer", "remarks",
                                          "idempotency_key"))
        return self.render_template(
            "microloan/repayment_loan.html", title=_l("Record a repayment"), loan=loan, as_of=as_of,
            status=status, summary=summary, accounts=accounts, values=values, error=error, active=active,
            can_post=can("can_post", "RepaymentView") and active,
            can_settle=can("can_settle", "RepaymentView") and active,
            fees_due=[fees.FeeRow(f) for f in repayments.fees_outstanding(loan)],
            can_collect_fees=can("can_collect", "FeeCollectView"),
            receipts=repayments.receipts_of(loan.id), money=money)

    # -- 收款单 --------------------------------------------------------------------------
    @expose("/receipt/<int:receipt_id>")
    @has_access
    @permission_name("show")
    def receipt(self, receipt_id):
        receipt = db.session.get(Repayment, receipt_id)
        if receipt is None or not loans.can_see(receipt.loan, g.user):
            abort(404)
        totals = {}
        for line in receipt.lines:
            totals[line.component_label] = totals.get(line.component_label, 0) + line.amount
        return self.render_template(
            "microloan/repayment_receipt.html", title=_l("Receipt"), receipt=receipt, loan=receipt.loan,
            words=amount_in_words(receipt.amount), totals=totals, money=money,
            voucher=repayments.voucher_of(receipt), can_see_voucher=can("can_show", "VoucherView"),
            documents=settlement_documents(receipt.loan) if receipt.kind == "settlement" else [],
            can_download=can("can_download", "AttachmentView"), reversed=receipt_reversal.is_reversed(receipt),
            can_reverse=receipt.kind in receipt_reversal.REVERSIBLE_KINDS
            and can("can_apply_receipt_reversal", "ServicingAdjustView"))

    # -- 结清 ----------------------------------------------------------------------------
    @expose("/settle/<int:loan_id>", methods=["GET"])
    @has_access
    @permission_name("show")
    def settlement(self, loan_id):
        return self._show_as_of(loan_id, self._render_settle)

    @expose("/settle/<int:loan_id>", methods=["POST"])
    @has_access
    @permission_name("settle")
    def settle(self, loan_id):
        loan = visible_loan(loan_id)
        form = request.form
        key, earlier = earlier_receipt(form)
        try:
            receipt = repayments.settle(loan.id, posted_date(form.get("settled_on")), posted_fund_account(form),
                                        g.user, key,
                                        offset_deposit=form.get("offset_deposit") in ("1", "y", "on", "true"),
                                        payer=form.get("payer"), remarks=form.get("remarks"))
        except DomainError as exc:
            return self._refused(loan_id, exc, "settled_on", self._render_settle)
        if is_replay(earlier, receipt):
            flash(f"该项目已结清（重复提交，未再次入账）：收款单 {receipt.receipt_no}", "info")
        else:
            flash(f"项目 {receipt.loan.loan_no} 已结清，收款 {receipt.amount:,.2f} 元，收款单 {receipt.receipt_no}",
                  "success")
        return redirect(url_for("RepaymentView.receipt", receipt_id=receipt.id))

    def _render_settle(self, loan, as_of, values, error):
        active = loan.status in repayments.PAYABLE_STATUSES
        quote = repayments.quote(loan, as_of) if active else None
        accounts = receiving_accounts()
        if values is None:
            values = {**receipt_defaults(loan, accounts, as_of, date_field="settled_on"), "offset_deposit": ""}
        else:
            values = form_values(values, ("settled_on", "fund_account", "payer", "remarks", "offset_deposit",
                                          "idempotency_key"))
        return self.render_template(
            "microloan/settlement_loan.html", title=_l("Settlement"), loan=loan, as_of=as_of, quote=quote,
            accounts=accounts, values=values, error=error, active=active, money=money,
            can_settle=can("can_settle", "RepaymentView") and active,
            documents=settlement_documents(loan), can_download=can("can_download", "AttachmentView"))


# -- 收款单查询 ------------------------------------------------------------------------
class LoanTextFilter(BaseFilter):
    """Receipts whose loan number or customer name contains the text typed."""

    name = "包含"
    arg_name = "lnm"

    def apply(self, query, value):
        term = like_term(value)
        return query.filter(Repayment.loan_id.in_(
            select(Loan.id).join(Customer, Customer.id == Loan.customer_id)
            .where(or_(Loan.loan_no.like(term), Customer.name.like(term)))))


class KindFilter(BaseFilter):
    """收款类型: the code or its Chinese label."""

    name = "等于"
    arg_name = "knd"

    def apply(self, query, value):
        if isinstance(value, (list, tuple)):
            value = value[0] if value else ""
        value = (value or "").strip()
        codes = [code for code, label in REPAYMENT_KINDS.items() if value in (code, label)] or [value]
        return query.filter(Repayment.kind.in_(codes))


def _date(value):
    return value.isoformat() if value else ""


class RepaymentListView(AppModelView):
    """收款单查询: every receipt of the loans in scope; read-only, with Excel export."""

    datamodel = AppInterface(Repayment)
    list_title = _l("Receipt list")
    show_title = _l("Receipt")
    base_permissions = ["can_list", "can_show", "can_export"]
    base_filters = [["loan_id", loans.LoanScopeFilter, None]]
    label_columns = {
        "receipt_no": _l("Receipt number"), "loan": _l("Loan"), "loan_id": _l("Loan"), "kind": _l("Receipt type"),
        "kind_label": _l("Receipt type"), "amount": _l("Amount (yuan)"), "received_on": _l("Receipt date"),
        "fund_account": _l("Fund account"), "payer": _l("Payer"), "voucher": _l("Voucher number"),
        "remarks": _l("Remarks"), "created_by": _l("Created by"), "created_at": _l("Created at"),
    }
    list_columns = ["receipt_no", "received_on", "loan", "kind_label", "amount", "fund_account", "payer", "voucher",
                    "created_by"]
    search_columns = ["receipt_no", "loan_id", "received_on", "kind", "payer"]
    order_columns = ["receipt_no", "received_on", "amount"]
    base_order = ("id", "desc")
    list_template = "microloan/list.html"
    formatters_columns = {"amount": money, "created_at": lambda v: v.strftime("%Y-%m-%d %H:%M") if v else ""}

    def __init__(self, **kwargs):
        self.extra_args = {"list_tools": [
            (_l("Export to Excel"), "RepaymentListView.export", "can_export", "RepaymentListView", True)]}
        super().__init__(**kwargs)
        # The loan is searched by number or customer name (a drop-down would load every loan).
        for column, flt in (("loan_id", LoanTextFilter), ("kind", KindFilter)):
            custom = [flt(column, self.datamodel)]
            self._filters.get_search_filters()[column] = custom
            self._filters._all_filters[column] = custom

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        """A receipt is shown as the printable 收款单."""
        return redirect(url_for("RepaymentView.receipt", receipt_id=int(pk)))

    @expose("/export")
    @has_access
    @permission_name("export")
    def export(self):
        """The receipts as filtered on screen, one row per receipt, as .xlsx."""
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        joined = self._filters.get_joined_filters(self._base_filters)
        _count, rows = self.datamodel.query(joined, "received_on", "asc")
        columns = [
            excel.Column("收款单号", width=18), excel.Column("收款日期", kind="date", width=12),
            excel.Column("业务编号", width=18), excel.Column("客户", width=20), excel.Column("收款类型", width=10),
            excel.Column("收款金额", kind="money", width=14, total=True),
            excel.Column("其中本金", kind="money", width=14, total=True),
            excel.Column("其中利息", kind="money", width=14, total=True),
            excel.Column("其中罚息", kind="money", width=12, total=True),
            excel.Column("其中复利", kind="money", width=12, total=True),
            excel.Column("收款账户", width=16), excel.Column("付款人", width=14), excel.Column("凭证号", width=18),
            excel.Column("经办人", width=10), excel.Column("备注", width=24),
        ]
        data = [[r.receipt_no, r.received_on, r.loan.loan_no, r.loan.customer.name, r.kind_label, r.amount,
                 r.total_of("principal"), r.total_of("interest"), r.total_of("penalty"), r.total_of("compound"),
                 str(r.fund_account or ""), r.payer, r.voucher.voucher_no if r.voucher else "",
                 str(r.created_by or ""), r.remarks or ""] for r in rows]
        today = settings.business_date()
        content = excel.write_workbook(columns, data, title="收款单清单", constant_memory=len(data) > 5000,
                                       params=[("导出日期", today.isoformat()), ("记录数", str(len(data)))],
                                       sheet_name="收款单")
        return xlsx_download(content, f"收款单清单_{today:%Y%m%d}.xlsx")


# -- home page: 还款提醒 ----------------------------------------------------------------
def due_titles(lists):
    return {"today": _("Due today"), "overdue": _("Overdue installments"),
            "upcoming": _("Due in the next %(days)s days", days=lists.upcoming_days)}


def _due_link(row, as_of, to_repayment):
    if to_repayment:
        href = url_for("RepaymentView.loan", loan_id=row.loan_id, date=as_of.isoformat())
    else:
        href = url_for("LoanView.show", pk=row.loan_id)
    return Markup('<a href="{}">{}</a>').format(href, row.loan_no)


@home.register_section
def _due_sections(user):
    """Three home-page lists for finance, managers, risk reviewers and loan officers (in their
    data scope); the rows link to the repayment page, or to the loan page for an officer."""
    if user is None or not user.is_authenticated:
        return None
    to_repayment = can("can_show", "RepaymentView")
    if not to_repayment and not can("can_edit", "LoanView"):   # finance, managers, risk; loan officers
        return None
    lists = home.due_lists(user)
    titles = due_titles(lists)
    headers = [_("Loan number"), _("Customer"), _("No."), _("Due date"), _("Amount due (yuan)"),
               _("Overdue days")]
    sections = []
    for kind in home.DUE_KINDS:
        rows = [[_due_link(r, lists.as_of, to_repayment), r.customer_name, r.seq, r.due_date.isoformat(),
                 Markup('<span class="ml-money">{}</span>').format(money(r.amount_due)), r.overdue_days or ""]
                for r in lists.rows[kind]]
        sections.append({"id": f"due-{kind}", "title": titles[kind], "headers": headers, "rows": rows,
                         "count": lists.counts[kind], "limit": lists.limit,
                         "link": url_for("RepaymentView.index") if to_repayment else None,
                         "empty": _("Nothing to show.")})
    return sections


def register_views(appbuilder):
    """收款登记 and 收款单查询 under the "Finance" menu category, the 收款/结清 pages, and
    the servicing API (/api/v1/loans/…)."""
    from .servicing_api import RepaymentApi

    appbuilder.add_view(RepaymentView, "Repayment desk", label=_l("Repayment desk"), icon="fa-money",
                        category="Finance")
    appbuilder.add_view(RepaymentListView, "Receipts", label=_l("Receipt list"), icon="fa-file-text",
                        category="Finance")
    appbuilder.add_api(RepaymentApi)
