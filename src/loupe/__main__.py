from loupe.cli import app

app(prog_name="loupe")
