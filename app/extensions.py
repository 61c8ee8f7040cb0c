"""Extension objects shared by the app; bound to an app in app.factory.create_app."""
from flask_appbuilder.models.sqla import Model
from flask_appbuilder.utils.legacy import get_sqla_class
from flask_mail import Mail
from flask_migrate import Migrate

# FAB 5 no longer exports SQLA; build it on FAB's Model metadata so Alembic sees every table.
db = get_sqla_class()(metadata=Model.metadata)
migrate = Migrate()
mail = Mail()
