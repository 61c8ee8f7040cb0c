"""档案管理 (issue #12): check-in, borrowing with approval, lending and return, collateral
withdrawal (with 中止), settlement proposing certificate returns, transfers confirmed by both
sides, company base-data filing, overdue reminders, registers, exports, prints and permissions."""
import io
import itertools
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from stdnum.cn import uscc

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Collateral, Customer, Loan
from app.models.archive import (
    ArchiveBorrowing, ArchiveItem, ArchiveMovement, ArchiveTransfer, CollateralWithdrawal,
)
from app.services import archive, archive_requests, repayments
from app.services import workflow as ws

from .servicing_helpers import capital, finance_user, fund, key, on
from .test_loans import BUSINESS_DATE, acting, business_date, make_customer, text_of  # noqa: F401 (business_date: autouse)

pytestmark = pytest.mark.dirty
APPROVERS = ("risk", "approver")        # 档案借阅 / 抵质押物提取审批流程 (app/services/defaults.py)
_CODES = itertools.count(1)


# --------------------------------------------------------------------------- helpers
def approve(app, code, object_id, users=APPROVERS):
    for username in users:
        with acting(app, username) as user:
            instance = ws.latest_instance(code, object_id)
            ws.act(instance.id, user, "approve", "同意")


def loan_with_collateral(app, login_as):
    """An active loan (100,000 at 12 %, from 2026-03-16) with a mortgaged house."""
    from .servicing_helpers import active_loan

    capital(app)
    loan_id = active_loan(app, login_as)
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        collateral = Collateral(loan_id=loan_id, kind="mortgage", collateral_type="house", name="朝阳区住宅",
                                owner_name=loan.customer.name, appraised_value=300000,
                                certificate_no="京(2020)朝阳区不动产权第0012345号")
        db.session.add(collateral)
        db.session.commit()
        return loan_id, collateral.id


def item_in(app, title="借款合同", doc_type="loan_contract", level="long", **fields):
    with acting(app, "archivist") as user:
        item = archive.create_item(user, doc_type, title, fields.pop("room", "一号档案室"), level, cabinet="A01",
                                   shelf="2", box="B-7", handed_by="张经理", **fields)
        return item.id


def item_row(app, item_id):
    with app.app_context():
        item = db.session.get(ArchiveItem, item_id)
        kinds = [(m.kind, m.purpose, m.to_status) for m in archive.history(item)]
        return item.status, kinds


def borrow(app, item_ids, username="risk", due=None):
    with acting(app, username) as user:
        borrowing = archive_requests.request_borrowing(user, item_ids, "诉讼准备", due or BUSINESS_DATE + timedelta(days=7))
        return borrowing.id


def make_company(app, name="北京星辰科技有限公司"):
    from app.services import customers as customer_service

    first17 = f"91110108{next(_CODES) + 500:09d}"
    with acting(app, "officer_a") as user:
        customer = Customer(kind="company", name=name, credit_code=first17 + uscc.calc_check_digit(first17),
                            legal_rep_name="王五")
        customer.officer = user
        customer_service.prepare(customer, user)
        db.session.add(customer)
        db.session.commit()
        return customer.id


