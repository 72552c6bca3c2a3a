"""The README's examples, run as written against the test server: from a directory laid out as the repository
root is after Scripts/demo.sh (certs/ca.pem, data/owner.token), with the test server's port in place of 7443."""
import os
import re
import shutil

import pytest

README = os.path.join(os.path.dirname(__file__), "..", "README.md")


def examples():
    text = open(README).read()
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_the_readme_has_examples():
    assert len(examples()) == 2


@pytest.mark.parametrize("index", range(2))
def test_readme_example_runs(server, tmp_path, monkeypatch, capsys, index):
    (tmp_path / "certs").mkdir()
    (tmp_path / "data").mkdir()
    shutil.copy(server["ca_file"], tmp_path / "certs" / "ca.pem")
    (tmp_path / "data" / "owner.token").write_text(server["token"] + "\n")
    monkeypatch.chdir(tmp_path)
    code = examples()[index]
    assert "7443" in code
    exec(compile(code.replace("7443", str(server["port"])), f"README example {index + 1}", "exec"), {})
    printed = capsys.readouterr().out
    if index == 0:
        assert "NOT_FOUND model 'ghost' does not exist" in printed
        assert "rows, synced" in printed
    else:
        assert printed.strip()
