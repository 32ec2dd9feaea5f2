"""The production entry point, `gunicorn -c dashboard/gunicorn.conf.py dashboard.wsgi:server`
(`make serve-prod`). Each worker process imports this after it is forked, so no database or
great-expectations state ever crosses a fork."""

from dashboard.app import create_app
from pipelines import notify, uploads
from pipelines.declaration import registry

app = create_app()
server = app.server
uploads.start_drainer(registry.get())
notify.start(registry.get())
