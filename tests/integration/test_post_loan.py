"""贷后管理 (issue #9 §7): check tasks created at disbursement with exact due dates, special
checks for overdue loans (set-based, once per overdue episode) and flagged collateral, check
records with real photo uploads (bad files refused, nothing half-saved), data scope, the
officer's home section, company changes with their risk flag, visits and the Word report."""
import io
import re
from datetime import date

import pytest
from docx import Document
from sqlalchemy import func, select

from app.extensions import db
from app.models import Attachment, Customer, Loan
from app.models.post_loan import CompanyChange, PostLoanCheck, PostLoanTask, PostLoanVisit
from app.services import post_loan, repayments

from ..conftest import png_bytes
from .servicing_helpers import active_loan, capital, on, repay
from .test_loans import acting, business_date, text_of, user_id  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.dirty
START = date(2026, 3, 16)
FINDINGS = "门店正常营业，月销售额约30万元，库存充足"


def tasks_of(app, loan_id):
    with app.app_context():
        return [(t.kind, t.due_date, t.status) for t in db.session.execute(
            select(PostLoanTask).where(PostLoanTask.loan_id == loan_id)
            .order_by(PostLoanTask.due_date, PostLoanTask.id)).scalars()]


def task_id(app, loan_id, kind="first"):
    with app.app_context():
        return db.session.execute(select(PostLoanTask.id).where(
            PostLoanTask.loan_id == loan_id, PostLoanTask.kind == kind).order_by(PostLoanTask.id)).scalars().first()


def loan_no(app, loan_id):
    with app.app_context():
        return db.session.get(Loan, loan_id).loan_no


def check_form(**overrides):
    data = {"checked_on": "2026-03-16", "method": "onsite", "business_operation": FINDINGS,
            "use_of_funds": "用于采购原材料，与合同约定用途一致", "collateral_condition": "na", "collateral_notes": "",
            "repayment_ability": "经营现金流可覆盖月供", "risk_signals": "", "conclusion": "normal",
            "next_actions": "按期检查"}
    data.update(overrides)
    return data


def record(app, username="officer_a", **values):
    """A check through the service (the screen test covers the form)."""
    with acting(app, username) as user:
        data = check_form(**values)
        data["checked_on"] = date.fromisoformat(data["checked_on"])
        return post_loan.record_check(data, [], user).id


def run_special(app, as_of):
    with app.app_context():
        count = post_loan.schedule_special_checks(as_of)
        db.session.commit()
        return count


def test_tasks_at_disbursement_follow_the_term(app, login_as):
    """6 months: first check in 15 days, then monthly before maturity; 12 months: quarterly."""
    capital(app)
    six = active_loan(app, login_as, term="6")
    twelve = active_loan(app, login_as, name="李四", term="12")
    assert tasks_of(app, six) == [
        ("first", date(2026, 3, 31), "open"), ("periodic", date(2026, 4, 16), "open"),
        ("periodic", date(2026, 5, 16), "open"), ("periodic", date(2026, 6, 16), "open"),
        ("periodic", date(2026, 7, 16), "open"), ("periodic", date(2026, 8, 16), "open")]
    assert tasks_of(app, twelve) == [
        ("first", date(2026, 3, 31), "open"), ("periodic", date(2026, 6, 16), "open"),
        ("periodic", date(2026, 9, 16), "open"), ("periodic", date(2026, 12, 16), "open")]
    with app.app_context():
        task = db.session.get(PostLoanTask, task_id(app, six))
        loan = db.session.get(Loan, six)
        assert (task.officer_id, task.branch_id, task.cause) == (loan.officer_id, loan.branch_id, "schedule")


