"""Readers and editors: the credential, and the app's Library page for each."""
import shutil
import subprocess
import sys

import pytest

from docsearch import access
from docsearch.config import Settings, load_settings
from docsearch.engine import DocSearch

from helpers import CORPUS, REPO, settings_for


def test_credentials_are_salted_and_checked():
    a, b = access.hash_secret("correct horse"), access.hash_secret("correct horse")
    assert a != b and a.startswith("pbkdf2_sha256$")          # a new salt every time
    assert access.check_secret("correct horse", a) and access.check_secret("correct horse", b)
    assert not access.check_secret("correct horsE", a)
    assert not access.check_secret("correct horse", "garbage") and not access.check_secret("x", "")


def test_failed_sign_ins_are_slowed_down():
    assert access.failure_delay(0) == 0
    assert access.failure_delay(1) < access.failure_delay(2) < access.failure_delay(3)
    assert access.failure_delay(50) == 8.0


def test_who_may_edit(fresh):
    s = fresh.settings
    assert access.can_edit(s, fresh.store, signed_in=False)          # no credential: open
    access.set_credential(fresh.store, "editor-secret-1")
    assert not access.can_edit(s, fresh.store, signed_in=False)
    assert access.sign_in(fresh.store, "editor-secret-1") and not access.sign_in(fresh.store, "nope")
    assert access.sign_in(fresh.store, "editor-secret-1")              # resets the failure count
    assert access.can_edit(s, fresh.store, signed_in=True)
    ro = Settings(index_dir=s.index_dir, read_only=True)
    assert not access.can_edit(ro, fresh.store, signed_in=True)
    access.set_credential(fresh.store, None)
    assert access.can_edit(s, fresh.store, signed_in=False)


def test_read_only_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DOCSEARCH_READ_ONLY", "true")
    assert load_settings().read_only is True
    monkeypatch.setenv("DOCSEARCH_READ_ONLY", "maybe")
    with pytest.raises(ValueError):
        load_settings()


def test_editor_password_command(tmp_path, seed_index_dir):
    d = tmp_path / "ix"
    shutil.copytree(seed_index_dir, d)

    def run(*args, stdin=""):
        return subprocess.run([sys.executable, "-m", "docsearch.cli", "--index-dir", str(d), "--corpus-dir",
                               str(CORPUS), *args], input=stdin, capture_output=True, text=True, cwd=REPO)
    p = run("editor-password", stdin="short\n")
    assert p.returncode == 2 and "at least 8 characters" in p.stderr
    p = run("editor-password", stdin="a long editor secret\n")
    assert p.returncode == 0, p.stderr
    ds = DocSearch(settings_for(d))
    stored = ds.store.get_meta(access.CREDENTIAL_KEY)
    assert "a long editor secret" not in stored and access.check_secret("a long editor secret", stored)
    assert run("editor-password", "--clear").returncode == 0
    assert not access.has_credential(ds.store)


# -- the app ------------------------------------------------------------------------------------
@pytest.fixture()
def library_page(tmp_path, seed_index_dir, monkeypatch):
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    d = tmp_path / "ix"
    shutil.copytree(seed_index_dir, d)
    monkeypatch.setenv("DOCSEARCH_INDEX_DIR", str(d))
    monkeypatch.setenv("DOCSEARCH_CORPUS_DIR", str(CORPUS))

    def start(credential: str | None = None, read_only: bool = False):
        ds = DocSearch(settings_for(d))
        if credential:
            access.set_credential(ds.store, credential)
        ds.close()
        monkeypatch.setenv("DOCSEARCH_READ_ONLY", "true" if read_only else "false")
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
        at.run()
        at.sidebar.radio(key="page").set_value("library").run()
        assert not at.exception
        return at
    return start


def _can_change(at) -> bool:
    keys = {b.key for b in at.button} | {c.key for c in at.checkbox}
    return "remove_confirm" in keys or any(f.key == "paste_title" for f in at.text_input)


def test_without_a_credential_everyone_edits(library_page):
    assert _can_change(library_page())


def test_a_reader_gets_no_changes_until_signed_in(library_page):
    at = library_page(credential="editor-secret-1")
    assert not _can_change(at) and "remove_button" not in {b.key for b in at.button}
    at.sidebar.text_input(key="editor_password").set_value("wrong password")
    at.sidebar.button[0].click().run()
    assert not _can_change(at) and any("Wrong password" in e.value or "密码不对" in e.value for e in at.sidebar.error)
    at.sidebar.text_input(key="editor_password").set_value("editor-secret-1")
    at.sidebar.button[0].click().run()
    assert _can_change(at)
    # Signed in, an editor removes an article; signed out, the widgets are gone again.
    at.selectbox(key="remove_pick").set_value("000_47721d1ce0619f18").run()  # nothing is chosen by default
    at.checkbox(key="remove_confirm").check().run()
    at.button(key="remove_button").click().run()
    assert any("Moved to the trash" in s.value or "已移入回收站" in s.value for s in at.success)
    at.sidebar.button(key="sign_out").click().run()
    assert not _can_change(at)


def test_read_only_turns_changes_off(library_page):
    at = library_page(read_only=True)
    assert not _can_change(at)
    assert not at.sidebar.text_input  # nothing to sign in to
