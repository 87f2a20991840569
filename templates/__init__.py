"""The Jinja2 templates of onelicense (documents, public pages, the portal), shipped as package data.

No code lives here: `onelicense.templating` builds the one environment that reads this folder."""

from pathlib import Path

FOLDER = Path(__file__).resolve().parent