def test_completing_a_task_with_a_photo_and_refusing_a_fake_one(app, login_as):
    capital(app)
    loan_id = active_loan(app, login_as)
    first = task_id(app, loan_id)
    client = login_as("officer_a")
    page = text_of(client.get(f"/postloancheckview/add?task_id={first}"))
    assert loan_no(app, loan_id) in page and "首次跟踪检查" in page

    # A text file named .png is refused: no check, no file, the task stays open.
    bad = client.post(f"/postloancheckview/add?task_id={first}", content_type="multipart/form-data",
                      data=dict(check_form(), task_id=str(first), files=[(io.BytesIO(b"not an image"), "照片.png")]))
    assert bad.status_code == 422 and "文件内容与扩展名 .png 不符" in text_of(bad)
    assert FINDINGS in text_of(bad)   # the input is kept
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(PostLoanCheck)).scalar_one() == 0
        assert db.session.execute(select(func.count()).select_from(Attachment).where(
            Attachment.owner_type == "post_loan_check")).scalar_one() == 0
    assert tasks_of(app, loan_id)[0][2] == "open"

    good = client.post(f"/postloancheckview/add?task_id={first}", content_type="multipart/form-data",
                       data=dict(check_form(), task_id=str(first),
                                 files=[(io.BytesIO(png_bytes()), "现场照片.png")]))
    assert good.status_code == 302, text_of(good)
    check_id = int(re.search(r"/postloancheckview/show/(\d+)", good.headers["Location"]).group(1))
    with app.app_context():
        check = db.session.get(PostLoanCheck, check_id)
        assert check.task_id == first and check.task.status == "done"
        assert check.task.completed_on == START
        files = db.session.execute(select(Attachment).where(Attachment.owner_type == "post_loan_check",
                                                            Attachment.owner_id == check_id)).scalars().all()
        assert [(f.original_name, f.mime_type) for f in files] == [("现场照片.png", "image/png")]
    show = text_of(client.get(f"/postloancheckview/show/{check_id}"))
    assert FINDINGS in show and "现场照片.png" in show
    loan_page = text_of(client.get(f"/loanview/show/{loan_id}"))
    assert 'id="tab-post-loan"' in loan_page and "已完成" in loan_page
    # The completed task cannot be completed twice.
    again = client.post(f"/postloancheckview/add?task_id={first}", data=dict(check_form(), task_id=str(first)))
    assert again.status_code == 422 and "检查任务已完成，不能再登记检查" in text_of(again)


def test_special_checks_once_per_overdue_episode(app, login_as):
    capital(app)
    late = active_loan(app, login_as)                    # installment 1 due 2026-04-16, left unpaid
    paid = active_loan(app, login_as, name="李四")
    on(app, date(2026, 4, 16))
    repay(app, paid, "8884.88", date(2026, 4, 16))
    assert run_special(app, date(2026, 4, 17)) == 1
    assert run_special(app, date(2026, 4, 17)) == 0      # idempotent for a date
    special = [t for t in tasks_of(app, late) if t[0] == "special"]
    assert special == [("special", date(2026, 4, 24), "open")]
    assert [t for t in tasks_of(app, paid) if t[0] == "special"] == []

    # Done during the episode: the next nights open nothing new for the same episode.
    on(app, date(2026, 4, 18))
    record(app, task_id=task_id(app, late, "special"), checked_on="2026-04-18", conclusion="attention")
    assert run_special(app, date(2026, 4, 19)) == 0
    # Cured, then overdue again on a later installment: a new special check.
    on(app, date(2026, 4, 20))
    with app.app_context():
        owed = repayments.summary(db.session.get(Loan, late), date(2026, 4, 20)).due_now
    repay(app, late, str(owed), date(2026, 4, 20))
    assert run_special(app, date(2026, 5, 16)) == 0      # due today is not overdue yet
    assert run_special(app, date(2026, 5, 17)) == 2      # both loans now miss installment 2
    assert [t[1:] for t in tasks_of(app, late) if t[0] == "special"] == [
        (date(2026, 4, 24), "done"), (date(2026, 5, 24), "open")]


def test_flagged_collateral_opens_a_special_check(app, login_as):
    capital(app)
    loan_id = active_loan(app, login_as)
    check_id = record(app, loan_id=loan_id, collateral_condition="impaired", collateral_notes="抵押房产被法院查封")
    client = login_as("officer_a")
    assert "flag-collateral" in text_of(client.get(f"/postloancheckview/show/{check_id}"))
    response = client.post(f"/postloancheckview/flag/{check_id}", follow_redirects=True)
    assert "2026-03-23" in text_of(response)
    assert [t for t in tasks_of(app, loan_id) if t[0] == "special"] == [("special", date(2026, 3, 23), "open")]
    with app.app_context():
        task = db.session.execute(select(PostLoanTask).where(PostLoanTask.kind == "special")).scalar_one()
        assert task.cause == "collateral" and "抵质押物异常" in task.reason
    again = client.post(f"/postloancheckview/flag/{check_id}", follow_redirects=True)
    assert "已于 2026-03-16 发起过抵质押物预警" in text_of(again)
    # A check with sound collateral cannot be flagged.
    sound = record(app, loan_id=loan_id)
    with acting(app, "officer_a") as user, pytest.raises(Exception, match="异常或灭失"):
        post_loan.flag_collateral(sound, user)


