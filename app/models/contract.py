"""合同模板 and the documents generated from them."""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import relationship

# code → (Chinese name, built-in file in contract_templates/, one document per: loan / guarantor /
# mortgage / pledge, generated at: approval / disbursement / settlement / on_demand)
DOC_TYPES = {
    "loan_contract": ("借款合同", "loan_contract.docx", "loan", "approval"),
    "guarantee_contract": ("保证合同", "guarantee_contract.docx", "guarantor", "approval"),
    "mortgage_contract": ("抵押合同", "mortgage_contract.docx", "mortgage", "approval"),
    "pledge_contract": ("质押合同", "pledge_contract.docx", "pledge", "approval"),
    "repayment_schedule": ("还款计划表", "repayment_schedule.docx", "loan", "approval"),
    "iou": ("借据", "iou.docx", "loan", "disbursement"),
    "disbursement_voucher": ("放款单", "disbursement_voucher.docx", "loan", "disbursement"),
    "fee_application": ("评审费/担保费缴费申请单", "fee_application.docx", "loan", "on_demand"),
    "settlement_certificate": ("结清证明", "settlement_certificate.docx", "loan", "settlement"),
    "extension_agreement": ("展期协议", "extension_agreement.docx", "loan", "on_demand"),
}


class ContractTemplate(Model):
    __tablename__ = "contract_template"
    id = Column(Integer, primary_key=True)
    doc_type = Column(String(40), nullable=False, index=True)
    name = Column(String(100), nullable=False)
    product_id = Column(Integer, ForeignKey("loan_product.id"), index=True)
    product = relationship("LoanProduct")
    version = Column(Integer, nullable=False, default=1)
    is_active = Column(Boolean, nullable=False, default=True)
    # Either a file shipped in contract_templates/ or an uploaded one (an Attachment).
    builtin_file = Column(String(100))
    attachment_id = Column(Integer, ForeignKey("attachment.id"))
    attachment = relationship("Attachment")
    remarks = Column(Text)
    created_at = Column(DateTime, default=datetime.now, nullable=False)

    @property
    def doc_type_label(self):
        return DOC_TYPES.get(self.doc_type, (self.doc_type,))[0]

    def __str__(self):
        return f"{self.name} v{self.version}"


class GeneratedDocument(Model):
    """A document generated for a loan; regenerating adds a row, the earlier one stays."""

    __tablename__ = "generated_document"
    id = Column(Integer, primary_key=True)
    loan_id = Column(Integer, ForeignKey("loan.id"), nullable=False, index=True)
    loan = relationship("Loan")
    doc_type = Column(String(40), nullable=False)
    template_id = Column(Integer, ForeignKey("contract_template.id"), nullable=False)
    template = relationship("ContractTemplate")
    template_version = Column(Integer, nullable=False)
    contract_no = Column(String(40), nullable=False, unique=True)
    guarantor_id = Column(Integer, ForeignKey("guarantor.id"))
    collateral_id = Column(Integer, ForeignKey("collateral.id"))
    attachment_id = Column(Integer, ForeignKey("attachment.id"), nullable=False)
    attachment = relationship("Attachment")
    created_at = Column(DateTime, default=datetime.now, nullable=False)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"))
    created_by = relationship("AppUser")

    @property
    def doc_type_label(self):
        return DOC_TYPES.get(self.doc_type, (self.doc_type,))[0]
