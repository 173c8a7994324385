"""terraform fmt, terraform validate of every module and example, checkov, the generated docs, and
examples free of emulator settings."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.terraform import harness

REPO = harness.REPO
TERRAFORM_DIRS = [".", *sorted(str(path.parent.relative_to(REPO)) for path in REPO.glob("*/*/main.tf"))]
DOCUMENTED = [("README.md", "."), *[(f"{d}/README.md", d) for d in TERRAFORM_DIRS if d.startswith("modules/")]]


def terraform(*arguments: str, cwd, data_dir=None) -> subprocess.CompletedProcess:
    environment = harness.terraform_environment()
    if data_dir:
        environment["TF_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [str(harness.TERRAFORM), *arguments], cwd=cwd, env=environment, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def module_tree(tmp_path_factory):
    harness.require_toolchain()
    return harness.copy_module_tree(tmp_path_factory.mktemp("static"))


def test_every_module_and_example_is_checked():
    assert {"modules/notifications", "modules/ses-events", "modules/alarms", "modules/lambdas"} <= set(TERRAFORM_DIRS)
    assert {"examples/complete", "examples/minimal"} <= set(TERRAFORM_DIRS)


def test_terraform_fmt(module_tree):
    completed = terraform("fmt", "-check", "-recursive", "-diff", cwd=module_tree)
    assert completed.returncode == 0, f"run `terraform fmt -recursive`:\n{completed.stdout}{completed.stderr}"


@pytest.mark.parametrize("directory", TERRAFORM_DIRS)
def test_terraform_validate(module_tree, tmp_path, directory):
    init = terraform(
        "init", "-backend=false", "-input=false", "-no-color", cwd=module_tree / directory, data_dir=tmp_path
    )
    assert init.returncode == 0, init.stdout + init.stderr
    validate = terraform("validate", "-no-color", cwd=module_tree / directory, data_dir=tmp_path)
    assert validate.returncode == 0, validate.stdout + validate.stderr


def test_checkov_finds_nothing_unexplained(module_tree):
    completed = harness.checkov(module_tree, "--compact")
    assert completed.returncode == 0, completed.stdout[-5000:] + completed.stderr[-2000:]
    # Every skip says why.
    skips = [
        (path.name, match.group(1), match.group(2).strip())
        for path in module_tree.rglob("*.tf")
        for match in re.finditer(r"#checkov:skip=(CKV\w+)(?::(.*))?", path.read_text())
    ]
    assert skips
    assert [skip for skip in skips if len(skip[2] or "") < 20] == []


def test_readme_tables_match_the_code():
    pairs = [item for pair in DOCUMENTED for item in pair]
    completed = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "terraform_docs.py"), "--check", *pairs],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr


def test_docs_check_reports_a_variable_missing_from_the_tables(tmp_path):
    module = tmp_path / "module"
    module.mkdir()
    (module / "variables.tf").write_text('variable "a" {\n  description = "A."\n  type        = string\n}\n')
    readme = tmp_path / "README.md"
    readme.write_text("# m\n<!-- BEGIN_TF_DOCS -->\n<!-- END_TF_DOCS -->\n")
    script = str(REPO / "scripts" / "terraform_docs.py")
    assert subprocess.run([sys.executable, script, str(readme), str(module)], check=False).returncode == 0
    assert "| `a` | A. | `string` | n/a | yes |" in readme.read_text()
    (module / "variables.tf").write_text(
        (module / "variables.tf").read_text()
        + 'variable "b" {\n  description = "B."\n  type = number\n  default = 1\n}\n'
    )
    drift = subprocess.run(
        [sys.executable, script, "--check", str(readme), str(module)], capture_output=True, text=True
    )
    assert drift.returncode == 1
    assert "README.md" in drift.stderr


def test_examples_carry_no_emulator_settings():
    examples = sorted({path.parent for path in (REPO / "examples").glob("*/*.tf")})
    assert [example.name for example in examples] == ["complete", "minimal", "multi-app"]
    for example in examples:
        for tf_file in example.glob("*.tf"):
            text = tf_file.read_text()
            for marker in ("endpoints", "skip_credentials_validation", "127.0.0.1", "localhost", "access_key"):
                assert marker not in text, f"{tf_file.relative_to(REPO)} mentions {marker}"
        assert (example / "README.md").exists()