def test_other_branch_cannot_see_the_tasks_and_home_lists_overdue_ones(app, login_as):
    capital(app)
    loan_id = active_loan(app, login_as)
    number = loan_no(app, loan_id)
    first = task_id(app, loan_id)
    other = login_as("officer_b")
    assert number not in text_of(other.get("/postloantaskview/list/"))
    assert other.get(f"/postloantaskview/show/{first}").status_code == 404
    assert other.get(f"/postloancheckview/add?task_id={first}").status_code == 404
    with acting(app, "officer_b") as user, pytest.raises(Exception, match="无权访问"):
        post_loan.record_check(dict(check_form(checked_on=None), task_id=first, checked_on=START), [], user)
    own = login_as("officer_a")
    assert number in text_of(own.get("/postloantaskview/list/"))
    on(app, date(2026, 4, 1))                            # the first check was due 2026-03-31
    assert number in text_of(own.get("/postloantaskoverdueview/list/"))
    home = text_of(own.get("/"))
    assert 'id="section-post-loan-tasks"' in home and number in home
    assert 'id="section-post-loan-tasks"' not in text_of(other.get("/"))


def _company(app):
    from app.domain.identity import complete_credit_code
    from app.services import customers as customer_service

    with acting(app, "officer_a") as user:
        customer = Customer(kind="company", name="北京某某商贸有限公司", credit_code=complete_credit_code("91110105100000001"),
                            legal_rep_name="王五", mobile="13800138001")
        customer.officer = user
        customer_service.prepare(customer, user)
        db.session.add(customer)
        db.session.commit()
        return customer.id


def test_company_changes_are_flagged_on_the_customer_page(app, login_as):
    company = _company(app)
    client = login_as("officer_a")
    data = {"customer": str(company), "change_type": "litigation", "changed_on": "2026-03-10",
            "old_value": "", "new_value": "被供应商起诉，标的额 80 万元", "source": "中国裁判文书网", "remarks": ""}
    response = client.post("/postloancompanychangeview/add", data=data)
    assert response.status_code == 302, text_of(response)
    with app.app_context():
        change = db.session.execute(select(CompanyChange)).scalar_one()
        assert change.is_flagged and change.branch_id == db.session.get(Customer, company).branch_id
    page = text_of(client.get(f"/customerview/show/{company}"))
    assert 'id="company-change-flags"' in page and "被供应商起诉" in page
    assert "被供应商起诉" in text_of(client.get("/postloanflaggedchangeview/list/"))
    # A person is not a company; the future is refused; nothing is saved.
    person = text_of(client.post("/postloancompanychangeview/add", data=dict(
        data, customer=str(_person(app)))))
    assert "不是企业或个体工商户" in person
    future = text_of(client.post("/postloancompanychangeview/add", data=dict(data, changed_on="2026-04-01")))
    assert "变动日期不能晚于营业日期" in future
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(CompanyChange)).scalar_one() == 1


def _person(app):
    from .test_loans import make_customer

    return make_customer(app, name="赵六", documents=False)


def test_the_word_report_holds_the_checks_and_visits(app, login_as):
    capital(app)
    loan_id = active_loan(app, login_as)
    record(app, task_id=task_id(app, loan_id))
    client = login_as("officer_a")
    visit = client.post("/postloanvisitview/add", data={
        "loan": str(loan_id), "visited_on": "2026-03-16", "person_visited": "借款人张三", "method": "phone",
        "content": "询问经营情况", "result": "经营稳定，承诺按期还款"})
    assert visit.status_code == 302, text_of(visit)
    with app.app_context():
        assert db.session.execute(select(PostLoanVisit.person_visited)).scalar_one() == "借款人张三"
    response = client.get(f"/postloan/report/download?loan_id={loan_id}")
    assert response.status_code == 200
    assert response.mimetype.endswith("wordprocessingml.document")
    assert "filename*=UTF-8''%E8%B4%B7%E5%90%8E" in response.headers["Content-Disposition"]
    document = Document(io.BytesIO(response.data))
    text = "\n".join([p.text for p in document.paragraphs]
                     + [cell.text for table in document.tables for row in table.rows for cell in row.cells])
    assert "贷后调查报告" in text and loan_no(app, loan_id) in text
    assert FINDINGS in text and "经营现金流可覆盖月供" in text and "经营稳定，承诺按期还款" in text
    assert "已完成 1 项" in text
    # Another branch's officer gets no report.
    other = login_as("officer_b").get(f"/postloan/report/download?loan_id={loan_id}")
    assert other.status_code == 302
