"""Development server: ``python run.py`` or ``flask --app run run``.

Production: ``gunicorn -w 4 -b 0.0.0.0:8000 "app:create_app()"`` behind a proxy, with
DATABASE_URL pointing at PostgreSQL and REDIS_URL at Redis.
"""
import os

from app import create_app

app = create_app()

if __name__ == "__main__":
    app.run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "5000")))
