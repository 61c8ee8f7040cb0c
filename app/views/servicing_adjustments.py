"""贷后调整 screens: the apply forms of 免息, 退息, 人工转收入, 核销, 代偿, 归还客户费用 and
退还保证金 (one page per kind and loan, then the shared request page), 核销后收回, the
loan's fees with 收费, and the 项目财务流水账 with Excel export.

Permissions: ``ServicingAdjustView`` names each form ``apply_<kind>`` (officers' rule
``Servicing.*`` → ``can_apply.*``; finance has all) and recovery ``recover`` (finance
only); ``FeeCollectView`` is finance's (``Fee.*``); ``RepaymentLedgerView`` reads with
``can_show`` / ``can_export`` (finance, and managers and risk read).
"""
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import lazy_gettext as _l

from app.domain.errors import DomainError
from app.extensions import db
from app.models.loan import LoanFee
from app.models.servicing import REQUEST_KINDS, Repayment, ServicingRequest
from app.services import adjustments, excel, fees, repayments, settings
from app.services import guarantee_release as release_service
from app.services import receipt_reversal as reversal_service
from app.services import servicing_requests as requests_service
from app.views.base import xlsx_download
from app.views.servicing_common import (can, clean_amount, earlier_receipt, form_int, form_values, is_replay, money,
                                        posted_date, posted_fund_account, receipt_defaults, receiving_accounts,
                                        visible_loan)

#: The kinds whose apply form lives here, in menu order.
ADJUST_KINDS = ("interest_waiver", "interest_refund", "transfer_income", "write_off", "compensation", "fee_refund",
                "deposit_return")
TITLES = {
    "interest_waiver": _l("Apply for an interest waiver"), "interest_refund": _l("Apply for an interest refund"),
    "transfer_income": _l("Apply for a transfer to income"), "write_off": _l("Apply for a write-off"),
    "compensation": _l("Apply for a guarantor's compensatory payment"),
    "fee_refund": _l("Apply for a fee refund"), "deposit_return": _l("Apply for a deposit return"),
}
FIELDS = ("reason", "amount", "source", "guarantor", "loan_fee", "fund_account", "idempotency_key")


def _kind_route(kind):
    """GET shows, POST submits the apply form of ``kind`` (permission apply_<kind>)."""

    @expose(f"/{kind}/<int:loan_id>", methods=["GET", "POST"])
    @has_access
    @permission_name(f"apply_{kind}")
    def route(self, loan_id):
        return self._apply(kind, loan_id)

    route.__name__ = kind
    return route


