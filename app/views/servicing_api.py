"""收款 REST API: /api/v1/loans/<id>/repayments, /payoff and /schedule.

- ``POST /api/v1/loans/<id>/repayments`` with JSON ``{"amount": "8884.88", "date":
  "2026-04-16", "fund_account_id": 2, "idempotency_key": "…", "payer": "…", "remarks": "…"}``
  posts a receipt through ``repayments.post_repayment``: 201 with the receipt and its
  allocation lines; the same key again answers 200 with the same body and posts nothing.
- ``GET /api/v1/loans/<id>/repayments``: the loan's receipts.
- ``GET /api/v1/loans/<id>/payoff?date=YYYY-MM-DD``: the payoff quote (结清试算).
- ``GET /api/v1/loans/<id>/schedule?date=YYYY-MM-DD``: every installment with its scheduled,
  paid and outstanding parts and its state on that date.

Amounts are strings with two decimals. A loan outside the caller's scope (branches and
grants) is a 404. A DomainError is a 422 ``{"message": "<中文>", "field": "<field>"}``; so is
bad input the service would not catch itself: a date outside 1900–2199, text with control
characters (PostgreSQL refuses NUL), remarks over 300 characters. Every answer is JSON
(``JsonErrorsMixin``), also for a path id that is not a number.

Permissions are on ``RepaymentApi`` (so the "Repayment.*" role rules reach it): posting is
``can_post`` (Finance), reading is ``can_get`` (Finance, Manager, RiskReviewer). Scripts log
in at ``/api/v1/security/login`` and send ``Authorization: Bearer <token>``; the pages may
call it with the session cookie. (/api/v1/loan/ is the loan resource of loan_api.py; this is
/api/v1/loans/, so the two do not clash.)
"""
import json
from datetime import date
from decimal import Decimal

from flask import request
from flask_appbuilder.api import BaseApi, expose, safe
from flask_appbuilder.security.decorators import permission_name, protect

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Loan
from app.models.finance import FundAccount
from app.services import loans, repayments, settings
from app.views.base import ApiDocsMixin, api_operation
from app.views.customer_api import CONTROL_CHARS, DATE_RANGE, JsonErrorsMixin, _acting_user, parse_id

#: The service's field names → the API's.
FIELD_NAMES = {"received_on": "date", "fund_account": "fund_account_id"}
#: The ``?date=YYYY-MM-DD`` of the reading endpoints (default: the business date).
DATE_QUERY = {"in": "query", "schema": {"type": "string", "format": "date"}, "name": "date"}


def amount(value):
    return f"{Decimal(value if value is not None else 0):.2f}"


def receipt_json(receipt):
    voucher = receipt.voucher
    return {
        "id": receipt.id, "receipt_no": receipt.receipt_no, "loan_id": receipt.loan_id,
        "loan_no": receipt.loan.loan_no, "kind": receipt.kind, "kind_label": receipt.kind_label,
        "amount": amount(receipt.amount), "received_on": receipt.received_on.isoformat(),
        "fund_account_id": receipt.fund_account_id, "fund_account": receipt.fund_account.name,
        "payer": receipt.payer, "remarks": receipt.remarks, "idempotency_key": receipt.idempotency_key,
        "voucher_id": receipt.voucher_id, "voucher_no": voucher.voucher_no if voucher else None,
        "created_at": receipt.created_at.isoformat(timespec="seconds") if receipt.created_at else None,
        "lines": [{"seq": line.seq, "component": line.component, "component_label": line.component_label,
                   "amount": amount(line.amount)} for line in receipt.lines],
        "totals": {component: amount(receipt.total_of(component))
                   for component in ("principal", "interest", "penalty", "compound")},
        "loan_status": receipt.loan.status,
    }


