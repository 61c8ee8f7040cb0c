"""Pure business rules: no Flask, no SQLAlchemy. See docs/architecture.md."""