class ServicingAdjustView(BaseView):
    """贷后调整申请: one form per kind at /servicing/adjust/<kind>/<loan_id>, and 核销后收回."""

    route_base = "/servicing/adjust"
    default_view = "interest_waiver"

    interest_waiver = _kind_route("interest_waiver")
    interest_refund = _kind_route("interest_refund")
    transfer_income = _kind_route("transfer_income")
    write_off = _kind_route("write_off")
    compensation = _kind_route("compensation")
    fee_refund = _kind_route("fee_refund")
    deposit_return = _kind_route("deposit_return")

    # -- 解保申请: a settled loan's guarantees released through approval ------------------------
    @expose("/guarantee_release/<int:loan_id>", methods=["GET", "POST"])
    @has_access
    @permission_name("apply_guarantee_release")
    def guarantee_release(self, loan_id):
        loan = visible_loan(loan_id)
        error = None
        if request.method == "POST":
            item = ServicingRequest(kind=release_service.KIND, loan_id=loan.id, reason=request.form.get("reason"))
            try:
                requests_service.apply(item, g.user)
            except DomainError as exc:
                db.session.rollback()
                loan, error = visible_loan(loan_id), exc
            else:
                flash(f"{item.kind_label} {item.request_no} 已提交审批", "success")
                return redirect(url_for("ServicingRequestView.show", pk=item.id))
        guarantors, collaterals = release_service.unreleased(loan)
        return self.render_template("microloan/adjust_guarantee_release.html", title=_l("Apply for guarantee release"),
                                    loan=loan, guarantors=guarantors, collaterals=collaterals, error=error,
                                    reason=request.form.get("reason", ""))

    # -- 收款冲正申请: the reason, then the approval flow (receipt_reversal) ------------------
    @expose("/receipt_reversal/<int:receipt_id>", methods=["GET", "POST"])
    @has_access
    @permission_name("apply_receipt_reversal")
    def receipt_reversal(self, receipt_id):
        receipt = db.session.get(Repayment, receipt_id)
        if receipt is None:
            abort(404)
        loan = visible_loan(receipt.loan_id)
        error = None
        if request.method == "POST":
            item = ServicingRequest(kind=reversal_service.KIND, loan_id=loan.id, repayment_id=receipt.id,
                                    reason=request.form.get("reason"))
            try:
                requests_service.apply(item, g.user)
            except DomainError as exc:
                db.session.rollback()
                error = exc
            else:
                flash(f"{item.kind_label} {item.request_no} 已提交审批", "success")
                return redirect(url_for("ServicingRequestView.show", pk=item.id))
        receipt = db.session.get(Repayment, receipt_id)
        return self.render_template("microloan/adjust_receipt_reversal.html", title=_l("Apply for receipt reversal"),
                                    receipt=receipt, loan=receipt.loan, error=error, money=money,
                                    reason=request.form.get("reason", ""))

    def _apply(self, kind, loan_id):
        loan = visible_loan(loan_id)
        error = None
        values = {"reason": "", "amount": "", "source": "deposit", "guarantor": "", "loan_fee": "",
                  "fund_account": ""}
        if request.method == "POST":
            form = request.form
            values = form_values(form, FIELDS)
            item = ServicingRequest(kind=kind, loan_id=loan.id, reason=form.get("reason"),
                                    amount=(clean_amount(form.get("amount")) or None) if kind != "write_off" else None)
            if kind == "transfer_income":
                item.transfer_source = form.get("source")
            if kind == "compensation":
                item.guarantor_id = form_int(form.get("guarantor"))
            if kind == "fee_refund":
                item.loan_fee_id = form_int(form.get("loan_fee"))
            fund = posted_fund_account(form)
            if fund is not None:
                item.fund_account = fund
            try:
                requests_service.apply(item, g.user)
            except DomainError as exc:
                db.session.rollback()
                loan = visible_loan(loan_id)
                error = exc
            else:
                flash(f"{item.kind_label} {item.request_no} 已提交审批", "success")
                return redirect(url_for("ServicingRequestView.show", pk=item.id))
        return self.render_template(
            "microloan/adjust_form.html", title=TITLES[kind], kind=kind, kind_label=REQUEST_KINDS[kind], loan=loan,
            values=values, error=error, facts=facts(kind, loan), accounts=receiving_accounts(), money=money,
            open_requests=requests_service.open_requests(loan.id, kind),
            sources=adjustments.TRANSFER_SOURCES, fee_rows=fees.fees_of(loan))

    # -- 核销后收回 ---------------------------------------------------------------------
    @expose("/recover/<int:loan_id>", methods=["GET", "POST"])
    @has_access
    @permission_name("recover")
    def recover(self, loan_id):
        loan = visible_loan(loan_id)
        error = None
        accounts = receiving_accounts()
        values = {**receipt_defaults(loan, accounts, settings.business_date()), "amount": ""}
        if request.method == "POST":
            form = request.form
            values = form_values(form, values)
            key, earlier = earlier_receipt(form)
            try:
                receipt = adjustments.recover(
                    loan.id, clean_amount(form.get("amount")) or None, posted_date(form.get("received_on")),
                    posted_fund_account(form), g.user, key, payer=form.get("payer"), remarks=form.get("remarks"))
            except DomainError as exc:
                db.session.rollback()
                loan = visible_loan(loan_id)
                error = exc
            else:
                if is_replay(earlier, receipt):
                    flash(f"该笔收款已登记（重复提交，未再次入账）：收款单 {receipt.receipt_no}", "info")
                else:
                    flash(f"已登记核销后收回 {receipt.amount:,.2f} 元，收款单 {receipt.receipt_no}", "success")
                return redirect(url_for("RepaymentLedgerView.show", loan_id=loan.id))
        return self.render_template(
            "microloan/adjust_recover.html", title=_l("Recovery after write-off"), loan=loan, values=values,
            error=error, accounts=accounts, money=money, written_off=adjustments.written_off(loan.id),
            recovered=adjustments.recovered(loan.id))


def facts(kind, loan):
    """[(label, amount)] the applicant needs to see for ``kind``: what may be asked for."""
    on = settings.business_date()
    if kind == "interest_waiver" and loan.status == "active":
        waivable = adjustments.waivable(loan, on)
        return [(_l("Unpaid penalty interest due"), waivable["penalty"]),
                (_l("Unpaid compound interest due"), waivable["compound"]),
                (_l("Unpaid interest due"), waivable["interest"])]
    if kind == "interest_refund":
        return [(_l("Interest received"), adjustments.interest_received(loan)),
                (_l("Interest that may be refunded"), adjustments.refundable_interest(loan))]
    if kind == "transfer_income":
        return [(_l("Security deposit held"), repayments.deposit_held(loan.id)),
                (_l("Other payables held"), adjustments.account_held(loan.id, "2241"))]
    if kind == "write_off" and loan.status == "active":
        figures = adjustments.write_off_figures(loan, on)
        return [(_l("Principal outstanding"), figures["principal"]), (_l("Interest receivable"), figures["accrued"]),
                (_l("Unpaid interest kept off the balance sheet"), figures["interest"]),
                (_l("Penalty and compound interest kept off the balance sheet"), figures["charges"])]
    if kind == "compensation" and loan.status == "active":
        return [(_l("Due and unpaid"), adjustments.due_by_guarantor(loan, on))]
    if kind in ("deposit_return", "fee_refund"):
        return [(_l("Security deposit held"), repayments.deposit_held(loan.id))]
    return []