# --------------------------------------------------------------------------- the "done when"
def test_contract_borrowed_returned_and_certificate_returned_at_settlement(app, login_as):
    loan_id, collateral_id = loan_with_collateral(app, login_as)
    archivist = login_as("archivist")
    officer = login_as("officer_a")

    # 1. The archivist checks the contract in through the form and the property certificate by the service.
    r = archivist.post("/archiveitemview/add", data={
        "doc_type": "loan_contract", "title": "借款合同", "loan": str(loan_id), "pieces": "2", "pages": "12",
        "room": "一号档案室", "cabinet": "A01", "shelf": "2", "box": "B-7", "level": "long",
        "filed_on": BUSINESS_DATE.isoformat(), "handed_by": "张经理", "condition": "完好"})
    assert r.status_code == 302, text_of(r)[:3000]
    with app.app_context():
        contract = db.session.execute(select(ArchiveItem).where(ArchiveItem.doc_type == "loan_contract")).scalar_one()
        contract_id = contract.id
        assert re.fullmatch(r"DA20260316\d{4}", contract.archive_no)
        assert contract.customer_id == contract.loan.customer_id and contract.status == "in_stock"
        assert contract.retain_until == date(2056, 3, 16)      # 长期: 30 years
    cert_id = item_in(app, "不动产权证书", "property_certificate", collateral_id=collateral_id)
    with app.app_context():
        cert = db.session.get(ArchiveItem, cert_id)
        assert cert.loan_id == loan_id and cert.certificate_no.startswith("京(2020)")

    # 2. The officer requests to borrow the contract (in-stock query → request form).
    assert officer.get("/archivestockview/list/").status_code == 200
    found = officer.get("/archivestockview/search?q=借款合同").get_json()["results"]
    assert [x["id"] for x in found] == [contract_id]
    assert officer.get(f"/archiveborrowrequestview/add?item_id={contract_id}").status_code == 200
    r = officer.post("/archiveborrowrequestview/add", data={
        "items": [str(contract_id)], "purpose": "诉讼准备", "expected_return_on": "2026-03-20"})
    assert r.status_code == 302
    with app.app_context():
        borrowing = db.session.execute(select(ArchiveBorrowing)).scalar_one()
        borrowing_id = borrowing.id
        assert borrowing.status == "in_approval"

    # Nothing may be lent before the approval.
    r = archivist.post(f"/archiveborrowrequestview/lend/{borrowing_id}", follow_redirects=True)
    assert "只有审批通过的借阅单可以出借" in text_of(r)

    # 3. The request is approved (风控审查 → 总经理审批).
    approve(app, "archive_borrowing", borrowing_id)

    # 4. The archivist lends it; 5. the return is recorded.
    r = archivist.post(f"/archiveborrowrequestview/lend/{borrowing_id}", data={"occurred_on": "2026-03-16"})
    assert r.status_code == 302
    assert item_row(app, contract_id)[0] == "lent"
    r = archivist.post(f"/archiveborrowrequestview/receive/{borrowing_id}",
                       data={"items": [str(contract_id)], "occurred_on": "2026-03-16", "condition": "完好"})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(ArchiveBorrowing, borrowing_id).status == "closed"
    page = text_of(officer.get(f"/archiveborrowrequestview/show/{borrowing_id}"))
    assert "已归还" in page and "借款合同" in page
    page = text_of(officer.get(f"/archiveborrowrequestview/print/{borrowing_id}"))
    assert "业务档案借阅审批表" in page and "总经理审批" in page
    status, kinds = item_row(app, contract_id)
    assert status == "in_stock"
    assert kinds == [("check_in", None, "in_stock"), ("check_out", "lend", "lent"), ("check_in", None, "in_stock")]

    # 6. Settlement proposes returning the certificate to the owner …
    day = date(2026, 4, 1)
    on(app, day)
    with app.app_context():
        repayments.settle(loan_id, day, fund(), finance_user(), key())
        proposals = db.session.execute(select(CollateralWithdrawal)).scalars().all()
        assert [(p.item_id, p.status, p.purpose, p.proposed_at_settlement) for p in proposals] == [
            (cert_id, "draft", "release", True)]
        withdrawal_id = proposals[0].id
        assert proposals[0].receiver_name == db.session.get(Loan, loan_id).customer.name
    # … the contract itself is not a certificate: it stays in the archive.
    assert item_row(app, contract_id)[0] == "in_stock"

    # … the officer submits it, it is approved, the archivist hands the certificate back.
    r = officer.post(f"/archivewithdrawalrequestview/submit/{withdrawal_id}")
    assert r.status_code == 302
    approve(app, "collateral_withdrawal", withdrawal_id)
    r = archivist.post(f"/archivewithdrawalrequestview/execute/{withdrawal_id}", data={"occurred_on": day.isoformat()})
    assert r.status_code == 302
    status, kinds = item_row(app, cert_id)
    assert status == "returned"
    assert kinds == [("check_in", None, "in_stock"), ("check_out", "withdraw", "returned")]

    # The full history is visible on the item pages.
    page = text_of(archivist.get(f"/archiveitemview/show/{cert_id}"))
    assert "已退还" in page and "抵质押物提取" in page and "张经理" in page
    assert page.count('class="archive-history-row"') == 2
    page = text_of(archivist.get(f"/archiveitemview/show/{contract_id}"))
    assert page.count('class="archive-history-row"') == 3 and "借阅出库" in page
    with app.app_context():
        assert db.session.get(CollateralWithdrawal, withdrawal_id).status == "done"


