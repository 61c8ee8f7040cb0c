"""演示组合生成器: ``flask demo generate --customers 60000 --loans 100000 --seed 42 [--as-of DATE]``.

Fills a freshly initialised database with a realistic portfolio for demos and benchmarks
(issue #13): branches and loan officers; persons, companies and sole traders with Faker
``zh_CN`` names and addresses and *valid* ID numbers and credit codes (app/domain/identity.py);
products of every repayment method but 自由还本付息; loans paid out over the three years
before the as-of date, with guarantors, collateral and fees; schedules from the real engine;
receipts paid on time, early, late (罚息/复利 to the fen), in two parts, partly or not at all,
so that about 8 % of the loans are overdue, spread over every five-level class; settled
loans; and the vouchers of it all (放款 Dr 1301 / Cr 1002 and Dr 1221 / Cr 6021, fees
Dr 1002 / Cr 1221, receipts Dr 1002 / Cr 1301, 6011, 6051, the shareholders' capital
Dr 1002 / Cr 4001); the month before the as-of month is closed (期末结算, which locks the
months before it). Then the nightly batch runs for the as-of date, which sets overdue days,
penalties, classes and provisions, keeps the month-end balances and makes it the business date.

Deterministic: one ``random.Random(seed)`` and one seeded Faker, drawn in a fixed order; ids
follow the rows already there and every date and time derives from the as-of date, so the
same seed on the same initialised database writes the same rows.

Bulk inserts only (no ORM object per row): rows are plain dicts collected per chunk of
loans and written with Core ``insert(table)`` (executemany), or on PostgreSQL with ``COPY``
(the same rows, several times faster). The chunk's rows are written in foreign-key order and
committed together. The audit log is not written for generated rows.
"""
import io
import random
import secrets
import time
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, insert, select, text

from app.domain.errors import DomainError
from app.domain.identity import complete_credit_code, complete_id_number, normalize_credit_code, \
    normalize_id_number
from app.domain.limits import fee_amount, ltv_pct
from app.domain.schedule import LoanTerms, generate_schedule
from app.domain.servicing import compound_interest, penalty_interest
from app.extensions import db
from app.services import generator_data as data
from app.models.servicing import receipt_breakdown
from app.services import ledger

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
CHUNK = 2000            # loans per write (and commit)
PIPELINE_SHARE = 0.02   # drafts: applications not yet paid out
DEFAULT_SHARE = 0.075   # loans that stopped paying at some point: about 8 % of the outstanding ones
YEARS = 3
_ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"   # GB 32100 (no I, O, Z, S, V)
_VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O, Q

# Tables written, in foreign-key order.
ORDER = ("customer", "loan", "installment", "loan_fee", "guarantor", "collateral", "voucher", "journal_line",
         "disbursement", "repayment", "repayment_line", "loan_status_change")


@dataclass
class Summary:
    customers: int = 0
    loans: int = 0
    installments: int = 0
    receipts: int = 0
    vouchers: int = 0
    journal_lines: int = 0
    seconds: float = 0.0
    steps: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)

    def lines(self):
        out = [f"客户 {self.customers:,} · 贷款 {self.loans:,} · 还款计划 {self.installments:,} 期 · "
               f"收款 {self.receipts:,} · 凭证 {self.vouchers:,}（分录 {self.journal_lines:,}）"]
        out.append("  ".join(f"{k} {v:.1f}s" for k, v in self.steps.items()) + f"  合计 {self.seconds:.1f}s")
        if self.counts:
            out.append("  ".join(f"{k} {v:,}" for k, v in sorted(self.counts.items())))
        return out


def _weighted(rng, pairs):
    total = sum(w for _v, w in pairs)
    point = rng.random() * total
    for value, weight in pairs:
        point -= weight
        if point < 0:
            return value
    return pairs[-1][0]


def _money(value):
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


class _Writer:
    """Buffers rows per table and writes them in foreign-key order: COPY on PostgreSQL,
    Core ``insert(table)`` with a list of dicts elsewhere. Every column is given (Python-side
    scalar defaults filled in), so the rows of one table all have the same keys."""

    def __init__(self, session):
        self.session = session
        self.pg = session.get_bind().dialect.name == "postgresql"
        self.tables = {name: db.metadata.tables[name] for name in ORDER}
        self.defaults = {}
        for name, table in self.tables.items():
            values = {}
            for column in table.columns:
                default = column.default
                values[column.key] = default.arg if default is not None and default.is_scalar else None
            self.defaults[name] = values
        self.rows = {name: [] for name in ORDER}
        self.counts = {name: 0 for name in ORDER}

    def add(self, table, row):
        self.rows[table].append(row)

    def flush(self):
        for name in ORDER:
            rows = self.rows[name]
            if not rows:
                continue
            defaults = self.defaults[name]
            full = [{**defaults, **row} for row in rows]
            if self.pg:
                self._copy(name, full)
            else:
                self.session.execute(insert(self.tables[name]), full)
            self.counts[name] += len(rows)
            rows.clear()

    def _copy(self, name, rows):
        columns = list(self.defaults[name])
        buffer = io.StringIO()
        write = buffer.write
        for row in rows:
            write("\t".join([_pg_text(v) for v in row.values()]))
            write("\n")
        buffer.seek(0)
        raw = self.session.connection().connection.dbapi_connection
        with raw.cursor() as cursor:
            cursor.copy_expert(f'COPY "{name}" ({", ".join(columns)}) FROM STDIN', buffer)


def _pg_text(value):
    if value is None:
        return "\\N"
    kind = type(value)
    if kind is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            value = value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        return value
    if kind is bool:
        return "t" if value else "f"
    return str(value)