def quote_json(quote):
    return {
        "loan_id": quote.loan.id, "loan_no": quote.loan.loan_no, "as_of": quote.as_of.isoformat(),
        "early": quote.early,
        **{key: amount(getattr(quote, key)) for key in (
            "principal", "interest", "penalty", "compound", "prepayment_fee", "fees", "deposit", "interest_forgone")},
        "total": amount(quote.total), "total_with_deposit_offset": amount(quote.net(True)),
        "lines": [{"seq": item.seq, "component": component, "amount": amount(value)}
                  for item, component, value in quote.lines],
    }


def schedule_json(loan, rows, as_of):
    result = []
    for r in rows:
        i = r.item
        result.append({
            "seq": i.seq, "start_date": i.start_date.isoformat(), "due_date": i.due_date.isoformat(),
            "scheduled": {"principal": amount(i.principal), "interest": amount(i.interest), "total": amount(i.total)},
            "paid": {"principal": amount(i.principal_paid), "interest": amount(i.interest_paid),
                     "penalty": amount(i.penalty_paid), "compound": amount(i.compound_paid), "total": amount(r.paid)},
            "waived": {"interest": amount(i.interest_waived), "penalty": amount(i.penalty_waived)},
            "outstanding": {"principal": amount(r.principal_due), "interest": amount(r.interest_due),
                            "penalty": amount(r.penalty), "compound": amount(r.compound),
                            "total": amount(r.total_due)},
            "balance": amount(i.balance), "overdue_days": r.overdue_days, "state": r.state,
            "state_label": r.state_label, "paid_off_on": i.paid_off_on.isoformat() if i.paid_off_on else None,
        })
    return {"loan_id": loan.id, "loan_no": loan.loan_no, "status": loan.status, "as_of": as_of.isoformat(),
            "installments": result}


