"""What the faces (API docs, console, cashier screen, portal) share.

Static assets served by the app itself (:mod:`.assets`), the security headers of every page
(:mod:`.headers`), and one Jinja2 environment translated through our catalogs with the base
layout the pages extend (:mod:`.templating`).
"""
