"""A small demo data set for ``make run``: branches, departments and a user for every role."""
import os

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Branch, Department, Position
from app.services.setup import ensure_user, generate_password

BRANCHES = [("BJ", "北京分公司", "北京市朝阳区建国路 88 号"), ("SH", "上海分公司", "上海市浦东新区世纪大道 100 号")]
# username, roles, family name, given name, branch code (None = head office), position code
USERS = [
    ("officer_bj", ["LoanOfficer"], "李", "明", "BJ", "loan_officer"),
    ("officer_sh", ["LoanOfficer"], "王", "芳", "SH", "loan_officer"),
    ("risk", ["RiskReviewer"], "赵", "磊", None, "risk_reviewer"),
    ("approver", ["Approver"], "孙", "伟", None, "general_manager"),
    ("finance", ["Finance"], "周", "静", None, "finance"),
    ("manager", ["Manager"], "吴", "强", None, "general_manager"),
    ("archivist", ["Archivist"], "郑", "丽", None, "archivist"),
]


def load_demo(password=None):
    """Create what is missing; returns [(username, roles, password)] for users created now."""
    head = db.session.execute(select(Branch).where(Branch.parent_id.is_(None)).order_by(Branch.id)).scalars().first()
    branches = {None: head}
    for code, name, address in BRANCHES:
        branch = db.session.execute(select(Branch).where(Branch.code == code)).scalar_one_or_none()
        if branch is None:
            branch = Branch(code=code, name=name, address=address, parent=head, sort_order=len(branches) * 10)
            db.session.add(branch)
            db.session.flush()
            db.session.add(Department(code=f"{code}-BIZ", name="业务部", branch=branch))
        branches[code] = branch
    if db.session.execute(select(Department).where(Department.code == "HQ-RISK")).scalar_one_or_none() is None:
        db.session.add(Department(code="HQ-RISK", name="风险管理部", branch=head))
        db.session.add(Department(code="HQ-FIN", name="财务部", branch=head))
    db.session.commit()
    positions = {p.code: p for p in db.session.execute(select(Position)).scalars()}
    created = []
    for username, roles, family, given, branch_code, position in USERS:
        pwd = password or generate_password(12)
        user, is_new = ensure_user(username, roles, pwd, given, family, branch=branches[branch_code],
                                   position=positions.get(position), mobile="13800000000")
        if is_new:
            created.append((username, roles, pwd))
    if created:
        path = os.path.join(current_app.instance_path, "demo_logins.txt")
        with open(path, "a", encoding="utf-8") as fh:
            for username, roles, pwd in created:
                fh.write(f"{username}\t{pwd}\t{','.join(roles)}\n")
        os.chmod(path, 0o600)
    return created


from app.domain.identity import complete_credit_code as _code, complete_id_number as _id  # noqa: E402


# kind, name, identifier body, mobile, officer, extra fields
CUSTOMERS = [
    ("person", "张伟", "11010519850612123", "13901010001", "officer_bj",
     {"address": "北京市朝阳区望京街道 1 号", "marital_status": "married", "education": "bachelor",
      "spouse_name": "刘洋", "employer": "北京某科技有限公司", "job_title": "部门经理", "years_employed": 6,
      "monthly_income": "25000", "owns_house": True, "house_value": "3200000", "source": "walk_in",
      "bank_name": "中国工商银行北京望京支行", "bank_account_name": "张伟", "bank_account_no": "6222020200112233445"}),
    ("person", "李娜", "31011519900305234", "13801020002", "officer_sh",
     {"address": "上海市浦东新区张江路 8 号", "marital_status": "single", "education": "master",
      "employer": "上海某贸易公司", "monthly_income": "18000", "source": "referral"}),
    ("company", "北京示例商贸有限公司", "91110105MA01ABCD1", "13901010003", "officer_bj",
     {"legal_rep_name": "王强", "registered_capital": "5000000", "industry": "F", "address": "北京市海淀区中关村大街 27 号",
      "business_scope": "日用百货、五金交电的批发与零售", "employees": 35, "annual_revenue": "28000000",
      "contact_name": "王强", "source": "marketing"}),
    ("sole_trader", "陈刚", "11010819780923456", "13901010004", "officer_bj",
     {"business_name": "北京市海淀区陈记餐馆", "credit_code": _code("92110108MA0XY1234"), "industry": "H",
      "business_address": "北京市海淀区学院路 18 号", "address": "北京市海淀区学院路 18 号", "source": "walk_in"}),
]


