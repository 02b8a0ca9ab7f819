"""The web console: server-rendered pages on the connector's own services (a face).

`pages.py` holds the routes, `security.py` the sessions, role rules, CSRF and browser headers,
`i18n.py` the words in Italian and English; templates and the stylesheet sit beside them.
"""
