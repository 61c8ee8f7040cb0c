"""Fill empty Chinese translations from translations/pending/*.tsv (msgid<TAB>中文).

Helpers working in parallel each write their own TSV instead of editing messages.po (which
would conflict); `make babel-update` merges them after extracting the catalog.
"""
import csv
import pathlib
import sys

from babel.messages.pofile import read_po, write_po

HERE = pathlib.Path(__file__).parent
PO = HERE / "zh" / "LC_MESSAGES" / "messages.po"


def pending():
    table = {}
    for tsv in sorted((HERE / "pending").glob("*.tsv")):
        with tsv.open(encoding="utf-8", newline="") as f:
            for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                if len(row) >= 2 and row[0] and row[1]:
                    table[row[0].replace("\\n", "\n")] = row[1].replace("\\n", "\n")
    return table


def main():
    table = pending()
    with PO.open("rb") as f:
        catalog = read_po(f, locale="zh")
    filled, missing = 0, []
    for message in catalog:
        if not message.id or isinstance(message.id, tuple):
            continue
        if not message.string:
            if message.id in table:
                message.string = table[message.id]
                filled += 1
            else:
                missing.append(message.id)
    with PO.open("wb") as f:
        write_po(f, catalog, width=120)
    print(f"filled {filled} from pending; {len(missing)} still untranslated")
    for msgid in missing[:50]:
        print("  untranslated:", msgid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
