"""我的首页: the page every user lands on after login."""
from flask import g, redirect
from flask_appbuilder import IndexView, expose

from app.services import settings
from app.services.home import home_sections


class HomeIndexView(IndexView):
    index_template = "microloan/home.html"

    @expose("/")
    def index(self):
        user = g.get("user")
        if user is None or not user.is_authenticated:
            return redirect(self.appbuilder.get_url_for_login)
        self.update_redirect()
        return self.render_template(
            self.index_template, appbuilder=self.appbuilder, user=user,
            business_date=settings.business_date(), sections=home_sections(user))
