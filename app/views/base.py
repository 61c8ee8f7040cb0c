"""Shared base for our ModelViews."""
from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface


class AppModelView(ModelView):
    """ModelView with a modest page size (lists stay fast on big tables).

    FAB flashes any exception raised in ``pre_add``/``pre_update``/``pre_delete`` and saves
    nothing, so a service's DomainError (a Chinese message) reaches the user as is.
    """

    page_size = 20


class AppInterface(SQLAInterface):
    """FAB's SQLAlchemy interface, except that a NOT NULL boolean is not "required":
    FAB would otherwise refuse an unticked checkbox (an unticked box means False)."""

    def is_nullable(self, col_name):
        if self.is_boolean(col_name):
            return True
        return super().is_nullable(col_name)
