"""Intake: an uploaded file opened safely, read into frames with cell addresses, and checked
(findings in the partner's language); nothing here writes to the database."""
