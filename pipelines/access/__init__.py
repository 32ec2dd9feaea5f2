"""Who may do what: accounts, roles, the audit trail and the failed-login counters."""
