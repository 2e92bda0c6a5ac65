import os
import subprocess
import sys
import textwrap


def _run_python(code, env=None):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)


def test_import_course_lib_prints_nothing():
    result = _run_python("import course_lib")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == ""


def test_device_listing_after_import_prints_nothing():
    result = _run_python("import course_lib.config as c; c.setup_devices(); c.device_report()")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_fd_noise_is_silenced_but_python_warnings_survive(tmp_path):
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text(textwrap.dedent("""
        import os, warnings
        os.write(2, b"oneDNN custom operations are on\\n")
        warnings.warn("a real warning from the import", UserWarning)

        class _Logger:
            def setLevel(self, level):
                pass

        def get_logger():
            return _Logger()

        class config:
            @staticmethod
            def list_physical_devices():
                os.write(2, b"failed call to cuInit\\n")
                return []
    """))
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    result = _run_python("from course_lib._quiet import quiet_tensorflow; quiet_tensorflow()",
                         env=env)
    assert result.returncode == 0, result.stderr
    assert "oneDNN" not in result.stderr and "cuInit" not in result.stderr
    assert "a real warning from the import" in result.stderr


def test_user_log_level_is_kept():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="1")
    result = _run_python("import os, course_lib; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])",
                         env=env)
    assert result.stdout.strip() == "1"
