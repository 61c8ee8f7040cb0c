"""Build translations/messages.pot: the app's strings plus Flask-AppBuilder's own strings
that FAB's outdated ``zh`` catalog leaves untranslated.

Our catalog is loaded after FAB's and overrides it (Flask-Babel merges catalogs in order),
so filling those gaps here makes FAB's screens Chinese too.  Run by ``make babel-update``.
"""
import os
import subprocess
import sys
import tempfile

import flask_appbuilder
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po, write_po

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FAB_DIR = os.path.dirname(flask_appbuilder.__file__)


def extract(source_dir, cfg, out):
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", cfg,
                    "-k", "lazy_gettext", "-k", "_l", "-k", "lazy_formatter_gettext",
                    "--no-location", "-o", out, source_dir], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out, "rb") as fh:
        return read_po(fh)


def fab_translated_ids():
    """msgids FAB's compiled zh catalog really translates."""
    with open(os.path.join(FAB_DIR, "translations", "zh", "LC_MESSAGES", "messages.mo"), "rb") as fh:
        catalog = read_mo(fh)
    return {m.id for m in catalog if m.id and m.string}


# FAB strings whose FAB translation is wrong for this app (we do check passwords).
OVERRIDDEN = [
    "Please use a good password policy, this application does not check this for you",
]


def main():
    with tempfile.TemporaryDirectory() as tmp:
        ours = extract(".", os.path.join(ROOT, "babel.cfg"), os.path.join(tmp, "app.pot"))
        fab = extract(FAB_DIR, os.path.join(HERE, "fab_babel.cfg"), os.path.join(tmp, "fab.pot"))
    done = fab_translated_ids()
    catalog = Catalog(project="MicroLoan", charset="utf-8")
    for message in ours:
        if message.id:
            catalog.add(message.id, context=message.context, flags=message.flags)
    for message in fab:
        if message.id and message.id not in done and message.id not in catalog:
            catalog.add(message.id, context=message.context, flags=message.flags)
    for msgid in OVERRIDDEN:
        if msgid not in catalog:
            catalog.add(msgid)
    with open(os.path.join(HERE, "messages.pot"), "wb") as fh:
        write_po(fh, catalog, width=100)
    print(f"messages.pot: {len(catalog)} strings ({len(ours)} from the app)")


if __name__ == "__main__":
    main()
