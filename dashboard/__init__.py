"""The managers' dashboard: a Dash app with one page per file under pages/."""
