"""The scalesheet command: estimate output, exit status 2 with one line for bad input, safe file handling."""

import json
import os
import subprocess
import sys
import zipfile

import pytest

from workbook import build
from workbook.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args):
    return subprocess.run([sys.executable, "-m", "workbook.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def test_estimate_json_has_contract_keys():
    r = run("estimate", "--model", "llama-3-70b", "--precision", "int4", "--context", "32768", "--batch", "8",
            "--gpu", "h100-sxm", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    for key in ["params", "active_params", "weights_bytes", "kv_cache_bytes", "activations_bytes", "total_bytes",
                "flops_per_token", "gpus_needed", "fits", "decode_tokens_per_s", "ttft_s"]:
        assert key in out
    assert out["kv_cache_bytes"] == 2 * 80 * 8 * 128 * 2 * 32768 * 8
    assert out["total_bytes"] == (out["weights_bytes"] + out["kv_cache_bytes"] + out["activations_bytes"]
                                  + out["overhead_bytes"])


def test_estimate_table_states_units():
    r = run("estimate", "--model", "llama-3-8b")
    assert r.returncode == 0 and "GiB" in r.stdout and "8,030,261,248" in r.stdout


def test_estimate_from_config(tmp_path):
    cfg = {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008, "num_attention_heads": 32,
           "num_hidden_layers": 32, "vocab_size": 32000, "tie_word_embeddings": False}
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    r = run("estimate", "--config", str(p), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["params"] == 6738415616


@pytest.mark.parametrize("args,needle", [
    (["estimate", "--model", "llama-3-7b"], "did you mean"),
    (["estimate", "--model", "llama-3-8b", "--precision", "fp9"], "precision"),
    (["estimate", "--model", "llama-3-8b", "--context", "-5"], "context"),
    (["estimate", "--model", "llama-3-8b", "--context", "abc"], "context"),
    (["estimate", "--model", "llama-3-8b", "--gpu", "h1000"], "gpu"),
    (["estimate", "--config", "/nonexistent/config.json"], "config"),
    (["estimate"], "required"),
    (["share", "/nonexistent.xlsx", "-o", "/nonexistent-dir/out.xlsx"], "does not exist"),
])
def test_bad_input_exits_2_with_one_line(args, needle):
    r = run(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stderr


def test_malformed_config_json(tmp_path):
    p = tmp_path / "config.json"
    p.write_text("{not json")
    r = run("estimate", "--config", str(p))
    assert r.returncode == 2 and "not valid JSON" in r.stderr


@pytest.fixture
def template(tmp_path):
    p = tmp_path / "in.xlsx"
    p.write_bytes(build.build_bytes())
    return p


def test_build_refuses_to_replace_a_different_file(tmp_path):
    p = tmp_path / "book.xlsx"
    p.write_bytes(b"my own work")
    assert main(["build", "-o", str(p)]) == 2
    assert p.read_bytes() == b"my own work"
    assert main(["build", "-o", str(p), "--force"]) == 0
    assert p.read_bytes() == build.build_bytes()
    assert main(["build", "-o", str(p)]) == 0          # identical: nothing to do


def test_share_never_touches_input_or_existing_output(template, tmp_path):
    before = template.read_bytes()
    out = tmp_path / "out.xlsx"
    out.write_bytes(b"keep me")
    assert main(["share", str(template), "-o", str(out)]) == 2
    assert out.read_bytes() == b"keep me"
    assert main(["share", str(template), "-o", str(template), "--force"]) == 2
    assert template.read_bytes() == before
    assert main(["share", str(template), "-o", str(out), "--force"]) == 0
    assert template.read_bytes() == before and zipfile.is_zipfile(out)


@pytest.mark.parametrize("content,needle", [
    (b"hello, this is not a workbook", "not an .xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "encrypted"),
    (b"PK\x03\x04garbage", "not an .xlsx"),
])
def test_recalc_rejects_bad_files(tmp_path, content, needle, capsys):
    p = tmp_path / "bad.xlsx"
    p.write_bytes(content)
    assert main(["recalc", str(p)]) == 2
    assert needle in capsys.readouterr().err


def test_recalc_rejects_xml_bomb(tmp_path, capsys):
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            '<workbook>&lol2;</workbook>')
    p = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", bomb)
    assert main(["recalc", str(p)]) == 2
    assert "unsafe or malformed XML" in capsys.readouterr().err


def test_recalc_rejects_zip_bomb(tmp_path, capsys):
    p = tmp_path / "zipbomb.xlsx"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/big.bin", b"\0" * (600 * 2**20))
    assert main(["recalc", str(p)]) == 2
    assert "zip bomb" in capsys.readouterr().err


def test_recalc_template_reports_no_errors(template, tmp_path, capsys):
    out = tmp_path / "calc.xlsx"
    assert main(["recalc", str(template), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert " 0 with error values" in text and out.exists()
