"""五级人工评定 through the approval flow, the classification and provision screens, the batch
page and CLI, and the month-end provision voucher (issue #9 §1–3)."""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Loan
from app.models.finance import JournalLine, Voucher
from app.models.risk import BatchRun, ClassificationAssessment, ClassificationChange, ProvisionBooking
from app.services import batch, ledger, provisions

from .servicing_helpers import D, acting, approve, loan_id, text_of  # noqa: F401

FIRST_DUE = date(2026, 4, 16)


def run_to(app, day):
    with app.app_context():
        batch.run(day)


def assessment(app, item_id):
    with app.app_context():
        item = db.session.get(ClassificationAssessment, item_id)
        db.session.expunge(item)
        return item


def propose(client, loan_id, proposed, reason="借款人经营停滞，已多次催收未果，抵押物价值下降"):
    return client.post("/classificationassessmentview/propose/",
                       data={"loan": loan_id, "proposed_class": proposed, "reason": reason}, follow_redirects=True)


def test_a_manual_class_better_than_the_floor_is_refused(app, login_as, loan_id):
    run_to(app, FIRST_DUE + timedelta(days=95))     # floor: 次级
    risk = login_as("risk")
    page = text_of(propose(risk, loan_id, "special_mention"))
    assert "自动分类下限为“次级”" in page and "不能评为“关注”" in page
    page = text_of(propose(risk, loan_id, "doubtful", reason="差"))
    assert "请填写评定理由" in page
    with app.app_context():
        assert db.session.execute(select(func.count(ClassificationAssessment.id))).scalar() == 0


def test_an_approved_worse_class_sticks_until_the_floor_passes_it(app, login_as, loan_id):
    run_to(app, FIRST_DUE + timedelta(days=5))      # floor: 关注
    risk = login_as("risk")
    page = text_of(risk.get(f"/classificationassessmentview/propose/?loan={loan_id}"))
    assert "只能等于或劣于下限" not in page and 'id="propose-floor"' in page and "自动分类下限：关注" in page
    response = propose(risk, loan_id, "doubtful")
    assert "已提交审批" in text_of(response)
    with app.app_context():
        item_id = db.session.execute(select(ClassificationAssessment.id)).scalar_one()
    assert assessment(app, item_id).status == "pending"
    assert "审批中的五级分类评定" in text_of(propose(risk, loan_id, "loss"))
    approve(app, "classification", item_id, users=("risk", "approver"))
    assert assessment(app, item_id).status == "approved"
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        assert (loan.classification, loan.manual_class) == ("doubtful", "doubtful")
        last = db.session.execute(select(ClassificationChange).order_by(ClassificationChange.id.desc())).scalars().first()
        assert (last.from_class, last.to_class, last.source, last.assessment_id) == (
            "special_mention", "doubtful", "manual", item_id)
    run_to(app, FIRST_DUE + timedelta(days=100))    # floor 次级 is better than 可疑: stays 可疑
    with app.app_context():
        assert db.session.get(Loan, loan_id).classification == "doubtful"
    run_to(app, FIRST_DUE + timedelta(days=365))    # floor 损失 is worse: moves down
    with app.app_context():
        assert db.session.get(Loan, loan_id).classification == "loss"
    page = text_of(login_as("officer_a").get(f"/loanview/show/{loan_id}"))
    assert 'id="classification-history"' in page and "人工评定" in page and 'id="loan-class">损失<' in page


def test_the_portfolio_and_provision_screens_show_the_batch_figures(app, login_as, loan_id):
    day = FIRST_DUE + timedelta(days=100)
    run_to(app, day)
    with app.app_context():
        balance = sum(i.principal - i.principal_paid for i in db.session.get(Loan, loan_id).installments)
    manager = login_as("manager")
    page = manager.get("/classification/portfolio/").get_data(as_text=True)
    assert f"{balance:,.2f}" in page and "echarts.min.js" in page
    page = manager.get(f"/provision/report/?as_of={day}").get_data(as_text=True)
    specific = (balance * D("0.25")).quantize(D("0.01"))
    general = (balance * D("0.01")).quantize(D("0.01"))
    assert f"{specific:,.2f}" in page and f"{specific + general:,.2f}" in page
    assert 'id="provision-book-form"' not in page           # managers read, finance books
    assert manager.post("/provision/book/", data={"period_end": "2026-07-31"}).status_code == 403
    assert 'id="provision-none"' in login_as("finance").get("/provision/report/?as_of=2020-01-01").get_data(
        as_text=True)


