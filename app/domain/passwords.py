"""Password policy for users created or changed in the UI (the CLI is not checked by FAB)."""
import re

MIN_LENGTH = 8


def password_problems(password):
    """Return a list of Chinese messages, empty when the password is acceptable."""
    problems = []
    password = password or ""
    if len(password) < MIN_LENGTH:
        problems.append(f"密码至少 {MIN_LENGTH} 位")
    if not re.search(r"[A-Za-z]", password):
        problems.append("密码须包含字母")
    if not re.search(r"\d", password):
        problems.append("密码须包含数字")
    if not re.search(r"[^A-Za-z0-9]", password):
        problems.append("密码须包含至少一个符号（如 ! @ # $）")
    return problems