# --------------------------------------------------------------------------- status rules
def test_status_transitions_are_enforced(app):
    contract = item_in(app)
    short = item_in(app, "调查报告", "investigation_report", level="short")
    permanent = item_in(app, "借据", "iou", level="permanent")
    borrowing_id = borrow(app, [contract])
    # An item in a running request cannot be requested again.
    with pytest.raises(DomainError, match="已在借阅单"):
        borrow(app, [contract], "manager")
    approve(app, "archive_borrowing", borrowing_id)
    with acting(app, "archivist") as user:
        archive_requests.lend(borrowing_id, user)
        # Cannot lend what is lent.
        with pytest.raises(DomainError, match="只有审批通过的借阅单可以出借"):
            archive_requests.lend(borrowing_id, user)
        with pytest.raises(DomainError, match="只能借阅在库档案"):
            archive_requests.check_borrowing([contract], "查阅", BUSINESS_DATE, user)
        # Cannot destroy what is lent, nor check it out or in outside its borrowing.
        with pytest.raises(DomainError, match="借出.*不能销毁"):
            archive.destroy(contract, user, "到期销毁")
        with pytest.raises(DomainError, match="不能出库"):
            archive.check_out(contract, user, "other", "李律师", "诉讼")
        with pytest.raises(DomainError, match="请在借阅单上登记归还"):
            archive.check_in(contract, user)
        # Retention: 永久 never, 短期 only after ten years.
        with pytest.raises(DomainError, match="永久保存"):
            archive.destroy(permanent, user, "到期销毁")
        with pytest.raises(DomainError, match="未到期不能销毁"):
            archive.destroy(short, user, "到期销毁")
        # Lending and withdrawal have their own flows.
        with pytest.raises(DomainError, match="借阅出库请通过借阅申请办理"):
            archive.check_out(short, user, "lend", "某人", "查阅")
    assert item_row(app, contract)[0] == "lent"

    later = BUSINESS_DATE.replace(year=2036)
    on(app, later)
    with app.app_context():
        assert [i.id for i in archive.due_for_destruction(later)] == [short]
    with acting(app, "archivist") as user:
        archive.destroy(short, user, "档案销毁审批 2036-01 号，监销人王某")
        with pytest.raises(DomainError, match="已销毁"):
            archive.check_out(short, user, "other", "某人", "查阅")
    assert item_row(app, short) == ("destroyed", [("check_in", None, "in_stock"), ("destroy", None, "destroyed")])


def test_registers_are_append_only(app):
    item_id = item_in(app)
    with app.app_context():
        movement = db.session.execute(select(ArchiveMovement).where(ArchiveMovement.item_id == item_id)).scalar_one()
        movement.reason = "改写"
        with pytest.raises(DomainError, match="只能追加"):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.get(ArchiveMovement, movement.id))
        with pytest.raises(DomainError, match="只能追加"):
            db.session.flush()
        db.session.rollback()


def test_check_in_form_refuses_bad_input_and_saves_nothing(app, login_as):
    archivist = login_as("archivist")
    r = archivist.post("/archiveitemview/add", data={
        "doc_type": "loan_contract", "title": "借款合同", "room": "一号档案室", "level": "long",
        "pieces": "0", "custody": "y"})
    page = text_of(r)
    assert r.status_code == 200 and "份数至少为 1" in page
    r = archivist.post("/archiveitemview/add", data={
        "doc_type": "property_certificate", "title": "代管房产证", "room": "一号档案室", "level": "long",
        "pieces": "1", "custody": "y"})
    assert "代管的单证请填写权利人" in text_of(r)
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(ArchiveItem)).scalar() == 0
        assert db.session.execute(select(func.count()).select_from(ArchiveMovement)).scalar() == 0


