"""Registers as Excel and LibreOffice save CSV: UTF-8 with or without its byte-order mark, UTF-16
or UTF-32 with it, or the Windows code page of the country (1250, 1251, 1252, 1253), values
separated by commas, semicolons or tabs, are read letter for letter. A file whose encoding cannot
be told is refused with the way to save it as UTF-8, in the partner's language; a broken CSV gets
findings in the monitor's words, never DuckDB's."""

from __future__ import annotations

import codecs
import csv
import io
import tempfile

import pytest

from pipelines.intake import messages, register, register_scan

# participant codes and an activity id in the letters of each country's language
CODES = {
    "AT": (["Müller-ß1", "Jörg-Café-è2"], "AT-Ä-Öl-Übung"),
    "FR": (["Hélène-Cœur-1", "François-Noël-2"], "FR-Été-Où"),
    "IT": (["Niccolò-1", "Città-Perché-2"], "IT-Attività-Più"),
    "BG": (["Иван-Щ1", "Мария-ъ2"], "BG-Дейност-Юли"),
    "GR": (["Γιώργος-1", "Ψυχή-Ώ2"], "GR-Δράση-Ιούλιος"),
    "HU": (["Győző-ű1", "Őrs-Űr2"], "HU-Árvíztűrő-Tükör"),
    "RO": (["Ștefan-ț1", "Mărie-Ț2"], "RO-Activități-Învăț"),
}
CEDILLA = str.maketrans("șțȘȚ", "şţŞŢ")  # Romanian in Windows-1250, which lacks the comma below


def register_text(reg, country: str, separator: str, lang: str = "") -> str:
    """A register in the country's language (or `lang`), as a spreadsheet saves it: its headers
    and coded values by their labels (female, 18 to 60, yes; then male, over 60, no), CR LF line
    ends."""
    lang = lang or reg.country(country).language
    label = reg.code_lists
    codes, activity = CODES[country]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=separator, lineterminator="\r\n")
    writer.writerow([f.label(lang) for f in reg.participant_register.sheet.fields])
    for code, (sex, age, tcn) in zip(codes, [("female", "18_60", "yes"), ("male", "over_60", "no")],
                                     strict=True):
        writer.writerow([code, activity, "05/07/2022", label["sex"][sex][lang],
                         label["age_bracket"][age][lang], label["yes_no"][tcn][lang]])
    return out.getvalue()


def encoded(text: str, encoding: str) -> bytes:
    """The text as a file in that encoding; UTF-16 BE with its byte-order mark, as Python writes
    none for it."""
    if encoding == "utf-16-be":
        return codecs.BOM_UTF16_BE + text.encode(encoding)
    return text.translate(CEDILLA if encoding == "cp1250" else {}).encode(encoding)


def read(reg, tmp_path, country: str, data: bytes) -> register.Register:
    path = tmp_path / f"{country}_2022-Q3_register.csv"
    path.write_bytes(data)
    return register.read_file(path, reg)


@pytest.mark.parametrize("country, encoding, separator", [
    ("AT", "cp1252", ";"),  # Excel's "CSV (Trennzeichen-getrennt)" on a German Windows
    ("FR", "cp1252", ";"),
    ("IT", "cp1252", ";"),
    ("BG", "cp1251", ";"),
    ("GR", "cp1253", ";"),
    ("HU", "cp1250", ";"),
    ("RO", "cp1250", ";"),
    ("BG", "utf-16", "\t"),  # Excel's "Unicode text": UTF-16 LE with its mark, tab-separated
    ("GR", "utf-16-be", "\t"),
    ("HU", "utf-32", ","),
    ("GR", "utf-8-sig", ","),  # Excel's "CSV UTF-8"
    ("RO", "utf-8", ","),  # LibreOffice's "Text CSV", Unicode (UTF-8)
    ("AT", "utf-8", ";"),
])
def test_a_register_is_read_letter_for_letter_in_the_encodings_spreadsheets_save(reg, tmp_path, country,
                                                                                 encoding, separator):
    data = encoded(register_text(reg, country, separator), encoding)
    got = read(reg, tmp_path, country, data)
    assert got.findings == []
    codes, activity = CODES[country]
    if encoding == "cp1250":
        codes, activity = [c.translate(CEDILLA) for c in codes], activity.translate(CEDILLA)
    assert got.frame["participant_code"].tolist() == codes
    assert got.frame["activity_id"].tolist() == [activity, activity]
    assert got.frame[["sex", "age_bracket", "third_country_national"]].to_numpy().tolist() == [
        ["female", "18_60", "yes"], ["male", "over_60", "no"]]


def test_the_detector_settles_what_the_alphabets_leave_open(reg, tmp_path):
    """A Greek partner's register in Windows-1250 (Czech names): not Greek's code page 1253 (it
    lacks Ň), and Latin in 1250 and 1252 alike; charset-normalizer finds 1252's reading a mess."""
    text = register_text(reg, "GR", ";", "en").replace(CODES["GR"][1], "GR-Žluťoučký-kůň")
    text = text.replace("Γιώργος-1", "Ňovák-Dvořák-1").replace("Ψυχή-Ώ2", "Šťastný-2")
    got = read(reg, tmp_path, "GR", text.encode("cp1250"))
    assert got.findings == []
    assert got.frame["participant_code"].tolist() == ["Ňovák-Dvořák-1", "Šťastný-2"]
    assert got.frame["activity_id"].tolist() == ["GR-Žluťoučký-kůň"] * 2