def load_demo_customers():
    """A few customers of every kind, created through the customer service (validated)."""
    from app.models import AppUser, Customer
    from app.services import customers
    from app.services.setup import act_as_system

    actor = act_as_system()
    created = 0
    for kind, name, body, mobile, officer_name, extra in CUSTOMERS:
        identifier = _code(body) if kind == "company" else _id(body)
        column = Customer.credit_code if kind == "company" else Customer.id_number
        if db.session.execute(select(Customer.id).where(column == identifier)).first():
            continue
        officer = db.session.execute(select(AppUser).where(AppUser.username == officer_name)).scalar_one()
        customer = Customer(kind=kind, name=name, mobile=mobile, officer=officer, status="active", **extra)
        setattr(customer, column.key, identifier)
        customers.prepare(customer, actor)
        db.session.add(customer)
        db.session.commit()
        created += 1
    return created


# customer name, officer, product code, amount, term, rate, method, guarantee, months ago, what happened
LOANS = [
    ("张伟", "officer_bj", "GRJYD", "200000", 12, "12", "equal_installment", "unsecured", 6, "last_overdue"),
    ("陈刚", "officer_bj", "GRJYD", "50000", 6, "10", "equal_principal", "unsecured", 1, "due_today"),
    ("北京示例商贸有限公司", "officer_bj", "QYLDZJ", "500000", 12, "9", "monthly_interest", "guarantee", 3, "on_time"),
    ("张伟", "officer_bj", "GRJYD", "30000", 3, "12", "equal_installment", "unsecured", 10, "settled"),
    ("李娜", "officer_sh", "GRJYD", "80000", 12, "11", "equal_installment", "unsecured", 0, "draft"),
]


def load_demo_loans():
    """A few loans at every stage of their life, so the home page, the loan lists and the
    finance screens have something to show: paid out months ago and repaid on time, one
    installment overdue, one due today, one settled, one draft. Loans are created and paid
    out through the services (checked, with their vouchers); the approvals are skipped.
    Dates count back from the business date. Returns how many loans were created."""
    import uuid
    from datetime import timedelta
    from decimal import Decimal

    from app.domain.daycount import add_months
    from app.models import AppUser, Customer, FundAccount, Loan, LoanProduct
    from app.services import disbursement, fees, ledger, loans, repayments, settings
    from app.services.setup import act_as_system

    if db.session.execute(select(Loan.id).limit(1)).first():
        return 0
    actor = act_as_system()
    today = settings.business_date()
    bank = db.session.execute(select(FundAccount).where(FundAccount.kind == "bank").order_by(FundAccount.id)).scalars().first()
    ledger.post("股东缴入股金（演示）", [ledger.Line(bank.ledger_account, debit=Decimal("20000000"), fund_account=bank),
                                  ledger.Line(ledger.PAID_IN_CAPITAL, credit=Decimal("20000000"))],
                actor, business_date=add_months(today, -12))
    db.session.commit()
    created = 0
    for name, officer_name, product_code, amount, term, rate, method, guarantee, months_ago, story in LOANS:
        customer = db.session.execute(select(Customer).where(Customer.name == name)).scalar_one()
        officer = db.session.execute(select(AppUser).where(AppUser.username == officer_name)).scalar_one()
        product = db.session.execute(select(LoanProduct).where(LoanProduct.code == product_code)).scalar_one()
        start = add_months(today, -months_ago)
        if story == "last_overdue":
            start -= timedelta(days=10)        # the latest installment fell due ten days ago
        loan = Loan(customer=customer, product=product, amount=Decimal(amount), term=term, annual_rate=Decimal(rate),
                    method=method, start_date=start, purpose="working_capital", guarantee_types=guarantee,
                    officer=officer)
        loans.save_draft(loan, officer)
        db.session.commit()
        created += 1
        if story == "draft":
            continue
        loan.status = "ready_to_disburse"
        db.session.commit()
        disbursement.disburse(loan.id, actor, bank, start, "中国工商银行", customer.name, "6222020200112233445")
        if story == "settled":
            for fee in db.session.get(Loan, loan.id).fees:
                fees.collect(fee.id, fee.amount, start, bank, actor, uuid.uuid4().hex)
        due = [(i.due_date, i.total) for i in db.session.get(Loan, loan.id).installments if i.due_date < today]
        if story == "last_overdue":
            due = due[:-1]
        for due_date, total in due:
            repayments.post_repayment(loan.id, total, due_date, bank, actor, uuid.uuid4().hex, payer=customer.name)
    return created
