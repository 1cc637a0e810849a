"""The staff console: the buttons' steps in a browser page, for desks where the buttons cannot run (WPS,
麒麟/统信 PCs, macro-blocked Excel). A thin front end, a sibling of cli.py and excel.py:

- `server`: `bulletin serve` — waitress on 127.0.0.1, a free port, the URL with a per-launch token;
- `app`: the Flask app, its pages (templates/console/) and JSON API; `security`: token, cookie, Host and
  Origin checks, the password login for an intranet server; `workspace`: the working folder (uploads,
  listing, downloads confined to the out folder); `jobs`: long steps in a thread, with progress;
- `steps`: every call into the action layer, in one place. Nothing here decides anything about the data.
"""
