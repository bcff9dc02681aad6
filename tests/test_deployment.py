"""What stops the app from being opened to a network before it can tell users apart."""

from __future__ import annotations

import pytest

from tests.cli import hrdd


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "::", "hrdd.example.com"])
def test_the_app_refuses_to_listen_beyond_this_machine_without_sign_in(tmp_path, host):
    result = hrdd(["up", "--no-app", "--host", host], tmp_path / "data", tmp_path)

    assert result.exit_code == 2
    assert f"refusing to listen on {host}: no sign-in is configured" in result.output
    assert "HRDD_SIGN_IN=oidc" in result.output  # says how to configure sign-in
    assert not (tmp_path / "data" / "chroma").exists()  # refused before anything was built


def test_proxy_sign_in_without_a_trusted_proxy_is_refused_before_anything_starts(tmp_path):
    result = hrdd(["up", "--no-app", "--host", "0.0.0.0"], tmp_path / "data", tmp_path,
                  env={"HRDD_SIGN_IN": "proxy"})

    assert result.exit_code == 2
    assert "HRDD_TRUSTED_PROXIES" in result.output
    assert not (tmp_path / "data" / "chroma").exists()


def test_oidc_sign_in_names_what_the_secrets_file_lacks(tmp_path, monkeypatch):
    import ui.cli.library as cli_library

    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(
        '[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\n'
        'cookie_secret = "x"\n', encoding="utf-8")
    monkeypatch.setattr(cli_library, "PROJECT_ROOT", tmp_path)
    result = hrdd(["up", "--no-app", "--host", "0.0.0.0"], tmp_path / "data", tmp_path,
                  env={"HRDD_SIGN_IN": "oidc"})

    assert result.exit_code == 2
    assert "missing client_id, client_secret, server_metadata_url" in result.output