# --------------------------------------------------------------------------- overdue borrowing
def test_overdue_borrowing_is_listed_and_reminded_once_a_day(app, login_as):
    from app.models.messages import Reminder
    from app.services import reminders

    item_id = item_in(app)
    borrowing_id = borrow(app, [item_id], due=BUSINESS_DATE + timedelta(days=3))
    approve(app, "archive_borrowing", borrowing_id)
    with acting(app, "archivist") as user:
        archive_requests.lend(borrowing_id, user)
    due = BUSINESS_DATE + timedelta(days=3)
    with app.app_context():
        assert archive_requests.overdue_borrowings(due) == []
        rows = archive_requests.overdue_borrowings(due + timedelta(days=2))
        assert [(r["borrowing_id"], r["item_id"], r["due_date"], r["days"]) for r in rows] == [
            (borrowing_id, item_id, due, 2)]
        officer_id = rows[0]["borrower_id"]
    day = due + timedelta(days=2)
    on(app, day)
    officer = login_as("risk")          # the borrower
    page = text_of(officer.get("/archivelent/?overdue=1"))
    assert "诉讼准备" in page and re.search(r'archive-overdue-days">2<', page)
    assert "Overdue archive borrowings" in text_of(officer.get("/")) or "档案借阅逾期" in text_of(officer.get("/"))
    with app.app_context():
        reminders.run(day, kinds=["archive_borrowing_due"])
        reminders.run(day, kinds=["archive_borrowing_due"])      # the same day: nothing new
        sent = db.session.execute(select(Reminder).where(Reminder.kind == "archive_borrowing_due")).scalars().all()
        assert [(r.object_type, r.object_id, r.remind_on) for r in sent] == [("archive_borrowing", borrowing_id, day)]
        reminders.run(day + timedelta(days=1), kinds=["archive_borrowing_due"])
        assert db.session.execute(select(func.count()).select_from(Reminder).where(
            Reminder.kind == "archive_borrowing_due")).scalar() == 2
        from app.models.messages import Message, MessageRecipient
        inbox = db.session.execute(select(MessageRecipient.user_id).join(Message, Message.id == MessageRecipient.message_id)
                                   .where(Message.subject.like("档案借阅逾期%"))).scalars().all()
        assert inbox == [officer_id, officer_id]      # one message a day to the borrower
    # Returned: no longer overdue.
    with acting(app, "archivist") as user:
        archive_requests.receive_return(borrowing_id, user)
        assert archive_requests.overdue_borrowings(day) == []


# --------------------------------------------------------------------------- collateral withdrawal
def test_withdrawal_needs_approval_and_can_be_suspended(app, login_as):
    customer_id = make_customer(app, documents=False)        # officer_a's customer (北京分公司)
    cert = item_in(app, "他项权证", "mortgage_certificate", owner_name="张三", customer_id=customer_id)
    contract = item_in(app, customer_id=customer_id)
    with acting(app, "officer_a") as user:
        with pytest.raises(DomainError, match="不是抵质押物权证"):
            archive_requests.request_withdrawal(user, contract, "release", "张三", "结清")
        with pytest.raises(DomainError, match="预计回库日期"):
            archive_requests.request_withdrawal(user, cert, "registration", "张三", "办理变更登记")
    with acting(app, "archivist") as user:
        with pytest.raises(DomainError, match="须经抵质押物提取审批"):
            archive.check_out(cert, user, "return_owner", "张三", "结清")
    officer = login_as("officer_a")
    r = officer.post("/archivewithdrawalrequestview/add", data={
        "item": str(cert), "purpose": "release", "receiver_name": "张三", "reason": "贷款已结清，解押"})
    assert r.status_code == 302
    with app.app_context():
        w = db.session.execute(select(CollateralWithdrawal)).scalar_one()
        withdrawal_id = w.id
        assert w.status == "in_approval"
    # 中止 with a reason closes the running approval.
    r = officer.post(f"/archivewithdrawalrequestview/suspend/{withdrawal_id}", data={"reason": ""}, follow_redirects=True)
    assert "请填写中止原因" in text_of(r)
    r = officer.post(f"/archivewithdrawalrequestview/suspend/{withdrawal_id}", data={"reason": "客户申请续贷，暂不解押"})
    assert r.status_code == 302
    with app.app_context():
        w = db.session.get(CollateralWithdrawal, withdrawal_id)
        assert (w.status, w.suspend_reason) == ("suspended", "客户申请续贷，暂不解押")
        instance = ws.latest_instance("collateral_withdrawal", withdrawal_id)
        assert instance.status == "rejected"
        with acting(app, "risk") as risk:
            assert not ws.can_act(instance, risk)
    page = text_of(officer.get(f"/archivewithdrawalrequestview/show/{withdrawal_id}"))
    assert "客户申请续贷，暂不解押" in page
    # The archivist cannot hand over a suspended withdrawal; resubmitted and approved, it goes.
    archivist = login_as("archivist")
    r = archivist.post(f"/archivewithdrawalrequestview/execute/{withdrawal_id}", follow_redirects=True)
    assert "只有审批通过的申请可以提取" in text_of(r)
    with acting(app, "officer_a") as user:
        archive_requests.submit_withdrawal(withdrawal_id, user)
    approve(app, "collateral_withdrawal", withdrawal_id)
    archivist.post(f"/archivewithdrawalrequestview/execute/{withdrawal_id}")
    assert item_row(app, cert)[0] == "returned"
    page = text_of(archivist.get(f"/archivewithdrawalrequestview/print/{withdrawal_id}"))
    assert "抵质押物提取审批表" in page and "中止审批" in page