class RepaymentApi(ApiDocsMixin, JsonErrorsMixin, BaseApi):
    """收款 API on /api/v1/loans/…: post receipts, the payoff quote and the schedule."""

    resource_name = "loans"
    openapi_spec_tag = "Repayments"
    allow_browser_login = True
    base_permissions = ["can_post", "can_get"]

    # The error responses and the loan_id / date parameters of the OpenAPI docs are added
    # by ApiDocsMixin from @api_operation (app/views/base.py).

    # -- helpers -----------------------------------------------------------------------
    def _error(self, exc):
        db.session.rollback()
        return self.response(422, message=exc.message, field=FIELD_NAMES.get(exc.field, exc.field))

    def _loan(self, loan_id):
        loan = db.session.get(Loan, loan_id) if parse_id(loan_id) else None
        if loan is None or not loans.can_see(loan, _acting_user()):
            return None
        return loan

    @staticmethod
    def _date(raw, field="date"):
        if raw in (None, ""):
            return settings.business_date()
        if not isinstance(raw, str):
            raise DomainError("日期须为 YYYY-MM-DD 格式的字符串", field)
        try:
            value = date.fromisoformat(raw.strip())
        except ValueError:
            raise DomainError(f"日期“{raw}”无效，格式为 YYYY-MM-DD", field) from None
        low, high = DATE_RANGE
        if not low <= value <= high:
            raise DomainError(f"日期 {value.isoformat()} 超出范围（{low.year}–{high.year} 年）", field)
        return value

    # -- POST /<id>/repayments -----------------------------------------------------------
    @expose("/<int:loan_id>/repayments", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    @api_operation(422)
    def post_repayment(self, loan_id):
        """Post a receipt (正常还款) against an active loan.
        ---
        post:
          description: >-
            Allocates the amount over what is due (and the next installment) by the
            product's order. The same idempotency_key again returns the first receipt
            with status 200 and posts nothing.
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [amount, fund_account_id, idempotency_key]
                  properties:
                    amount: {type: string, example: "8884.88"}
                    date: {type: string, format: date, example: "2026-04-16"}
                    fund_account_id: {type: integer}
                    idempotency_key: {type: string, maxLength: 64}
                    payer: {type: string}
                    remarks: {type: string}
          responses:
            201:
              description: Posted; the receipt and its allocation lines
            200:
              description: The key was used before; the first receipt
        """
        loan = self._loan(loan_id)
        if loan is None:
            return self.response_404()
        try:
            data = json.loads(request.get_data(as_text=True) or "null", parse_float=Decimal)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return self.response(422, message="请求体必须是 JSON 对象", field=None)
        try:
            key = data.get("idempotency_key")
            if key is not None and not isinstance(key, str):
                raise DomainError("幂等键须为字符串", "idempotency_key")
            raw_amount = data.get("amount")
            if isinstance(raw_amount, bool):
                raise DomainError("收款金额无效", "amount")
            on = self._date(data.get("date"))
            fund_id = data.get("fund_account_id")
            if fund_id is not None and (isinstance(fund_id, bool) or not isinstance(fund_id, int)):
                raise DomainError("收款账户须为资金账户的 id（整数）", "fund_account_id")
            fund = db.session.get(FundAccount, parse_id(fund_id)) if parse_id(fund_id) else None
            for name in ("payer", "remarks", "idempotency_key"):
                value = data.get(name)
                if value is not None and not isinstance(value, str):
                    raise DomainError("付款人和备注须为字符串", name)
                if value is not None and CONTROL_CHARS.search(value):
                    raise DomainError("不能包含控制字符", name)
            if len((data.get("remarks") or "").strip()) > 300:  # the service would cut it without a word
                raise DomainError("备注不能超过 300 字", "remarks")
            receipt = repayments.post_repayment(loan.id, raw_amount, on, fund, _acting_user(), key,
                                                payer=data.get("payer"), remarks=data.get("remarks"))
        except DomainError as exc:
            return self._error(exc)
        replay = repayments.was_replayed(receipt)   # the service knows: no second lookup of the key
        return self.response(200 if replay else 201, **receipt_json(receipt), replayed=replay)

    # -- GET /<id>/repayments ------------------------------------------------------------
    @expose("/<int:loan_id>/repayments", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    @api_operation()
    def receipts(self, loan_id):
        """The loan's receipts, oldest first.
        ---
        get:
          responses:
            200:
              description: receipts with their allocation lines
        """
        loan = self._loan(loan_id)
        if loan is None:
            return self.response_404()
        return self.response(200, loan_id=loan.id, loan_no=loan.loan_no,
                             result=[receipt_json(r) for r in repayments.receipts_of(loan.id)])

    # -- GET /<id>/payoff ------------------------------------------------------------------
    @expose("/<int:loan_id>/payoff", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    @api_operation(422, parameters=[DATE_QUERY])
    def payoff(self, loan_id):
        """The payoff quote (结清试算) for a date (default: the business date).
        ---
        get:
          responses:
            200:
              description: principal, interest to date, penalty, compound, fees, deposit, total
        """
        loan = self._loan(loan_id)
        if loan is None:
            return self.response_404()
        try:
            as_of = self._date(request.args.get("date"))
            if loan.status not in repayments.PAYABLE_STATUSES:
                raise DomainError(f"项目 {loan.loan_no} 当前状态为“{loan.status_label}”，没有可结清的欠款")
            quote = repayments.quote(loan, as_of)
        except DomainError as exc:
            return self._error(exc)
        return self.response(200, **quote_json(quote))

    # -- GET /<id>/schedule ----------------------------------------------------------------
    @expose("/<int:loan_id>/schedule", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    @api_operation(422, parameters=[DATE_QUERY])
    def schedule(self, loan_id):
        """The schedule with scheduled, paid and outstanding parts on a date.
        ---
        get:
          responses:
            200:
              description: installments
        """
        loan = self._loan(loan_id)
        if loan is None:
            return self.response_404()
        try:
            as_of = self._date(request.args.get("date"))
        except DomainError as exc:
            return self._error(exc)
        return self.response(200, **schedule_json(loan, repayments.schedule_status(loan, as_of), as_of))