class Generator:
    def __init__(self, customers, loans, seed, as_of, progress=None):
        if customers < 1 or loans < 0:
            raise DomainError("客户数须至少为 1，贷款数不能为负数")
        self.n_customers, self.n_loans, self.seed, self.as_of = customers, loans, seed, as_of
        self.rng = random.Random(seed)
        from faker import Faker

        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.progress = progress or (lambda message: None)
        self.summary = Summary()
        self.counters = {}
        self.ids = {}
        self.flows = {}          # date → net cash into the bank account (for the capital voucher)
        self.used_ids = set()
        self.used_codes = set()

    # -- small helpers ---------------------------------------------------------------------
    def next_id(self, table):
        self.ids[table] += 1
        return self.ids[table]

    def number(self, prefix, on):
        key = (prefix, f"{on:%Y%m%d}")
        value = self.counters.get(key, 0) + 1
        self.counters[key] = value
        return f"{prefix}{key[1]}{value:04d}"

    def stamp(self, on, seq):
        """A deterministic time of day on ``on`` (office hours)."""
        minutes = 8 * 60 + 30 + (seq * 7919) % (9 * 60)
        return datetime(on.year, on.month, on.day, minutes // 60, minutes % 60, (seq * 31) % 60)

    def mobile(self):
        return self.rng.choice(data.MOBILE_PREFIXES) + f"{self.rng.randrange(10 ** 8):08d}"

    def account_no(self):
        return "62" + "".join(str(self.rng.randrange(10)) for _ in range(17))

    def id_number(self, area, on, min_age=22, max_age=65):
        while True:
            born = on - timedelta(days=self.rng.randint(min_age * 365 + 5, max_age * 365))
            body = f"{area}{born:%Y%m%d}{self.rng.randrange(1000):03d}"
            number = complete_id_number(body)
            if number not in self.used_ids:
                self.used_ids.add(number)
                return normalize_id_number(number)

    def credit_code(self, area, kind_prefix):
        while True:
            org = "".join(self.rng.choice(_ORG_ALPHABET) for _ in range(9))
            code = complete_credit_code(f"{kind_prefix}{area}{org}")
            if code not in self.used_codes:
                self.used_codes.add(code)
                return normalize_credit_code(code)

    def area(self, branch):
        if self.rng.random() < 0.65:
            return branch["area"]
        return self.rng.choice(self.area_codes)

    def address(self, branch):
        return (f"{branch['city']}{branch['district']}{self.rng.choice(self.streets)}"
                f"{self.rng.randint(1, 300)}号{self.rng.randint(1, 30)}栋{self.rng.randint(1, 28)}0{self.rng.randint(1, 6)}室")

    # -- reference data ----------------------------------------------------------------------
    def load_reference(self):
        from app.models import FundAccount, LedgerAccount, LoanProduct, ProductFee
        from app.models.system import DictItem, DictType
        from app.services.setup import ensure_system_user

        session = db.session
        self.system_id = ensure_system_user().id
        self.bank = session.execute(select(FundAccount).where(FundAccount.kind == "bank", FundAccount.is_active)
                                    .order_by(FundAccount.id)).scalars().first()
        if self.bank is None:
            raise DomainError("没有可用的银行资金账户：请先运行 flask init")
        codes = ("1002", "1221", "1301", "4001", "6011", "6021", "6051")
        accounts = dict(session.execute(select(LedgerAccount.code, LedgerAccount.id)
                                        .where(LedgerAccount.code.in_(codes))).all())
        missing = [c for c in codes if c not in accounts]
        if missing:
            raise DomainError(f"会计科目缺失：{'、'.join(missing)}；请先运行 flask init")
        self.account = accounts
        self.bank_account_id = self.bank.ledger_account_id
        for spec in data.EXTRA_PRODUCTS:
            if session.execute(select(LoanProduct.id).where(LoanProduct.code == spec["code"])).first() is None:
                session.add(LoanProduct(**{k: (Decimal(v) if k.endswith(("_amount", "_rate")) else v)
                                           for k, v in spec.items()}))
        session.flush()
        self.products = {}
        for product in session.execute(select(LoanProduct).where(LoanProduct.code.in_(list(data.PRODUCT_TERMS)))
                                       ).scalars():
            fees = session.execute(select(ProductFee).where(ProductFee.product_id == product.id)
                                   .order_by(ProductFee.id)).scalars().all()
            self.products[product.code] = {
                "id": product.id, "code": product.code, "period": product.period,
                "interest_by_days": product.interest_by_days, "day_basis": int(product.day_basis),
                "rounding": product.rounding, "markup": Decimal(product.penalty_markup_pct),
                "grace": int(product.grace_days or 0), "fixed_day_allowed": product.fixed_day_allowed,
                "fees": [(f.fee_type, f.basis, Decimal(f.value), f.timing, f.account) for f in fees
                         if f.timing in ("at_application", "at_disbursement") and f.account == "income"]}
        missing = [c for c in data.PRODUCT_TERMS if c not in self.products]
        if missing:
            raise DomainError(f"贷款产品缺失：{'、'.join(missing)}；请先运行 flask init")
        self.fee_labels = dict(session.execute(
            select(DictItem.code, DictItem.label).join(DictType).where(DictType.code == "fee_type")).all())
        from faker.providers.ssn.zh_CN import Provider as SsnProvider

        self.area_codes = [c for c in SsnProvider.area_codes if not c.endswith("00") and c[:2] not in ("71", "81", "82")]
        self.streets = sorted({self.fake.street_name() for _ in range(400)})
        self.jobs = sorted({self.fake.job() for _ in range(300)})
        self.companies = sorted({self.fake.company() for _ in range(600)})
        from app.models import (Collateral, Customer, Disbursement, Guarantor, Installment, JournalLine, Loan,
                                LoanFee, LoanStatusChange, Voucher)
        from app.models.servicing import Repayment, RepaymentLine

        for model in (Customer, Loan, Installment, LoanFee, Guarantor, Collateral, Voucher, JournalLine,
                      Disbursement, Repayment, RepaymentLine, LoanStatusChange):
            self.ids[model.__tablename__] = session.execute(select(func.max(model.id))).scalar() or 0

    # -- organisation ------------------------------------------------------------------------
    def create_org(self):
        from app.models import AppUser, Branch, Department, Position
        from app.security import ROLE_NAMES
        from flask import current_app
        from werkzeug.security import generate_password_hash

        session = db.session
        if session.execute(select(Branch.id).where(Branch.code == data.BRANCHES[0][0])).first():
            raise DomainError("数据库中已有生成的演示组合：请在新初始化的数据库上生成")
        head = session.execute(select(Branch).where(Branch.parent_id.is_(None)).order_by(Branch.id)).scalars().first()
        position = session.execute(select(Position.id).where(Position.code == "loan_officer")).scalar()
        sm = current_app.appbuilder.sm
        role = sm.find_role(ROLE_NAMES["LoanOfficer"])
        # One hash of a random password for every generated officer (nobody can sign in as
        # one until an admin resets it; hashing is slow on purpose): the one value that
        # differs between two runs with the same seed.
        password = generate_password_hash(secrets.token_urlsafe(24), method="pbkdf2:sha256:1000", salt_length=8)
        opened = self.as_of - timedelta(days=365 * YEARS + 120)
        self.branches = []
        per_branch = max(2, self.n_loans // (1000 * len(data.BRANCHES)) + 1)
        users = []
        for order, (code, name, city, district, area, plate, province) in enumerate(data.BRANCHES, 1):
            branch_id = session.execute(insert(Branch.__table__).values(
                code=code, name=name, parent_id=head.id if head else None,
                address=f"{city}{district}{self.rng.choice(self.streets)}{self.rng.randint(1, 200)}号",
                phone=f"0{self.rng.randint(10, 99)}-{self.rng.randrange(10 ** 7, 10 ** 8)}",
                manager_name=self.fake.name(), sort_order=100 + order, is_active=True)
                .returning(Branch.__table__.c.id)).scalar_one()
            department_id = session.execute(insert(Department.__table__).values(
                code=f"{code}-BIZ", name="业务部", branch_id=branch_id, sort_order=0, is_active=True)
                .returning(Department.__table__.c.id)).scalar_one()
            branch = {"id": branch_id, "code": code, "name": name, "city": city, "district": district,
                      "area": area, "plate": plate, "province": province, "officers": []}
            self.branches.append(branch)
            for n in range(per_branch):
                family, given = self.fake.last_name(), self.fake.first_name()
                username = f"{code.lower()}_officer{n + 1:02d}"
                users.append((branch, dict(
                    first_name=given, last_name=family, username=username, password=password, active=True,
                    email=f"{username}@example.com", login_count=0, fail_login_count=0,
                    created_on=opened, changed_on=opened, created_by_fk=self.system_id,
                    changed_by_fk=self.system_id, real_name=f"{family}{given}", mobile=self.mobile(),
                    branch_id=branch_id, department_id=department_id, position_id=position,
                    must_change_password=True)))
        table = AppUser.__table__
        for branch, row in users:
            user_id = session.execute(insert(table).values(**row).returning(table.c.id)).scalar_one()
            branch["officers"].append(user_id)
            if role is not None:
                session.execute(insert(db.metadata.tables["ab_user_role"]).values(user_id=user_id, role_id=role.id))
        session.flush()
        self.summary.counts["officers"] = len(users)

    # -- plan: who borrows what, when -------------------------------------------------------
    def plan(self):
        rng = self.rng
        first = self.as_of - timedelta(days=365 * YEARS)
        span = (self.as_of - first).days
        kinds = [_weighted(rng, data.CUSTOMER_KINDS) for _ in range(self.n_customers)]
        branch_of = [rng.randrange(len(self.branches)) for _ in range(self.n_customers)]
        # Most customers borrow once, some several times; a few never (prospects).
        borrowers = max(1, int(self.n_customers * 0.9))
        owners = [n % borrowers if n < borrowers else rng.randrange(borrowers) for n in range(self.n_loans)]
        rng.shuffle(owners)
        plans = []
        for n in range(self.n_loans):
            customer = owners[n]
            kind = kinds[customer]
            code = _weighted(rng, data.PRODUCT_MIX[kind])
            spec = data.PRODUCT_TERMS[code]
            method = _weighted(rng, spec["methods"])
            term = _weighted(rng, spec["quarters"] if method == "quarterly_interest" else spec["terms"])
            low, high = spec["amount"]
            amount = Decimal(int((low + (high - low) * rng.random() ** 3) // 1000 * 1000) or low)
            rate_low, rate_high = Decimal(spec["rate"][0]), Decimal(spec["rate"][1])
            steps = int((rate_high - rate_low) * 2)
            rate = rate_low + Decimal(rng.randint(0, steps)) / 2
            pipeline = rng.random() < PIPELINE_SHARE
            if pipeline:
                start = self.as_of + timedelta(days=rng.randint(3, 30))
            else:
                start = first + timedelta(days=rng.randrange(span))
            fixed_day = None
            product = self.products[code]
            if product["fixed_day_allowed"] and product["period"] == "month" and method != "quarterly_interest" \
                    and rng.random() < 0.2:
                fixed_day = rng.choice((5, 10, 15, 20, 25))
            stops = not pipeline and rng.random() < DEFAULT_SHARE
            overdue = None
            if stops:
                lo, hi = _weighted(rng, [((a, b), w) for a, b, w in data.OVERDUE_BUCKETS])
                overdue = rng.randint(lo, hi)
            plans.append(dict(n=n, customer=customer, product=code, method=method, term=term, amount=amount,
                              rate=rate, start=start, fixed_day=fixed_day, pipeline=pipeline, overdue=overdue,
                              guarantee=_weighted(rng, spec["guarantee"]),
                              purpose=_weighted(rng, data.PURPOSES[kind])))
        plans.sort(key=lambda p: (p["start"], p["n"]))
        first_loan = {}
        for plan in plans:
            first_loan.setdefault(plan["customer"], plan["start"])
        self.kinds, self.branch_of, self.first_loan, self.plans = kinds, branch_of, first_loan, plans

    # -- customers ---------------------------------------------------------------------------
    def write_customers(self, writer):
        rng, fake = self.rng, self.fake
        earliest = self.as_of - timedelta(days=365 * YEARS + 90)
        records = []
        for n in range(self.n_customers):
            kind = self.kinds[n]
            branch = self.branches[self.branch_of[n]]
            officer = rng.choice(branch["officers"])
            first = self.first_loan.get(n)
            if first is not None:
                created = min(first, self.as_of) - timedelta(days=rng.randint(30, 90))
            else:
                created = earliest + timedelta(days=rng.randrange((self.as_of - earliest).days))
            customer_id = self.next_id("customer")
            row = dict(id=customer_id, customer_no=self.number("KH", created), kind=kind,
                       status="active", source=_weighted(rng, data.SOURCES), branch_id=branch["id"],
                       officer_id=officer, is_blacklisted=False, mobile=self.mobile(),
                       created_at=self.stamp(created, customer_id), updated_at=self.stamp(created, customer_id),
                       created_by_id=officer, version=1, owns_house=False, owns_car=False)
            bank = rng.choice(data.BANKS)
            if kind in ("person", "sole_trader"):
                name = fake.name()
                number = self.id_number(self.area(branch), created)
                row.update(name=name, id_number=number, gender="male" if int(number[16]) % 2 else "female",
                           birth_date=date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
                           address=self.address(branch), household_address=self.address(branch),
                           marital_status=_weighted(rng, data.MARITAL), education=_weighted(rng, data.EDUCATION),
                           dependants=rng.randint(0, 3))
                if row["marital_status"] == "married":
                    row.update(spouse_name=fake.name(), spouse_mobile=self.mobile())
                income = Decimal(rng.randrange(4000, 60000, 500))
                row.update(monthly_income=income, family_annual_income=income * 12 * Decimal("1.6"))
                if rng.random() < 0.55:
                    row.update(owns_house=True, house_value=Decimal(rng.randrange(60, 900)) * 10000)
                if rng.random() < 0.4:
                    row.update(owns_car=True, car_value=Decimal(rng.randrange(5, 60)) * 10000)
                account_name = name
                if kind == "person":
                    row.update(employer=f"{branch['city'][:-1]}{rng.choice(self.companies)}",
                               job_title=rng.choice(self.jobs), years_employed=rng.randint(1, 25))
                else:
                    industry = _weighted(rng, data.INDUSTRIES)
                    street = rng.choice(self.streets)
                    row.update(business_name=f"{branch['city'][:-1]}{branch['district']}{street[:2]}{name}"
                                             f"{data.TRADE_NAMES[industry]}",
                               credit_code=self.credit_code(branch["area"], "92"), industry=industry,
                               business_address=self.address(branch), business_scope=data.SCOPES[industry],
                               employees=rng.randint(1, 9), annual_revenue=Decimal(rng.randrange(20, 500)) * 10000,
                               founded_on=created - timedelta(days=rng.randint(200, 4000)))
            else:
                industry = _weighted(rng, data.INDUSTRIES)
                name = f"{branch['city'][:-1]}{rng.choice(self.companies)}"
                legal = fake.name()
                row.update(name=name, credit_code=self.credit_code(branch["area"], "91"), business_name=name,
                           legal_rep_name=legal, legal_rep_id_number=self.id_number(self.area(branch), created, 28, 65),
                           registered_capital=Decimal(rng.choice((50, 100, 200, 300, 500, 1000, 2000))) * 10000,
                           founded_on=created - timedelta(days=rng.randint(365, 7000)), industry=industry,
                           address=self.address(branch), business_address=self.address(branch),
                           business_scope=data.SCOPES[industry], employees=rng.randint(5, 300),
                           annual_revenue=Decimal(rng.randrange(100, 20000)) * 10000, contact_name=legal)
                account_name = name
            row.update(bank_name=f"{bank}{branch['city'][:-1]}{branch['district']}支行",
                       bank_account_name=account_name, bank_account_no=self.account_no())
            writer.add("customer", row)
            records.append((customer_id, row["name"], row.get("id_number") or row["credit_code"], branch, officer,
                            row["bank_name"], row["bank_account_no"], kind))
            if len(writer.rows["customer"]) >= 5000:
                writer.flush()
        writer.flush()
        db.session.commit()
        self.customers = records
        self.summary.customers = self.n_customers

    # -- loans -------------------------------------------------------------------------------
    def write_loans(self, writer):
        total = len(self.plans)
        started = time.perf_counter()
        for index, plan in enumerate(self.plans, 1):
            self.write_loan(writer, plan)
            if index % CHUNK == 0 or index == total:
                writer.flush()
                db.session.commit()
                self.progress(f"  贷款 {index:,}/{total:,}（{time.perf_counter() - started:.0f}s）")

    def terms(self, plan):
        product = self.products[plan["product"]]
        return LoanTerms(principal=plan["amount"], annual_rate=plan["rate"], term=plan["term"], method=plan["method"],
                         start_date=plan["start"], period=product["period"], day_basis=product["day_basis"],
                         interest_by_days=product["interest_by_days"], rounding=product["rounding"],
                         fixed_day=plan["fixed_day"])

    def write_loan(self, w, plan):
        from app.domain.cost import schedule_cost_rate
        from app.services.schedule_preview import periods_per_year

        rng = self.rng
        customer_id, customer_name, _identifier, branch, officer, bank_name, account_no, kind = \
            self.customers[plan["customer"]]
        product = self.products[plan["product"]]
        terms = self.terms(plan)
        rows = generate_schedule(terms)
        start, amount, loan_id = plan["start"], plan["amount"], self.next_id("loan")
        created = start - timedelta(days=rng.randint(5, 25)) if not plan["pipeline"] else \
            self.as_of - timedelta(days=rng.randint(0, 20))
        loan_no = self.number("DK", created)
        fees = [(fee_type, basis, value, timing, account, fee_amount(basis, value, amount))
                for fee_type, basis, value, timing, account in product["fees"]]
        fees = [fee for fee in fees if fee[5] > 0]
        try:
            cost = schedule_cost_rate(rows, amount, sum((f[5] for f in fees), ZERO), periods_per_year(terms, rows))
        except DomainError:
            cost = None
        loan = dict(id=loan_id, loan_no=loan_no, customer_id=customer_id, product_id=product["id"], amount=amount,
                    term=plan["term"], annual_rate=plan["rate"], method=plan["method"], start_date=start,
                    fixed_day=plan["fixed_day"], purpose=plan["purpose"], guarantee_types=plan["guarantee"],
                    officer_id=officer, branch_id=branch["id"], status="draft", cost_rate=cost,
                    created_at=self.stamp(created, loan_id), created_by_id=officer,
                    updated_at=self.stamp(created, loan_id), extension_count=0, extended_periods=0, version=1,
                    overdue_days=0, classification="normal", non_accrual=False)
        w.add("loan", loan)
        self.summary.loans += 1
        self.write_guarantees(w, plan, loan_id, branch, customer_name, kind, created)
        fee_ids = []
        for fee_type, basis, value, timing, account, fee in fees:
            fee_id = self.next_id("loan_fee")
            fee_ids.append((fee_id, fee_type, fee))
            w.add("loan_fee", dict(id=fee_id, loan_id=loan_id, fee_type=fee_type, basis=basis, value=value,
                                   timing=timing, account=account, amount=fee,
                                   due_on=None if plan["pipeline"] else start,
                                   paid_amount=ZERO if plan["pipeline"] else fee, refunded_amount=ZERO))
        if plan["pipeline"]:
            for row in rows:
                w.add("installment", self.installment_row(loan_id, row, id=self.next_id("installment")))
            self.summary.installments += len(rows)
            return
        loan["submitted_at"] = self.stamp(created + timedelta(days=1), loan_id)
        loan["updated_at"] = self.stamp(start, loan_id)
        self.disburse(w, plan, loan, customer_name, bank_name, account_no, fee_ids)
        self.repay(w, plan, loan, rows, customer_name)

    def write_guarantees(self, w, plan, loan_id, branch, customer_name, kind, created):
        rng, fake = self.rng, self.fake
        types = plan["guarantee"].split(",")
        if "guarantee" in types:
            for _ in range(1 if rng.random() < 0.7 else 2):
                if rng.random() < 0.2:
                    other = self.customers[rng.randrange(len(self.customers))]
                    if other[0] != self.customers[plan["customer"]][0]:
                        w.add("guarantor", dict(
                            id=self.next_id("guarantor"), loan_id=loan_id, customer_id=other[0],
                            kind="company" if other[7] == "company" else "person", name=other[1],
                            identifier=other[2], mobile=self.mobile(), mode=rng.choice(("general", "joint")),
                            guaranteed_amount=plan["amount"], period_months=rng.choice((6, 24, 36)),
                            relationship_to_borrower=rng.choice(data.RELATIONS)))
                        continue
                company = kind == "company" and rng.random() < 0.4
                w.add("guarantor", dict(
                    id=self.next_id("guarantor"), loan_id=loan_id, kind="company" if company else "person",
                    name=f"{branch['city'][:-1]}{rng.choice(self.companies)}" if company else fake.name(),
                    identifier=self.credit_code(branch["area"], "91") if company
                    else self.id_number(self.area(branch), created),
                    mobile=self.mobile(), mode=rng.choice(("general", "joint")), guaranteed_amount=plan["amount"],
                    period_months=rng.choice((6, 24, 36)),
                    relationship_to_borrower="关联企业" if company else rng.choice(data.RELATIONS)))
        for collateral_kind in ("mortgage", "pledge"):
            if collateral_kind not in types:
                continue
            ltv = Decimal(rng.randint(35, 68)) / 100
            value = max(Decimal(1000), (plan["amount"] / ltv).quantize(Decimal(1000)))
            row = dict(id=self.next_id("collateral"), loan_id=loan_id, kind=collateral_kind,
                       owner_name=customer_name, owner_relation="本人", appraised_value=value,
                       appraisal_date=created - timedelta(days=rng.randint(1, 20)), ltv_pct=ltv_pct(plan["amount"], value))
            year = (created - timedelta(days=rng.randint(200, 3000))).year
            if collateral_kind == "pledge":
                bank = rng.choice(data.BANKS)
                row.update(collateral_type="deposit_receipt", name=f"{bank}定期存单", appraisal_method="存单面值",
                           certificate_no=f"CD{rng.randrange(10 ** 11, 10 ** 12)}", custodian="本公司财务部")
            elif kind == "company" and rng.random() < 0.3:
                row.update(collateral_type="equipment", name=f"{rng.choice(('数控机床', '生产线设备', '工程机械'))}一批",
                           appraisal_method="成本法", certificate_no=f"DY{year}{rng.randrange(10 ** 6):06d}",
                           registry=f"{branch['city']}市场监督管理局", registration_date=created)
            elif rng.random() < 0.25:
                plate = branch["plate"] + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(5))
                row.update(collateral_type="vehicle", name=f"{rng.choice(('大众', '丰田', '本田', '比亚迪', '别克'))}小型轿车",
                           appraisal_method="市场比较法", vehicle_plate=plate,
                           vehicle_vin="".join(rng.choice(_VIN_ALPHABET) for _ in range(17)),
                           vehicle_engine_no=f"{rng.randrange(10 ** 8, 10 ** 9)}",
                           registry=f"{branch['city']}公安局交通管理局车辆管理所", registration_date=created)
            else:
                address = self.address(branch)
                row.update(collateral_type="house", name=f"{address} 住宅", appraisal_method="市场比较法",
                           house_address=address, house_area=Decimal(rng.randint(4500, 18000)) / 100,
                           certificate_no=f"{branch['province']}({year}){branch['district']}不动产权第"
                                          f"{rng.randrange(10 ** 7):07d}号",
                           registry=f"{branch['city']}{branch['district']}不动产登记中心", registration_date=created)
            w.add("collateral", row)

    @staticmethod
    def installment_row(loan_id, row, **paid):
        values = dict(loan_id=loan_id, seq=row.seq, start_date=row.start_date, due_date=row.due_date,
                      principal=row.principal, interest=row.interest, total=row.total, balance=row.balance,
                      principal_paid=ZERO, interest_paid=ZERO, interest_waived=ZERO, penalty=ZERO, penalty_paid=ZERO,
                      compound=ZERO, compound_paid=ZERO, compound_waived=ZERO, penalty_waived=ZERO,
                      interest_accrued=ZERO, overdue_days=0, penalty_pending=ZERO, compound_pending=ZERO)
        values.update(paid)
        return values

    def voucher(self, w, on, description, source_type, loan_id, lines, seq):
        """One balanced voucher; ``lines`` = [(account code, debit, credit, memo, loan_id, fund)]."""
        voucher_id = self.next_id("voucher")
        debit = sum((line[1] for line in lines), ZERO)
        credit = sum((line[2] for line in lines), ZERO)
        if debit != credit or any((dr > 0) == (cr > 0) for _c, dr, cr, *_rest in lines):
            raise DomainError(f"生成的凭证不平衡或有零金额分录：{description} {lines}")
        w.add("voucher", dict(id=voucher_id, voucher_no=self.number("PZ", on), business_date=on,
                              description=description[:200], source_type=source_type, source_id=loan_id,
                              created_by_id=self.system_id, created_at=self.stamp(on, seq)))
        for code, dr, cr, memo, line_loan, fund in lines:
            w.add("journal_line", dict(id=self.next_id("journal_line"), voucher_id=voucher_id,
                                       account_id=self.account[code], fund_account_id=self.bank.id if fund else None,
                                       loan_id=line_loan, debit=dr, credit=cr, memo=memo[:200]))
        self.summary.vouchers += 1
        self.summary.journal_lines += len(lines)
        return voucher_id

    def flow(self, on, amount):
        self.flows[on] = self.flows.get(on, ZERO) + amount

    def disburse(self, w, plan, loan, name, bank_name, account_no, fee_ids):
        start, amount, loan_id = plan["start"], plan["amount"], loan["id"]
        lines = [("1301", amount, ZERO, "贷款本金", loan_id, False),
                 ("1002", ZERO, amount, f"付 {name} {account_no}", None, True)]
        for _fee_id, fee_type, fee in fee_ids:
            label = self.fee_labels.get(fee_type, fee_type)
            lines += [("1221", fee, ZERO, "应收" + label, loan_id, False), ("6021", ZERO, fee, label, loan_id, False)]
        voucher_id = self.voucher(w, start, f"放款 {loan['loan_no']} {name}", "disbursement", loan_id, lines, loan_id)
        w.add("disbursement", dict(id=self.next_id("disbursement"), loan_id=loan_id, amount=amount,
                                   disbursed_on=start, fund_account_id=self.bank.id, receiving_bank=bank_name,
                                   receiving_account_name=name, receiving_account_no=account_no,
                                   voucher_id=voucher_id, created_by_id=self.system_id,
                                   created_at=self.stamp(start, loan_id)))
        w.add("loan_status_change", dict(id=self.next_id("loan_status_change"), loan_id=loan_id,
                                         from_status="ready_to_disburse", to_status="active",
                                         user_id=self.system_id, changed_at=self.stamp(start, loan_id),
                                         comment=f"放款 {amount:,.2f} 元"))
        self.flow(start, -amount)
        for fee_id, fee_type, fee in fee_ids:
            label = self.fee_labels.get(fee_type, fee_type)
            receipt_id = self.next_id("repayment")
            voucher_id = self.voucher(w, start, f"收{label} {loan['loan_no']} {name}", "fee", loan_id, [
                ("1002", fee, ZERO, f"收 {name} {label}", loan_id, True),
                ("1221", ZERO, fee, f"收回应收{label}", loan_id, False)], receipt_id)
            self.receipt(w, receipt_id, loan_id, "fee", fee, start, name, voucher_id,
                         [dict(loan_fee_id=fee_id, component="fee", amount=fee)])
        loan["status"] = "active"

    def receipt(self, w, receipt_id, loan_id, kind, amount, on, payer, voucher_id, lines):
        receipt_no = self.number("HK", on)
        totals = receipt_breakdown((line.get("installment_id"), line["component"], line["amount"]) for line in lines)
        w.add("repayment", dict(id=receipt_id, receipt_no=receipt_no, loan_id=loan_id, kind=kind, amount=amount,
                                **totals,
                                received_on=on, fund_account_id=self.bank.id, payer=payer,
                                idempotency_key=f"gen-{self.seed}-{receipt_id}", voucher_id=voucher_id,
                                created_by_id=self.system_id, created_at=self.stamp(on, receipt_id)))
        for line in lines:
            w.add("repayment_line", dict(id=self.next_id("repayment_line"), repayment_id=receipt_id, **line))
        self.summary.receipts += 1
        self.flow(on, amount)
        return receipt_no

    def post(self, w, loan, name, on, item_id, seq, parts):
        """A regular receipt on ``on`` paying ``parts`` {component: amount} of installment ``seq``."""
        amount = sum(parts.values(), ZERO)
        receipt_id = self.next_id("repayment")
        lines = [("1002", amount, ZERO, f"收 {name}", None, True)]
        if parts.get("principal"):
            lines.append(("1301", ZERO, parts["principal"], "收回本金", loan["id"], False))
        if parts.get("interest"):
            lines.append(("6011", ZERO, parts["interest"], "利息收入", loan["id"], False))
        for component, memo in (("penalty", "罚息"), ("compound", "复利")):
            if parts.get(component):
                lines.append(("6051", ZERO, parts[component], memo, loan["id"], False))
        voucher_id = self.voucher(w, on, f"收款 {loan['loan_no']} {name}", "repayment", loan["id"], lines, receipt_id)
        allocation = [dict(installment_id=item_id, seq=seq, component=c, amount=parts[c])
                      for c in ("penalty", "compound", "interest", "principal") if parts.get(c)]
        return self.receipt(w, receipt_id, loan["id"], "repayment", amount, on, name, voucher_id, allocation)

    def repay(self, w, plan, loan, rows, name):
        rng, as_of, product = self.rng, self.as_of, self.products[plan["product"]]
        rate, markup, basis, grace = plan["rate"], product["markup"], product["day_basis"], product["grace"]
        dues = [row.due_date for row in rows]
        past = bisect_left(dues, as_of)            # rows due before the as-of date
        missed = None
        if plan["overdue"] is not None and past:
            threshold = as_of - timedelta(days=plan["overdue"])
            missed = bisect_left(dues, threshold, 0, past)
            if missed >= past:
                missed = None   # repaid before the window: a loan that stopped paying is still open
        last_on, last_no = plan["start"], None
        for index, row in enumerate(rows):
            item_id = self.next_id("installment")
            if index >= past or (missed is not None and index > missed):
                w.add("installment", self.installment_row(loan["id"], row, id=item_id))
                continue
            if missed is not None and index == missed:
                # Stopped paying here: nothing, or part of it paid on the due date.
                if rng.random() < 0.35 and row.principal > 1:
                    share = _money(row.principal * Decimal(rng.randint(10, 80)) / 100)
                    on = row.due_date
                    if share > 0 and last_on <= on:
                        last_no = self.post(w, loan, name, on, item_id, row.seq,
                                            {"interest": row.interest, "principal": share})
                        last_on = on
                        w.add("installment", self.installment_row(
                            loan["id"], row, id=item_id, principal_paid=share, interest_paid=row.interest))
                        continue
                w.add("installment", self.installment_row(loan["id"], row, id=item_id))
                continue
            gap = ((dues[index + 1] if index + 1 < len(dues) else as_of) - row.due_date).days
            room = min(gap - 3, (as_of - row.due_date).days, 25)
            mode = rng.random()
            if mode < 0.05 and room >= 1 and row.principal >= 100:                       # two parts: on the day, the rest late
                first = _money(row.principal * Decimal(rng.randint(30, 70)) / 100)
                on = max(row.due_date, last_on)
                self.post(w, loan, name, on, item_id, row.seq, {"interest": row.interest, "principal": first})
                late = max(on, row.due_date + timedelta(days=rng.randint(1, room)))
                days = (late - row.due_date).days
                rest = row.principal - first
                penalty = penalty_interest(rest, rate, markup, days, basis, grace)
                last_no = self.post(w, loan, name, late, item_id, row.seq, {"penalty": penalty, "principal": rest})
                last_on = late
                w.add("installment", self.installment_row(
                    loan["id"], row, id=item_id, principal_paid=row.principal, interest_paid=row.interest,
                    penalty=penalty, penalty_paid=penalty, accrued_to=late if days > grace else None,
                    paid_off_on=late))
                continue
            if mode < 0.15 and room >= 1:                      # late, with 罚息 and 复利
                on = max(last_on, row.due_date + timedelta(days=rng.randint(1, room)))
            elif mode < 0.25:                                   # a few days early
                on = max(last_on, plan["start"], row.due_date - timedelta(days=rng.randint(1, 3)))
            else:
                on = max(last_on, row.due_date)
            days = (on - row.due_date).days
            penalty = penalty_interest(row.principal, rate, markup, days, basis, grace) if days > 0 else ZERO
            compound = compound_interest(row.interest, rate, markup, days, basis, grace) if days > 0 else ZERO
            last_no = self.post(w, loan, name, on, item_id, row.seq,
                                {"penalty": penalty, "compound": compound, "interest": row.interest,
                                 "principal": row.principal})
            last_on = on
            w.add("installment", self.installment_row(
                loan["id"], row, id=item_id, principal_paid=row.principal, interest_paid=row.interest,
                penalty=penalty, penalty_paid=penalty, compound=compound, compound_paid=compound,
                accrued_to=on if days > grace else None, paid_off_on=on))
        self.summary.installments += len(rows)
        if past == len(rows) and missed is None:
            loan["status"], loan["closed_on"] = "settled", last_on
            loan["updated_at"] = self.stamp(last_on, loan["id"])
            w.add("loan_status_change", dict(id=self.next_id("loan_status_change"), loan_id=loan["id"],
                                             from_status="active", to_status="settled", user_id=self.system_id,
                                             changed_at=self.stamp(last_on, loan["id"]),
                                             comment=f"最后一期还清，收款单 {last_no}"))

    # -- closing -----------------------------------------------------------------------------
    def write_capital(self, w):
        """股东缴入股金 before the first payout: enough that the bank account never runs dry."""
        if not self.flows:
            return
        balance, lowest = ZERO, ZERO
        for day in sorted(self.flows):
            balance += self.flows[day]
            lowest = min(lowest, balance)
        capital = ((-lowest / Decimal(10 ** 7)).to_integral_value(rounding="ROUND_CEILING") + 1) * 10 ** 7
        capital = Decimal(capital).quantize(CENT)
        on = min(self.flows) - timedelta(days=1)
        self.voucher(w, on, "股东缴入股金（生成的演示组合）", None, None, [
            ("1002", capital, ZERO, "股东缴入股金", None, True), ("4001", ZERO, capital, "实收资本", None, False)], 0)
        w.flush()

    def finish_numbers(self):
        """Counters (KH/DK/HK/PZ per day) continue after the generated numbers; PostgreSQL's id
        sequences continue after the generated ids."""
        from app.models import NumberSequence

        table = NumberSequence.__table__
        existing = {(p, d): v for p, d, v in db.session.execute(select(table.c.prefix, table.c.day, table.c.value))}
        fresh = []
        for (prefix, day), value in sorted(self.counters.items()):
            if (prefix, day) in existing:
                db.session.execute(table.update().where(table.c.prefix == prefix, table.c.day == day)
                                   .values(value=existing[(prefix, day)] + value))
            else:
                fresh.append(dict(prefix=prefix, day=day, value=value))
        for start in range(0, len(fresh), 5000):
            db.session.execute(insert(table), fresh[start:start + 5000])
        if db.session.get_bind().dialect.name == "postgresql":
            for name in ORDER:
                db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                                        f"coalesce((SELECT max(id) FROM \"{name}\"), 0) + 1, false)"))
        db.session.commit()

    def close_months(self):
        """期末结算 as a running company does it: the month before the as-of month is closed,
        which locks the months before it too (the first close is free). No interest accrual
        vouchers: the generated receipts book interest when it is received. The nightly batch
        then keeps the locked month ends' balances (月末余额快照)."""
        from app.models.servicing import PeriodClose

        last = self.as_of.replace(day=1) - timedelta(days=1)
        db.session.add(PeriodClose(period=f"{last:%Y-%m}", period_end=last, status="closed",
                                   report='{"note": "演示组合生成：此前各月视为已结账"}',
                                   closed_at=datetime.combine(self.as_of, datetime.min.time())))
        db.session.commit()

    def analyze(self):
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def generate(customers=60000, loans=100000, seed=42, as_of=None, run_batch=True, progress=None):
    """Generate the portfolio (see the module docstring); returns a Summary. Refuses a
    database that already holds loans (generate into a freshly initialised one)."""
    from app.models import Loan
    from app.services import settings
    from app.services.setup import act_as_system

    act_as_system()
    if db.session.execute(select(Loan.id).limit(1)).first() is not None:
        raise DomainError("数据库中已有贷款：演示组合只能生成到新初始化的数据库（flask init 之后）")
    as_of = as_of or settings.business_date()
    gen = Generator(customers, loans, seed, as_of, progress)
    summary, steps = gen.summary, gen.summary.steps
    started = time.perf_counter()

    def step(name, work):
        began = time.perf_counter()
        progress_fn = progress or (lambda message: None)
        progress_fn(f"{name} …")
        result = work()
        steps[name] = time.perf_counter() - began
        return result

    writer = _Writer(db.session)
    step("reference", lambda: (gen.load_reference(), gen.create_org(), db.session.commit()))
    step("plan", gen.plan)
    step("customers", lambda: gen.write_customers(writer))
    step("loans", lambda: gen.write_loans(writer))
    step("capital", lambda: (gen.write_capital(writer), db.session.commit()))
    step("numbers", gen.finish_numbers)
    # The rows went in by bulk insert, past ledger.post: set the stored balances from the journal.
    step("balances", lambda: (ledger.rebuild_stored_balances(), db.session.commit()))
    step("close", gen.close_months)
    step("analyze", gen.analyze)
    if run_batch:
        from app.services import batch

        def nightly():
            db.session.remove()
            batch.run(as_of, user=act_as_system(), trigger="cli")

        step("batch", nightly)
        step("analyze2", gen.analyze)
    summary.seconds = time.perf_counter() - started
    summary.counts.update({k: v for k, v in writer.counts.items()})
    return summary
