"""All models, imported here so that Model.metadata (and Alembic) sees every table."""
from .org import Branch, Department, Position  # noqa: F401
from .user import AppUser  # noqa: F401
from .system import AuditLog, DictItem, DictType, LprRate, MenuOverride, Setting  # noqa: F401
from .attachment import Attachment  # noqa: F401
from .system import NumberSequence  # noqa: F401
from .customer import (  # noqa: F401
    Bank, BlacklistEntry, Counterparty, Customer, CustomerVisit, FieldInvestigation, Intermediary,
    MaterialRequirement, RelatedParty, RelatedPerson, VisitFollowUp,
)
from .product import LoanProduct, ProductFee, ProductLtv  # noqa: F401
from .loan import (  # noqa: F401
    Collateral, Guarantor, Installment, Loan, LoanFee, LoanGrant, LoanStatusChange,
)
from .workflow import (  # noqa: F401
    ApprovalRecord, Notification, Workflow, WorkflowInstance, WorkflowStep, WorkflowTask,
)
from .contract import ContractTemplate, GeneratedDocument  # noqa: F401
from .finance import FundAccount, JournalLine, LedgerAccount, LoanMonthBalance, MonthEndSnapshot, MonthFundFlow, Voucher  # noqa: F401
from .servicing import (  # noqa: F401
    Disbursement, GuarantorConsent, PeriodClose, Repayment, RepaymentLine, ScheduleRevision, ServicingRequest,
)
from . import risk, rating, credit_line, post_loan  # noqa: F401,E402  (risk management, issue #9)
from . import messages  # noqa: F401,E402  (message center, issue #10)
from . import archive, reports  # noqa: F401,E402  (archive #12, reports #11)