# --------------------------------------------------------------------------- transfers
def test_transfer_is_confirmed_by_the_receiver(app, login_as):
    item_id = item_in(app)
    with app.app_context():
        archivist_id = db.session.get(ArchiveItem, item_id).custodian_id
    archivist = login_as("archivist")
    assert archivist.get(f"/archivetransferview/add?item_id={item_id}").status_code == 200
    with acting(app, "admin") as admin:
        admin_user_id = admin.id
    r = archivist.post("/archivetransferview/add", data={
        "item": str(item_id), "to_user": str(admin_user_id), "to_room": "二号档案室", "to_cabinet": "C03",
        "reason": "保管人调岗", "sent_on": BUSINESS_DATE.isoformat()})
    assert r.status_code == 302
    with app.app_context():
        transfer = db.session.execute(select(ArchiveTransfer)).scalar_one()
        transfer_id = transfer.id
    # While the transfer waits, the item does not move otherwise; the sender cannot confirm.
    with acting(app, "archivist") as user:
        with pytest.raises(DomainError, match="待确认的移交"):
            archive.check_out(item_id, user, "other", "某人", "查阅")
        with pytest.raises(DomainError, match="只有接收人"):
            archive.confirm_transfer(transfer_id, user)
    admin = login_as("admin")
    assert 'id="archive-transfer-confirm"' in text_of(admin.get(f"/archivetransferview/show/{transfer_id}"))
    admin.post(f"/archivetransferview/confirm/{transfer_id}")
    with app.app_context():
        item = db.session.get(ArchiveItem, item_id)
        assert (item.status, item.custodian_id, item.room, item.cabinet) == ("in_stock", admin_user_id, "二号档案室", "C03")
        assert item.custodian_id != archivist_id
    assert item_row(app, item_id)[1][-1] == ("transfer", None, "in_stock")

    # To an outside recipient: the archivist records who signed; the item is 已移交 until it comes back.
    with acting(app, "archivist") as user:
        transfer = archive.send_transfer(item_id, user, "移交法务部门诉讼使用", to_party="法务部")
        with pytest.raises(DomainError, match="对方签收人"):
            archive.confirm_transfer(transfer.id, user)
        archive.confirm_transfer(transfer.id, user, receiver_name="法务部 刘某")
        assert db.session.get(ArchiveItem, item_id).status == "transferred"
        archive.check_in(item_id, user, handed_by="法务部 刘某")
        assert db.session.get(ArchiveItem, item_id).status == "in_stock"


# --------------------------------------------------------------------------- company filing
def test_company_documents_are_filed_in_one_step_from_the_customer_page(app, login_as):
    customer_id = make_company(app)
    archivist = login_as("archivist")
    page = text_of(archivist.get(f"/customerview/show/{customer_id}"))
    assert 'id="customer-archive-file"' in page and "营业执照" in page
    r = archivist.post(f"/archiveitemview/file_company/{customer_id}", data={
        "doc_types": ["business_licence", "articles", "legal_rep_id"], "room": "一号档案室", "cabinet": "Q1",
        "level": "permanent", "filed_on": BUSINESS_DATE.isoformat()})
    assert r.status_code == 302
    with app.app_context():
        items = db.session.execute(select(ArchiveItem).where(ArchiveItem.customer_id == customer_id)
                                   .order_by(ArchiveItem.id)).scalars().all()
        assert [i.doc_type for i in items] == ["business_licence", "articles", "legal_rep_id"]
        assert all(i.status == "in_stock" and i.retain_until is None and len(i.movements) == 1 for i in items)
    r = archivist.post(f"/archiveitemview/file_company/{customer_id}", data={
        "doc_types": ["business_licence", "account_permit"], "room": "一号档案室", "level": "long"},
        follow_redirects=True)
    assert "已归档，请勿重复归档" in text_of(r)
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(ArchiveItem)).scalar() == 3
    # An officer sees the items on the customer page but no filing form.
    page = text_of(login_as("officer_a").get(f"/customerview/show/{customer_id}"))
    assert 'id="customer-archive"' in page and 'id="customer-archive-file"' not in page


