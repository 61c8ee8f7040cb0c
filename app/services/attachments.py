"""附件管理: store uploads outside static/, keep the original (Chinese) name, check type.

The type is checked twice: the extension must be on the allow-list, and for binary types
the content must really be of that type (``filetype`` reads the magic bytes), so a renamed
executable is refused.
"""
import hashlib
import os
import uuid

import filetype
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Attachment

# Extensions whose content filetype can recognise, and what it must find.
_BINARY_KINDS = {
    "pdf": {"pdf"}, "jpg": {"jpg"}, "jpeg": {"jpg"}, "png": {"png"}, "gif": {"gif"},
    "bmp": {"bmp"}, "docx": {"docx", "zip"}, "xlsx": {"xlsx", "zip"}, "zip": {"zip"},
    "doc": {"doc"}, "xls": {"xls"},
}
_MIME = {
    "pdf": "application/pdf", "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png",
    "gif": "image/gif", "bmp": "image/bmp", "txt": "text/plain; charset=utf-8",
    "doc": "application/msword", "xls": "application/vnd.ms-excel", "zip": "application/zip",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _extension(name):
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def clean_name(name):
    """The user's file name without any directory part (no path traversal), kept in Chinese."""
    name = (name or "").replace("\\", "/").split("/")[-1].strip().replace("\x00", "")
    return name[:255]


def check_content(name, data):
    """Raise DomainError unless the extension is allowed and the bytes match it."""
    ext = _extension(name)
    allowed = current_app.config["UPLOAD_ALLOWED_EXTENSIONS"]
    if ext not in allowed:
        raise DomainError(
            f"不支持的文件类型“.{ext or '无扩展名'}”。允许的类型：{'、'.join(allowed)}", "file")
    if not data:
        raise DomainError("文件是空的，请重新选择文件", "file")
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if len(data) > limit:
        raise DomainError(f"文件超过大小上限 {limit // (1024 * 1024)} MB", "file")
    if ext in _BINARY_KINDS:
        kind = filetype.guess(data)
        if kind is None or kind.extension not in _BINARY_KINDS[ext]:
            raise DomainError(f"文件内容与扩展名 .{ext} 不符，请上传真实的 {ext.upper()} 文件", "file")
    elif ext == "txt":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise DomainError("文本文件须为 UTF-8 编码", "file")
    return ext


def save(file_name, data, owner_type, owner_id, user, doc_type=None, branch_id=None, remarks=None, commit=True):
    """Validate and store one upload; returns the Attachment, committed unless ``commit`` is
    False (then the caller's transaction decides, and the file goes if it rolls back)."""
    name = clean_name(file_name)
    if not name:
        raise DomainError("请选择要上传的文件", "file")
    if not owner_type or not owner_id:
        raise DomainError("附件必须关联到一条记录", "owner_id")
    ext = check_content(name, data)
    stored = f"{uuid.uuid4().hex}.{ext}"
    folder = current_app.config["UPLOAD_FOLDER"]
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, stored)
    with open(path, "wb") as fh:
        fh.write(data)
    attachment = Attachment(
        owner_type=owner_type, owner_id=int(owner_id), doc_type=doc_type or None,
        original_name=name, stored_name=stored, size=len(data), mime_type=_MIME.get(ext, "application/octet-stream"),
        sha256=hashlib.sha256(data).hexdigest(), branch_id=branch_id or getattr(user, "branch_id", None),
        uploaded_by_id=getattr(user, "id", None), remarks=remarks,
    )
    try:
        db.session.add(attachment)
        if commit:
            db.session.commit()
        else:
            db.session.flush()
            _remove_file_on_rollback(path)
    except Exception:
        db.session.rollback()
        os.remove(path)  # nothing half-saved: no file without its row
        raise
    return attachment


def _remove_file_on_rollback(path):
    """The file of an uncommitted row goes away if the caller's transaction rolls back."""
    db.session().info.setdefault("pending_files", []).append(path)


@event.listens_for(Session, "after_commit")
def _files_committed(session):
    session.info.pop("pending_files", None)


@event.listens_for(Session, "after_soft_rollback")
def _files_rolled_back(session, previous_transaction):
    if previous_transaction.nested:
        return  # a savepoint: the outer transaction may still commit
    for path in session.info.pop("pending_files", []):
        if os.path.exists(path):
            os.remove(path)


def path_of(attachment):
    return os.path.join(current_app.config["UPLOAD_FOLDER"], attachment.stored_name)


def for_owner(owner_type, owner_id):
    return db.session.query(Attachment).filter_by(owner_type=owner_type, owner_id=owner_id) \
        .order_by(Attachment.uploaded_at.desc()).all()


# owner_type → (Chinese label, model, function giving the owner's branch id). Later modules
# register their own (customer, loan, investigation …) with ``register_owner``.
OWNERS = {}


def register_owner(owner_type, label, model, branch_of):
    OWNERS[owner_type] = (label, model, branch_of)


def resolve_owner(owner_type, owner_id):
    """(owner row, its branch id) or DomainError when the type or the row is unknown."""
    if owner_type not in OWNERS:
        raise DomainError(f"未知的附件归属类型：{owner_type}", "owner_type")
    label, model, branch_of = OWNERS[owner_type]
    try:
        owner = db.session.get(model, int(owner_id))
    except (TypeError, ValueError):
        owner = None
    if owner is None:
        raise DomainError(f"{label}（编号 {owner_id}）不存在", "owner_id")
    return owner, branch_of(owner)


def _register_builtin_owners():
    from app.models import Branch

    register_owner("branch", "机构", Branch, lambda branch: branch.id)


_register_builtin_owners()
