"""MicroLoan (小额贷款业务管理系统).

Importing this package must stay cheap and free of Flask, so that the pure domain code in
``app.domain`` can be imported (and tested) without a web stack.
"""


def create_app(config_name=None, **overrides):
    from .factory import create_app as _create_app

    return _create_app(config_name, **overrides)