class FeeCollectView(BaseView):
    """项目费用: the loan's fees (amount, paid, refunded, outstanding) and 收费."""

    route_base = "/fee"
    default_view = "loan"

    @expose("/loan/<int:loan_id>", methods=["GET"])
    @has_access
    @permission_name("show")
    def loan(self, loan_id):
        return self._render(visible_loan(loan_id), None, None)

    @expose("/loan/<int:loan_id>", methods=["POST"])
    @has_access
    @permission_name("collect")
    def collect(self, loan_id):
        loan = visible_loan(loan_id)
        form = request.form
        key, earlier = earlier_receipt(form)
        fee_id = form_int(form.get("loan_fee"))
        fee = db.session.get(LoanFee, fee_id) if fee_id else None
        try:
            if fee is None or fee.loan_id != loan.id:
                raise DomainError("请选择该项目的费用", "loan_fee")
            receipt = fees.collect(fee.id, clean_amount(form.get("amount")) or None,
                                   posted_date(form.get("received_on")), posted_fund_account(form), g.user, key,
                                   payer=form.get("payer"), remarks=form.get("remarks"))
        except DomainError as exc:
            db.session.rollback()
            return self._render(visible_loan(loan_id), form, exc)
        if is_replay(earlier, receipt):
            flash(f"该笔收费已登记（重复提交，未再次入账）：收款单 {receipt.receipt_no}", "info")
        else:
            flash(f"已收取{receipt.kind_label} {receipt.amount:,.2f} 元，收款单 {receipt.receipt_no}", "success")
        return redirect(url_for("FeeCollectView.loan", loan_id=loan.id))

    def _render(self, loan, form, error):
        accounts = receiving_accounts()
        rows = fees.fees_of(loan)
        if form is None:
            first = next((r for r in rows if r.outstanding > 0), None)
            values = {**receipt_defaults(loan, accounts, settings.business_date()),
                      "loan_fee": str(first.id) if first else "", "amount": f"{first.outstanding:.2f}" if first else ""}
        else:
            values = form_values(form, ("loan_fee", "amount", "received_on", "fund_account", "payer", "remarks",
                                        "idempotency_key"))
        return self.render_template(
            "microloan/fee_collect.html", title=_l("Loan fees"), loan=loan, rows=rows, values=values, error=error,
            accounts=accounts, money=money, collectable=loan.status in fees.COLLECTABLE_STATUSES,
            can_collect=can("can_collect", "FeeCollectView"),
            can_refund=can("can_apply_fee_refund", "ServicingAdjustView"),
            can_return=can("can_apply_deposit_return", "ServicingAdjustView"),
            deposit_held=repayments.deposit_held(loan.id))


class RepaymentLedgerView(BaseView):
    """项目财务流水账: every receipt and payment of one loan with the running balance."""

    route_base = "/repayment/ledger"
    default_view = "show"

    @expose("/<int:loan_id>")
    @has_access
    @permission_name("show")
    def show(self, loan_id):
        loan = visible_loan(loan_id)
        return self.render_template(
            "microloan/project_ledger.html", title=_l("Project cash ledger"), loan=loan,
            ledger=fees.project_ledger(loan.id), money=money,
            can_export=can("can_export", "RepaymentLedgerView"),
            can_fees=can("can_show", "FeeCollectView"),
            can_recover=can("can_recover", "ServicingAdjustView") and loan.status == "written_off")

    @expose("/<int:loan_id>/export")
    @has_access
    @permission_name("export")
    def export(self, loan_id):
        loan = visible_loan(loan_id)
        book = fees.project_ledger(loan.id)
        columns = [excel.Column("日期", kind="date", width=12), excel.Column("凭证号", width=18),
                   excel.Column("业务类型", width=14), excel.Column("摘要", width=36), excel.Column("资金账户", width=16),
                   excel.Column("收入", kind="money", width=14, total=True),
                   excel.Column("支出", kind="money", width=14, total=True),
                   excel.Column("余额", kind="money", width=16)]
        data = [[r.business_date, r.voucher_no, r.kind, r.memo or r.description, r.fund_account,
                 r.receipt or None, r.payment or None, r.balance] for r in book.rows]
        today = settings.business_date()
        content = excel.write_workbook(
            columns, data, title=f"项目财务流水账 {loan.loan_no} {loan.customer.name}",
            params=[("项目", f"{loan.loan_no} {loan.customer.name}"), ("贷款金额", f"{loan.amount:,.2f}"),
                    ("导出日期", today.isoformat())], sheet_name="项目财务流水账")
        return xlsx_download(content, f"项目财务流水账_{loan.loan_no}_{today:%Y%m%d}.xlsx")


def register_views(appbuilder):
    """The adjustment forms, the fee screen and the project ledger (reached from the loan
    and the servicing request pages, not from the menu)."""
    for view in (ServicingAdjustView, FeeCollectView, RepaymentLedgerView):
        appbuilder.add_view_no_menu(view)


__all__ = ["ADJUST_KINDS", "FeeCollectView", "RepaymentLedgerView", "ServicingAdjustView", "register_views"]
