"""Sending e-mail through the SMTP server the environment names; without one nothing is sent.

Only the environment configures it, so that no password is ever kept in a file of the monitor:
MVH_SMTP_HOST, MVH_SMTP_PORT (default 587 with STARTTLS, else 25), MVH_SMTP_USER and
MVH_SMTP_PASSWORD (a login when a user is given), MVH_SMTP_STARTTLS (true or false, default true)
and MVH_MAIL_FROM (the sender, e.g. "MVH monitor <monitor@example.org>"). A run opens one
connection, at its first message, with a timeout: a server that does not answer fails the run,
never hangs it.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from contextlib import suppress
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

TIMEOUT = 30  # seconds for connecting and each answer of the server
SWITCHES = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


class MailError(Exception):
    """The mail server cannot be used (not configured, unreachable, login refused): the run stops."""


class NotConfigured(MailError):
    """E-mail is not configured; the message says which setting is missing or wrong, `settings`
    names them (for a page that says it in its reader's language)."""

    def __init__(self, message: str, *settings: str) -> None:
        super().__init__(message)
        self.settings = settings


class Refused(Exception):
    """The server refused one message (e.g. its recipient); the others may still go."""


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    user: str | None
    password: str | None
    starttls: bool
    sender: str  # the From header, maybe with a name


def settings() -> Settings:
    """The SMTP settings of the environment; NotConfigured, saying what to set, when incomplete."""
    env = os.environ
    host, sender = env.get("MVH_SMTP_HOST", "").strip(), env.get("MVH_MAIL_FROM", "").strip()
    if not host or not sender:
        missing = [n for n, v in (("MVH_SMTP_HOST", host), ("MVH_MAIL_FROM", sender)) if not v]
        raise NotConfigured(f"E-mail is not configured: set {' and '.join(missing)} (see the README's "
                            "E-mail notifications); no notice or reminder is sent.", *missing)
    if "@" not in parseaddr(sender)[1]:
        raise NotConfigured(f"E-mail is not configured: MVH_MAIL_FROM {sender!r} is not an e-mail "
                            "address (write it as monitor@example.org).", "MVH_MAIL_FROM")
    switch = env.get("MVH_SMTP_STARTTLS", "true").strip().lower()
    if switch not in SWITCHES:
        raise NotConfigured(f"E-mail is not configured: MVH_SMTP_STARTTLS is {switch!r}; use true or false.",
                            "MVH_SMTP_STARTTLS")
    port = env.get("MVH_SMTP_PORT", "").strip() or ("587" if SWITCHES[switch] else "25")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise NotConfigured(f"E-mail is not configured: MVH_SMTP_PORT is {port!r}; use a port number.",
                            "MVH_SMTP_PORT")
    return Settings(host, int(port), env.get("MVH_SMTP_USER") or None, env.get("MVH_SMTP_PASSWORD") or None,
                    SWITCHES[switch], sender)


def configured() -> tuple[bool, str]:
    """Whether e-mail can be sent, and a sentence saying through which server, or why not (for
    the dashboard and `mvh remind`)."""
    try:
        s = settings()
    except NotConfigured as exc:
        return False, str(exc)
    how = "with STARTTLS" if s.starttls else "without encryption"
    return True, f"E-mail is sent through {s.host}:{s.port} ({how}) from {s.sender}."


class Connection:
    """One SMTP session for a run: opened at its first message, closed at the end."""

    def __init__(self) -> None:
        self.settings = settings()
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._smtp is not None:
            with suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()

    def send(self, to: str, subject: str, text: str) -> None:
        """Send one plain-text message (UTF-8); Refused when the server will not take it."""
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.settings.sender, to, subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=parseaddr(self.settings.sender)[1].rpartition("@")[2])
        message.set_content(text, cte="quoted-printable")
        server = self._open()
        try:
            server.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as exc:
            raise Refused(str(exc)) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise self._failed(exc) from exc

    def _open(self) -> smtplib.SMTP:
        if self._smtp is None:
            s = self.settings
            try:
                server = smtplib.SMTP(s.host, s.port, timeout=TIMEOUT)
            except (smtplib.SMTPException, OSError) as exc:
                raise self._failed(exc) from exc
            try:
                if s.starttls:
                    server.starttls(context=ssl.create_default_context())
                if s.user:
                    server.login(s.user, s.password or "")
            except (smtplib.SMTPException, OSError) as exc:
                server.close()
                raise self._failed(exc) from exc
            self._smtp = server
        return self._smtp

    def _failed(self, exc: Exception) -> MailError:
        return MailError(f"The mail server {self.settings.host}:{self.settings.port} could not be used "
                         f"({exc or type(exc).__name__}): check MVH_SMTP_HOST, MVH_SMTP_PORT, "
                         "MVH_SMTP_STARTTLS and the login.")