SAVE_AS = {"de": "Speichern unter", "bg": "Запиши като", "fr": "Enregistrer sous", "el": "Αποθήκευση ως",
           "hu": "Mentés másként", "it": "Salva con nome", "ro": "Salvare ca"}


@pytest.mark.parametrize("country, data", [
    ("AT", b"participant_code;activity_id\r\nP\x81\x98;A1\r\n"),  # no character in any of the code pages
    ("GR", "participant_code;activity_id\r\nÒscar-1;A1\r\n".encode("cp1252")),  # Ò in 1252, Ň in 1250
    ("BG", codecs.BOM_UTF8 + "participant_code;activity_id\r\nИван;A1\r\n".encode("cp1251")),  # not UTF-8
    ("HU", "participant_code;activity_id\r\nŐrs;A1\r\n".encode("utf-16") + b"\x00"),  # cut short
    ("RO", "participant_code;activity_id\r\nȘtefan;A1\r\n".encode("utf-16-le")),  # no mark: NULs
    ("IT", "participant_code;activity_id\r\nPiù\x00;A1\r\n".encode("utf-16")),  # a NUL character
], ids=["undecodable", "ambiguous", "false UTF-8 mark", "UTF-16 cut short", "UTF-16 without mark",
        "NUL in UTF-16"])
def test_an_encoding_that_cannot_be_told_is_refused_with_how_to_save_utf8(reg, tmp_path, country, data):
    got = read(reg, tmp_path, country, data)
    assert [f.rule for f in got.findings] == ["csv_encoding"] and got.frame.empty
    assert got.findings[0].message.startswith("The characters of the register file cannot be read")
    lang = reg.country(country).language
    message, fix = messages.localise(got.findings[0], lang, reg)
    assert message != got.findings[0].message
    assert SAVE_AS[lang] in fix and "CSV UTF-8" in fix and "Unicode (UTF-8)" in fix and "(*.csv)" in fix


def test_the_utf8_copy_is_within_the_size_limit_and_removed(reg, tmp_path, monkeypatch):
    """A file of euro signs in Windows-1252 triples once in UTF-8: the limit holds for the UTF-8
    text; the temporary copy DuckDB reads is removed, whether the file is read or refused."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    text = register_text(reg, "AT", ";").replace("Müller-ß1", "€" * 300)
    data = encoded(text, "cp1252")
    assert read(reg, tmp_path, "AT", data).frame["participant_code"].tolist()[0] == "€" * 300
    monkeypatch.setattr(register_scan, "MAX_BYTES", len(data) + 100)
    got = read(reg, tmp_path, "AT", data)
    assert [f.rule for f in got.findings] == ["register_too_large"] and got.frame.empty
    assert list((tmp_path / "tmp").iterdir()) == []


HEADER = b"participant_code,activity_id,date,sex,age_bracket,third_country_national\r\n"
ROW = b"P1,BG-2022-Q3-A001,05/07/2022,female,18_60,yes\r\n"
ENGINE_WORDS = ("Error", "CSV Error", "Invalid Input", "Exception")


@pytest.mark.parametrize("data", [
    HEADER + ROW + b'"P2,' + ROW,
    HEADER + ROW + b"P2,BG-2022-Q3-A001,05/07/2022,female,18_60,yes,one more\r\n",
    HEADER + bytes(range(256)) * 40,
    HEADER + b"\x00\x01\x02\xff\xfe" * 1000,
    HEADER + b"P1\x00\x00,BG-2022-Q3-A001,05/07/2022,female,18_60,yes\r\n",
    (HEADER + ROW).decode().encode("utf-16-le"),  # UTF-16 without its mark: a NUL after each letter
    HEADER + b"P1,BG-2022-Q3\rA001,05/07/2022,female,18_60,yes\r\n" + ROW,
    HEADER + ROW + b"P2,BG-2022-Q3-A001,05/07/2022\r\n" + b'P3,"BG-2022"-Q3,05/07/2022,female,18_60,yes\r\n',
], ids=["unterminated quote", "a value too many", "binary", "binary with NUL", "NUL in a value",
        "UTF-16 without mark", "lone carriage return", "quote inside a value"])
def test_a_broken_csv_gets_the_monitors_words_and_a_fix_never_duckdbs(reg, tmp_path, data):
    got = read(reg, tmp_path, "BG", data)
    assert got.findings and got.frame.empty
    for finding in got.findings:
        for lang in ("en", "bg"):
            message, fix = messages.localise(finding, lang, reg)
            assert message and fix, finding.rule
            said = message + fix
            assert not any(word in said for word in ENGINE_WORDS) and "duckdb" not in said.lower(), said
