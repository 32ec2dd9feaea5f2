"""E-mail notices and reminders: to partners when a version of theirs is loaded, returned or
approved, before a quarter's workbook is due and while it is overdue; a weekly digest to managers.

due.py works out what is due on a day, texts.py words it in the recipient's language, smtp.py
sends it through the server the environment names, outbox.py sends each message once ever and
server.py is the server's daily mailer; `mvh remind` runs the same from the command line (cron).
Pages call `notify.soon()` after a load or a decision, and show `notify.configured()`.
"""

from pipelines.notify.server import soon, start
from pipelines.notify.smtp import configured

__all__ = ["configured", "soon", "start"]
