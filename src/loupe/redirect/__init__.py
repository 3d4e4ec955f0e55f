"""The click redirect `GET|HEAD /l/{code}`: a small ASGI app, mounted into the api or run alone."""
