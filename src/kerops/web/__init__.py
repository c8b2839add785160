"""Pages for people: the landing page and the API references (Swagger UI, ReDoc), served from
the installed package with no external asset."""
