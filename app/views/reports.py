"""Views of reports (issue #11), registered from app/views/__init__.py."""


def register_views(appbuilder):
    """Add this module's views and menu entries."""
