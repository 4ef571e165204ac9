from pathlib import Path

from painterly import paths


def test_env_overrides_move_data_and_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "d"))
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "c"))
    assert paths.user_data_dir() == tmp_path / "d"
    assert paths.user_cache_dir() == tmp_path / "c"


def test_platform_defaults_name_the_app(monkeypatch):
    monkeypatch.delenv(paths.DATA_ENV, raising=False)
    monkeypatch.delenv(paths.CACHE_ENV, raising=False)
    assert "painterly" in Path(paths.user_data_dir()).parts[-1].lower()
    assert "painterly" in str(paths.user_cache_dir()).lower()
