"""What stops the app from being opened to a network before it can tell users apart."""

from __future__ import annotations

import pytest

from tests.cli import hrdd


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "::", "hrdd.example.com"])
def test_the_app_refuses_to_listen_beyond_this_machine_without_sign_in(tmp_path, host):
    result = hrdd(["up", "--no-app", "--host", host], tmp_path / "data", tmp_path)

    assert result.exit_code == 2
    assert f"refusing to listen on {host}: the app has no sign-in" in result.output
    assert not (tmp_path / "data" / "chroma").exists()  # refused before anything was built

