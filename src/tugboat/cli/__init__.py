"""`tug`, docker's command line for tugd (entry point: tugboat.cli.main:main).

Layout: main.py dispatches to commands/<group>.py (imported lazily, for start-up time); flags.py
parses docker's flag syntax; gotemplate.py, formatter.py, table.py and humanize.py reproduce
docker's --format / table / size / age output; the CLI reaches the daemon only via tugboat.client.
"""