# --------------------------------------------------------------------------- lists, exports, prints
def test_lists_export_to_excel_and_print(app, login_as):
    from openpyxl import load_workbook

    item_in(app)
    item_in(app, "代管存单", "pledge_certificate", custody=True, owner_name="李四")
    archivist = login_as("archivist")
    for url, expected in (("/archiveitemview/export", "借款合同"), ("/archivestockview/export", "代管存单"),
                          ("/archivecustodyview/export", "代管存单"), ("/archivemovementview/export", "入库"),
                          ("/archivetransferview/export", None), ("/archiveborrowrequestview/export", None),
                          ("/archivewithdrawalrequestview/export", None), ("/archivelent/export", None),
                          ("/archivedestruction/export", None)):
        r = archivist.get(url)
        assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet"), url
        values = [c for row in load_workbook(io.BytesIO(r.data)).active.iter_rows(values_only=True) for c in row if c]
        if expected:
            assert expected in values, url
    page = text_of(archivist.get("/archivemovementview/print?_flt_0_kind=custody"))
    assert "代管备案登记薄" in page and "代管存单" in page and "借款合同" not in page
    page = text_of(archivist.get("/archiveitemview/labels"))
    assert page.count('class="ml-label"') == 2 and "一号档案室 / A01 / 2 / B-7" in page
    assert archivist.get("/archiveitemview/add").status_code == 200
    with app.app_context():
        first = db.session.execute(select(func.min(ArchiveItem.id))).scalar()
    assert archivist.get(f"/archiveitemview/edit/{first}").status_code == 200
    r = archivist.post(f"/archiveitemview/edit/{first}", data={
        "doc_type": "loan_contract", "title": "借款合同（正本）", "pieces": "3", "level": "permanent"})
    assert r.status_code == 302
    with app.app_context():
        item = db.session.get(ArchiveItem, first)
        assert (item.title, item.pieces, item.retain_until, item.room) == ("借款合同（正本）", 3, None, "一号档案室")
    page = text_of(archivist.get("/archivecustodyview/list/"))
    assert "代管存单" in page and "借款合同" not in page


# --------------------------------------------------------------------------- permissions
def test_only_the_archivist_and_admin_move_items(app, login_as):
    from app.security import ROLE_NAMES

    item_id = item_in(app)
    borrowing_id = borrow(app, [item_id])
    approve(app, "archive_borrowing", borrowing_id)
    for username in ("officer_a", "risk", "manager"):
        client = login_as(username)
        assert client.get("/archivestockview/list/").status_code == 200, username
        assert client.get("/archiveborrowrequestview/add").status_code == 200, username
        assert client.get("/archivewithdrawalrequestview/add").status_code == 200, username
        assert client.get("/archiveitemview/list/").status_code == 403, username
        assert client.get("/archivemovementview/list/").status_code == 403, username
        assert client.post(f"/archiveborrowrequestview/lend/{borrowing_id}").status_code == 403, username
        assert client.post(f"/archiveitemview/checkout/{item_id}", data={"purpose": "other"}).status_code == 403
        assert client.post(f"/archiveitemview/destroy/{item_id}").status_code == 403, username
    assert login_as("finance").get("/archivestockview/list/").status_code == 403
    assert item_row(app, item_id)[0] == "in_stock"
    with app.app_context():
        sm = app.appbuilder.sm
        for code in ("LoanOfficer", "RiskReviewer", "Manager", "Approver"):
            granted = {(pv.permission.name, pv.view_menu.name) for pv in sm.find_role(ROLE_NAMES[code]).permissions}
            assert not {("can_lend", "ArchiveBorrowRequestView"), ("can_receive", "ArchiveBorrowRequestView"),
                        ("can_execute", "ArchiveWithdrawalRequestView"), ("can_add", "ArchiveItemView"),
                        ("can_add", "ArchiveTransferView")} & granted, code
        archivist = {(pv.permission.name, pv.view_menu.name) for pv in sm.find_role(ROLE_NAMES["Archivist"]).permissions}
        assert {("can_lend", "ArchiveBorrowRequestView"), ("can_execute", "ArchiveWithdrawalRequestView"),
                ("can_destroy", "ArchiveItemView"), ("can_confirm", "ArchiveTransferView")} <= archivist
    assert login_as("archivist").post(f"/archiveborrowrequestview/lend/{borrowing_id}").status_code == 302
    assert item_row(app, item_id)[0] == "lent"
