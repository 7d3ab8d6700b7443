"""`cnnviz check` end to end: the reference solution passes, each known mistake fails with its
diagnosis. The mistaken files are the reference (tests/fixtures/course) with one line changed."""

from pathlib import Path

import pytest

from cnnviz.__main__ import main as cnnviz_main
from cnnviz.check import cli, diagnose

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "course"
REFERENCE = {
    "conv_forward": FIXTURES / "0-conv_forward.py",
    "pool_forward": FIXTURES / "1-pool_forward.py",
    "conv_backward": FIXTURES / "2-conv_backward.py",
    "pool_backward": FIXTURES / "3-pool_backward.py",
}
FAST = ["--random", "8"]  # the hand-picked geometries come first: 8 cover every rule

FIRST_OF_TIES = """                flat = window.reshape(len(window), kh * kw, -1)
                first = np.argmax(flat, axis=1)
                mask = np.zeros(flat.shape)
                np.put_along_axis(mask, first[:, None, :], 1, axis=1)
                mask = mask.reshape(window.shape)"""
MISTAKES = {  # name -> (task, line of the reference, its mistaken version, diagnosis, exit code)
    "kernel flipped": ("conv_forward", "window * W[:, :, :, k]", "window * W[::-1, ::-1, :, k]",
                       "kernel_flipped", 1),
    "bias missing": ("conv_forward", "activation(Z + b)", "activation(Z)", "bias_missing", 1),
    "bias twice": ("conv_forward", "activation(Z + b)", "activation(Z + b + b)", "bias_twice", 1),
    "stride ignored": ("conv_forward", "padded[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :]",
                       "padded[:, i:i + kh, j:j + kw, :]", "stride_ignored", 1),
    "stride on rows only": ("pool_forward", "j * sw:j * sw + kw", "j:j + kw", "stride_one_axis",
                            1),
    "padding on one side": ("conv_forward", "((0, 0), (top, bottom), (left, right), (0, 0))",
                            "((0, 0), (top + bottom, 0), (left + right, 0), (0, 0))",
                            "padding_one_side", 1),
    "course's same formula": (
        "conv_forward",
        "top, left = pad_h // 2, pad_w // 2\n        bottom, right = pad_h - top, pad_w - left",
        ("top = bottom = ((h_prev - 1) * sh + kh - h_prev) // 2\n"
         "        left = right = ((w_prev - 1) * sw + kw - w_prev) // 2"),
        "same_rule", 2),
    "same's extra row on top": (
        "conv_forward",
        "top, left = pad_h // 2, pad_w // 2\n        bottom, right = pad_h - top, pad_w - left",
        "bottom, right = pad_h // 2, pad_w // 2\n        top, left = pad_h - bottom, pad_w - right",
        "same_extra_side", 1),
    "average divisor": ("pool_forward", "np.mean(window, axis=(1, 2))",
                        "np.sum(window, axis=(1, 2)) / (kh + kw)", "avg_divisor", 1),
    "average divisor backward": ("pool_backward", "upstream / (kh * kw)", "upstream / (kh * kh)",
                                 "avg_divisor", 1),
    "first of tied maxima": ("pool_backward",
                             "mask = window == np.max(window, axis=(1, 2), keepdims=True)",
                             FIRST_OF_TIES.strip(), "ties_first", 1),
    "overlaps overwrite": ("pool_backward", "dA_prev[:, rows, cols, :] += mask * upstream",
                           "dA_prev[:, rows, cols, :] = mask * upstream", "overlap_overwrite", 1),
    "dW not summed": ("conv_backward", "np.sum(padded[:, rows, cols, :] * dz, axis=0)",
                      "np.mean(padded[:, rows, cols, :] * dz, axis=0)", "dW_not_summed", 1),
    "db wrong shape": ("conv_backward", "db = np.sum(dZ, axis=(0, 1, 2), keepdims=True)",
                       "db = np.sum(dZ, axis=(0, 1, 2))", "reshape", 2),
    "backward kernel flipped": ("conv_backward", "dA[:, rows, cols, :] += W[:, :, :, k] * dz",
                                "dA[:, rows, cols, :] += W[::-1, ::-1, :, k] * dz",
                                "kernel_flipped", 1),
}


def mistaken(tmp_path: Path, task: str, line: str, replacement: str) -> Path:
    source = REFERENCE[task].read_text()
    assert line in source, f"the reference no longer has {line!r}"
    path = tmp_path / REFERENCE[task].name
    path.write_text(source.replace(line, replacement))
    return path


def likely_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(("Most likely", "Also"))]


@pytest.mark.parametrize("task", list(REFERENCE))
def test_check_reference_solution_passes(task, capsys):
    assert cli.main([str(REFERENCE[task]), *FAST]) == 0
    output = capsys.readouterr().out
    assert "FAIL" not in output and likely_lines(output) == []
    assert f"{task} in" in output


@pytest.mark.parametrize("name", list(MISTAKES))
def test_check_known_mistake_is_diagnosed(name, tmp_path, capsys):
    task, line, replacement, key, code = MISTAKES[name]
    path = mistaken(tmp_path, task, line, replacement)
    assert cli.main([str(path), *FAST]) == code
    likely = likely_lines(capsys.readouterr().out)
    assert likely and likely[0].startswith("Most likely")
    first_words = diagnose.TEXTS[key].split("{")[0][:50]
    assert first_words in likely[0], likely


def test_check_same_rule_failure_says_the_course_cases_pass(tmp_path, capsys):
    _, line, replacement, _, _ = MISTAKES["course's same formula"]
    cli.main([str(mistaken(tmp_path, "conv_forward", line, replacement)), *FAST])
    output = capsys.readouterr().out
    assert "The course's own cases pass; only random cases fail." in output
    assert "Exactly the cases with 'same' with an even kernel or a stride > 1 fail." in output


def test_check_table_shows_error_and_first_wrong_index(tmp_path, capsys):
    _, line, replacement, _, _ = MISTAKES["bias missing"]
    cli.main([str(mistaken(tmp_path, "conv_forward", line, replacement)), "--random", "0"])
    rows = [row for row in capsys.readouterr().out.splitlines() if row.startswith("course:")]
    assert len(rows) == 4 and all("FAIL" in row and "A[" in row for row in rows)


def test_check_task_option_and_python_m_cnnviz(tmp_path, capsys):
    renamed = tmp_path / "solution.py"
    renamed.write_text(REFERENCE["pool_forward"].read_text())
    assert cnnviz_main(["check", str(renamed), "--task", "pool_forward", "--random", "2"]) == 0
    assert "pool_forward in" in capsys.readouterr().out


def test_check_tie_break_first_diagnoses_gradient_to_all(capsys):
    assert cli.main([str(REFERENCE["pool_backward"]), *FAST, "--tie-break", "first"]) == 1
    likely = likely_lines(capsys.readouterr().out)
    assert likely and diagnose.TEXTS["ties_all"][:40] in likely[0]


def test_check_report_is_a_self_contained_page(tmp_path, capsys):
    _, line, replacement, _, _ = MISTAKES["kernel flipped"]
    path = mistaken(tmp_path, "conv_forward", line, replacement)
    report = tmp_path / "report.html"
    assert cli.main([str(path), "--random", "2", "--report", str(report)]) == 1
    page = report.read_text()
    assert "<script src=" not in page and "Plotly" in page  # plotly.js inline: works offline
    assert page.count("class=\"plotly-graph-div\"") == 6  # one figure per failing case
    assert "random 2" in page and "kernel is flipped" in page
