"""Shared base for our ModelViews."""
from flask_appbuilder import ModelView


class AppModelView(ModelView):
    """ModelView with a modest page size (lists stay fast on big tables).

    FAB flashes any exception raised in ``pre_add``/``pre_update``/``pre_delete`` and saves
    nothing, so a service's DomainError (a Chinese message) reaches the user as is.
    """

    page_size = 20