def test_finance_books_a_month_end_once_and_the_ledger_holds_the_reserve(app, login_as, loan_id):
    month_end = date(2026, 7, 31)
    run_to(app, FIRST_DUE + timedelta(days=1))
    run_to(app, date(2026, 8, 2))                   # catches up every day, month end included
    finance = login_as("finance")
    assert "晚于营业日期" in text_of(finance.post("/provision/book/", data={"period_end": "2026-08-31"},
                                              follow_redirects=True))
    assert "请选择月末日期" in text_of(finance.post("/provision/book/", data={"period_end": "2026-07-30"},
                                             follow_redirects=True))
    page = text_of(finance.post("/provision/book/", data={"period_end": month_end.isoformat()}, follow_redirects=True))
    assert "拨备已计提" in page
    with app.app_context():
        result = provisions.report(month_end)
        row = db.session.execute(select(ProvisionBooking)).scalar_one()
        assert row.amount == row.required == result.required > 0
        assert ledger.account_balance(ledger.LOAN_LOSS_RESERVE, month_end) == row.required
        lines = db.session.execute(select(JournalLine.debit, JournalLine.credit).join(Voucher)
                                   .where(Voucher.id == row.voucher_id)).all()
        assert sum(d for d, _ in lines) == sum(c for _, c in lines) == row.required
        assert provisions.report(month_end).shortfall == 0
    assert "不能重复计提" in text_of(finance.post("/provision/book/", data={"period_end": month_end.isoformat()},
                                             follow_redirects=True))


def test_only_admin_runs_the_batch_from_its_page(app, login_as, loan_id):
    assert login_as("risk").post("/batch/run/", data={"as_of": "2026-04-20"}).status_code == 403
    risk_page = login_as("risk").get("/batch/list/").get_data(as_text=True)
    assert 'id="batch-run-form"' not in risk_page
    admin = login_as("admin")
    page = text_of(admin.post("/batch/run/", data={"as_of": "2026-04-20"}, follow_redirects=True))
    assert "日终批处理完成" in page and "营业日期现为 2026-04-20" in page
    assert "格式应为" in text_of(admin.post("/batch/run/", data={"as_of": "20/04/2026"}, follow_redirects=True))
    with app.app_context():
        runs = db.session.execute(select(BatchRun)).scalars().all()
        assert [(r.as_of, r.trigger, r.status) for r in runs] == [(date(2026, 4, 20), "button", "success")]


def test_the_cli_runs_and_catches_up(app, loan_id):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["batch", "run", "--date", "2026-04-17"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["batch", "run", "--date", "2026-04-19"])
    assert result.exit_code == 0 and result.output.count("成功") == 2
    result = runner.invoke(args=["batch", "run", "--date", "2026-04-01"])
    assert result.exit_code != 0 and "不能倒回" in result.output


@pytest.mark.dirty
def test_moving_the_demo_portfolio_100_days_turns_loans_overdue_and_down_the_classes(app):
    from app.services import demo, settings
    from app.services.setup import act_as_system

    with app.app_context():
        act_as_system()
        demo.load_demo("Demo@12345")
        demo.load_demo_customers()
        demo.load_demo_loans()
        start = settings.business_date()
        active = db.session.execute(select(func.count(Loan.id)).where(Loan.status == "active")).scalar()
        assert active >= 2
        batch.run(start)
        batch.run(start + timedelta(days=100))
        loans = db.session.execute(select(Loan).where(Loan.status == "active")).scalars().all()
        assert all(loan.overdue_days > 0 for loan in loans)
        assert {loan.classification for loan in loans} <= {"special_mention", "substandard"}
        assert any(loan.classification == "substandard" for loan in loans)
        report = provisions.report(start + timedelta(days=100))
        assert report.npl > 0 and report.required > provisions.report(start).required
